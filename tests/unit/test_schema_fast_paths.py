"""The fast paths give exactly what marshmallow gives: the dump, and the load (which may
only ever hand a record over to marshmallow, never differ from it)."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from bench import synth
from service.domain.schemas import _LOAD_PLAN, LISTING_SCHEMA, _fast_load, _Unsure, dump_listing, load_listing
from tests.conftest import DEMO, GAZETTEER

DEMO_RECORDS = json.loads(DEMO.read_text(encoding="utf-8"))


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


def test_fast_load_takes_every_valid_record_and_equals_marshmallow():
    """The demo's and 2,000 synthetic records: all through the fast path, all equal."""
    records = DEMO_RECORDS + list(synth.records(2000, synth.load_towns(GAZETTEER)))
    assert _LOAD_PLAN is not None
    for record in records:
        assert _fast_load(_LOAD_PLAN, copy.deepcopy(record)) == LISTING_SCHEMA.load(record)


def outcome(load, record):
    """("ok", listing) or ("error", marshmallow's messages)."""
    try:
        return "ok", load(copy.deepcopy(record))
    except ValidationError as exc:
        return "error", exc.messages


def paths(node, prefix=()):
    """Every key path in a JSON record (list items by index)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield prefix + (index,)
            yield from paths(value, prefix + (index,))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30) | st.sampled_from(["", " ", "in_person", "online", "AU", "mon", "19:00", "19:00 ",
                                              "https://example.org", "Australia/Sydney", "\x07bell"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_records(draw):
    """A demo record with one to three keys replaced, removed or added."""
    record = copy.deepcopy(draw(st.sampled_from(DEMO_RECORDS)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(record)) or [("id",)]))
        parent = record
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "remove" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUES)
    return record


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_records())
def test_load_listing_agrees_with_marshmallow_on_damaged_records(record):
    """Whatever a feed sends, load_listing's answer (listing or errors) is marshmallow's."""
    assert outcome(load_listing, record) == outcome(LISTING_SCHEMA.load, record)


def test_fast_load_hands_doubtful_records_to_marshmallow():
    """It never reports an error itself: unknown keys, wrong types and bad values are _Unsure."""
    good = DEMO_RECORDS[0]
    for bad in ({**good, "colour": "red"}, {**good, "goals": "abstinence"}, {**good, "timezone": "Mars/Base"},
                {**good, "formats": ["in_person"], "location": None}, {**good, "goals": []},
                {**good, "also_from": [good["source"]] * 21}, []):
        try:
            _fast_load(_LOAD_PLAN, copy.deepcopy(bad))
        except _Unsure:
            continue
        raise AssertionError(f"the fast path vouched for {str(bad)[:80]}")
