"""`EngineBackend`'s kept listings (`_BuiltListings`): a kept listing is reused only for a
document equal to the one it was built from; the reference is `listing_from_trusted`."""

from __future__ import annotations

import copy
import json

from service.backends.engine.backend import _BuiltListings
from service.domain.schemas import listing_document, listing_from_trusted


def _documents(demo_listings, count):
    return [json.loads(listing_document(x)) for x in demo_listings[:count]]


def test_each_document_gives_its_own_listing(demo_listings):
    built = _BuiltListings(8)
    for document in _documents(demo_listings, 40):
        listing, kept = built.get(copy.deepcopy(document))
        assert listing == listing_from_trusted(document)
        assert kept == document


def test_an_equal_document_reuses_the_kept_listing_and_document(demo_listings):
    built = _BuiltListings(8)
    document = _documents(demo_listings, 1)[0]
    listing, kept = built.get(document)
    again, kept_again = built.get(copy.deepcopy(document))  # a later hit's fresh copy
    assert again is listing and kept_again is kept


def test_a_changed_document_under_the_same_id_is_rebuilt(demo_listings):
    built = _BuiltListings(8)
    document = _documents(demo_listings, 1)[0]
    built.get(document)
    changed = copy.deepcopy(document)
    changed["name"] = document["name"] + " (moved)"
    changed["sessions"] = []
    listing, kept = built.get(changed)
    assert listing == listing_from_trusted(changed) != listing_from_trusted(document)
    assert kept is changed
    assert built.get(copy.deepcopy(changed))[0] is listing  # the new one is kept now


def test_at_most_size_are_kept_the_least_recent_going_first(demo_listings):
    built = _BuiltListings(3)
    first, second, third, fourth = _documents(demo_listings, 4)
    kept = {d["id"]: built.get(d)[0] for d in (first, second, third)}
    built.get(first)  # used again: now the most recent
    built.get(fourth)  # over the size: the least recent (second) goes
    assert built.get(copy.deepcopy(first))[0] is kept[first["id"]]
    assert built.get(copy.deepcopy(third))[0] is kept[third["id"]]
    assert built.get(copy.deepcopy(second))[0] is not kept[second["id"]]
