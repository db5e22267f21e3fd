"""The import pipeline's steps on their own: defaults, geocoding, validation, dedupe."""

import json
from dataclasses import replace

from indexers.pipeline import (GEOCODER_FAILURES_BEFORE_GIVING_UP, complete, dedupe, prepare,
                               record_without_bidi_controls)
from indexers.records import Record
from service.search.places import StaticGeocoder
from tests.conftest import DEMO

RECORD = json.loads(DEMO.read_text(encoding="utf-8"))[0]
STANCE = frozenset({"approach", "goals", "substances", "facilitation", "audiences"})


def bare(**changes):
    data = {k: v for k, v in RECORD.items() if k not in STANCE}
    return {**data, **changes}


def test_stance_fills_only_what_the_feed_left_out():
    filled = complete(bare(program="smart"), STANCE)
    assert filled["program"] == "SMART Recovery"
    assert filled["approach"] == "self_management" and filled["goals"] == ["abstinence", "moderation"]
    kept = complete(bare(program="AA", goals=["moderation"]), STANCE)
    assert kept["goals"] == ["moderation"] and kept["approach"] == "twelve_step"
    unknown = complete(bare(program="Some Local Fellowship", kind="group"), STANCE)
    assert unknown["approach"] == "twelve_step"
    service = complete(bare(program=None, kind="service"), STANCE)
    assert service["approach"] == "clinical" and len(service["goals"]) == 3


def test_missing_coordinates_are_geocoded_and_marked_approximate(gazetteer):
    location = {**RECORD["location"], "lat": None, "lon": None, "address": None,
                "locality": "Parramatta", "state": "NSW", "postcode": "2150", "approximate": False}
    result = prepare([Record("feed", "record 1", bare(program="AA", location=location), defaults_allowed=STANCE)],
                     gazetteer)
    assert not result.rejections and result.geocoded == 1
    listing = result.listings[0]
    assert abs(listing.location.lat + 33.81) < 0.05 and listing.location.approximate


def test_unknown_address_is_a_rejection_naming_location():
    location = {**RECORD["location"], "lat": None, "lon": None}
    result = prepare([Record("feed", "line 3", bare(program="AA", location=location), defaults_allowed=STANCE)],
                     StaticGeocoder({}))
    assert [(r.position, r.field) for r in result.rejections] == [("line 3", "location")]
    assert "not found" in result.rejections[0].problem


class DownGeocoder:
    calls = 0

    def geocode(self, query, exactly_one=True):
        DownGeocoder.calls += 1
        raise ConnectionError("connection refused by the test")


def test_a_down_geocoder_is_given_up_after_a_few_failures():
    location = {**RECORD["location"], "lat": None, "lon": None}
    records = [Record("feed", f"line {n}", bare(id=f"x:{n}", program="AA", location=location),
                      defaults_allowed=STANCE) for n in range(20)]
    result = prepare(records, DownGeocoder())
    assert DownGeocoder.calls == GEOCODER_FAILURES_BEFORE_GIVING_UP
    assert len(result.rejections) == 20
    assert "connection refused by the test" in result.rejections[0].problem
    assert "skipped" in result.rejections[-1].problem


def test_duplicate_ids_in_one_feed_are_rejected():
    data = bare(program="AA")
    result = prepare([Record("feed", "record 1", data, defaults_allowed=STANCE),
                      Record("feed", "record 2", data, defaults_allowed=STANCE)], None)
    assert len(result.listings) == 1 and result.rejections[0].field == "id"


def test_bidi_controls_are_removed_from_every_text_at_import():
    # U+202E (right-to-left override) makes "Group \u202eenilno" display as "Group online";
    # U+2066..U+2069 isolate; U+202A..U+202D embed and override. U+200F (a mark) stays.
    location = {**RECORD["location"], "address": "\u202a21 Pattern Place\u202c"}
    data = bare(program="AA", name="Group \u202eenilno", description="Fine \u2066print\u2069 here \u200f.",
                location=location)
    (listing,) = prepare([Record("feed", "record 1", data, defaults_allowed=STANCE)], None).listings
    assert listing.name == "Group enilno"
    assert listing.description == "Fine print here \u200f."
    assert listing.location.address == "21 Pattern Place"


def test_the_bidi_check_of_a_whole_record_finds_controls_however_deep():
    clean = {"name": "Group \u200f online", "sessions": [{"notes": ["Room 2"]}], "n": 2**70}
    assert record_without_bidi_controls(clean) == clean
    deep = {"name": "Group", "sessions": [{"notes": ["Room \u20662\u2069"]}], "lat": 1.5, "ok": True}
    assert record_without_bidi_controls(deep) == {"name": "Group", "sessions": [{"notes": ["Room 2"]}],
                                                  "lat": 1.5, "ok": True}
    # Records orjson refuses (a lone surrogate, a 70-bit number, a key that is not text) are
    # still cleaned; the surrogate itself is not a bidi control and stays.
    refused = {"name": "\ud800 Group \u202eenilno", "n": 2**70, 3: ["\u202aA\u202c"]}
    assert record_without_bidi_controls(refused) == {"name": "\ud800 Group enilno", "n": 2**70, 3: ["A"]}

    class Text(str):
        pass

    assert record_without_bidi_controls({"name": Text("A\u202dB")}) == {"name": "AB"}


def test_dedupe_needs_program_time_place_and_name(demo_listings):
    group = next(x for x in demo_listings if x.kind == "group" and x.location and x.sessions)
    other_source = replace(group.source, name="Another feed")
    twin = replace(group, id="other:1", source=other_source, name=group.name + " (Hall)",
                   location=replace(group.location, lat=group.location.lat + 0.0004))
    merged, count = dedupe([group, twin])
    assert count == 1 and merged[0].id == group.id and merged[0].also_from == (other_source,)
    far = replace(twin, location=replace(group.location, lat=group.location.lat + 0.002))  # ~220 m
    assert dedupe([group, far])[1] == 0
    other_time = replace(twin, sessions=tuple(replace(s, start="06:00") for s in group.sessions))
    assert dedupe([group, other_time])[1] == 0
    other_program = replace(twin, program="LifeRing")
    assert dedupe([group, other_program])[1] == 0
    renamed = replace(twin, name="Completely different words entirely")
    assert dedupe([group, renamed])[1] == 0
    same_feed = replace(twin, source=group.source)
    assert dedupe([group, same_feed])[1] == 0


def test_dedupe_keeps_look_alikes_of_one_feed_and_still_merges_across_feeds(demo_listings):
    # One feed's records are never merged, however alike: both stay, unchanged, in order.
    group = next(x for x in demo_listings if x.kind == "group" and x.location and x.sessions)
    same_feed = replace(group, id="same:1", name=group.name + " (Hall)")
    assert dedupe([group, same_feed]) == ([group, same_feed], 0)
    assert dedupe([]) == ([], 0)
    # A second feed's record of the same meeting (same place) merges into the first listing
    # given, which records that feed; the first feed's look-alike stays on its own.
    other_source = replace(group.source, name="Another feed")
    other_feed = replace(same_feed, id="other:1", source=other_source)
    kept, count = dedupe([group, same_feed, other_feed])
    assert count == 1
    assert kept == [replace(group, also_from=(other_source,)), same_feed]
