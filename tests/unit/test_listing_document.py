"""A listing's stored JSON text is the stdlib's, byte for byte, whoever writes it.

The reference is `json.dumps` with the options the text was always written with (ensure_ascii
off, compact separators) over `dump_listing`: orjson writes most documents, and it prints some
floats differently and refuses some text, so each such case is held to the reference here.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.schemas import dump_listing, listing_document


def reference(listing) -> str:
    return json.dumps(dump_listing(listing), ensure_ascii=False, separators=(",", ":"))


def fresh(listing, **changes):
    """A new listing (no cached text) with the changes."""
    return replace(listing, **changes)


def at(listing, lat, lon):
    return fresh(listing, location=replace(listing.location, lat=lat, lon=lon))


def test_every_demo_listing_matches_the_stdlib(demo_listings):
    for listing in demo_listings:
        assert listing_document(fresh(listing)) == reference(listing)


def test_floats_the_two_encoders_print_differently(demo_listings):
    listing = next(x for x in demo_listings if x.location is not None)
    # The stdlib's own texts, written out: orjson would print "0.00001" and "null".
    assert '"lat":1e-05,' in listing_document(at(listing, 1e-05, 151.2))
    assert '"lon":-9.99e-05,' in listing_document(at(listing, -33.9, -9.99e-05))
    assert '"lat":NaN,' in listing_document(at(listing, math.nan, 151.2))
    assert '"lon":Infinity,' in listing_document(at(listing, -33.9, math.inf))
    for lat, lon in ((0.0, -0.0), (1e-4, -1e-4), (5e-324, 1e-07), (-90.0, 180.0), (-33.868800000000001, 151.2093),
                     (0.1 + 0.2, 1e16), (1e-300, -math.inf)):
        moved = at(listing, lat, lon)
        assert listing_document(moved) == reference(moved), (lat, lon)


def test_text_orjson_refuses_is_written_by_the_stdlib(demo_listings):
    listing = next(x for x in demo_listings if x.location is not None)
    lone = fresh(listing, name="Group \ud800 and \udfff", languages=("en", "x\udc80"))
    assert listing_document(lone) == reference(lone)
    assert '"name":"Group \ud800 and \udfff",' in listing_document(lone)
    huge = fresh(listing, description=2**64, name=-(2**63) - 1)  # beyond orjson's 64 bits
    assert '"name":-9223372036854775809,' in listing_document(huge)
    assert listing_document(huge) == reference(huge)
    edge = fresh(listing, description=2**64 - 1, name=-(2**63))  # within them
    assert listing_document(edge) == reference(edge)


def test_text_both_write_alike(demo_listings):
    listing = next(x for x in demo_listings if x.location is not None)
    odd = fresh(listing, name='Quote " backslash \\ slash / tab \t nl \n nul \x00 del \x7f \x9f',
                description="Ünïcödé — 日本語 😀 \u2028 \u2029 \ufeff \u200f")
    assert listing_document(odd) == reference(odd)


def test_a_listing_keeps_the_text_it_was_first_given(demo_listings):
    listing = fresh(demo_listings[0])
    assert listing_document(listing) is listing_document(listing)


@settings(max_examples=300, deadline=None)
@given(name=st.text(st.one_of(st.characters(), st.sampled_from('\ud800\udfff\x00\x1f\x7f\u2028"\\')), max_size=40),
       lat=st.floats(allow_nan=True, allow_infinity=True), lon=st.floats(min_value=-1e-3, max_value=1e-3))
def test_any_text_and_floats_match_the_stdlib(demo_listings, name, lat, lon):
    listing = next(x for x in demo_listings if x.location is not None)
    changed = fresh(at(listing, lat, lon), name=name)
    assert listing_document(changed) == reference(changed)
