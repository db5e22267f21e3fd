"""The fast listing dump gives exactly what marshmallow's dump gives."""

from __future__ import annotations

import json

from bench import synth
from service.schemas import LISTING_SCHEMA, dump_listing
from tests.conftest import GAZETTEER


def _same(listing) -> None:
    fast, reference = dump_listing(listing), LISTING_SCHEMA.dump(listing)
    assert fast == reference
    # Same keys in the same order, same types: the stored JSON text is identical.
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(reference, ensure_ascii=False)


def test_fast_dump_equals_marshmallow_on_the_demo_listings(demo_listings):
    assert len(demo_listings) > 400
    for listing in demo_listings:
        _same(listing)


def test_fast_dump_equals_marshmallow_on_synthetic_listings():
    """Groups, services and helplines with every optional part, 2,000 of them."""
    for listing in synth.listings(2000, synth.load_towns(GAZETTEER)):
        _same(listing)


def test_integral_coordinates_dump_as_floats(demo_listings):
    from dataclasses import replace

    located = next(x for x in demo_listings if x.location is not None)
    moved = replace(located, location=replace(located.location, lat=-33, lon=151))
    _same(moved)
    assert isinstance(dump_listing(moved)["location"]["lat"], float)
