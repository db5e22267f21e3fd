"""The import's fast paths change nothing: marshmallow is the oracle.

* Each field's compiled converter, given any JSON value, either returns exactly what the
  marshmallow field's own `deserialize` returns, or gives up (`_Unsure`) — and it gives up
  on every value marshmallow rejects.
* An import of the demo listings and of a Meeting Guide feed writes the same index, table
  by table and row by row, and the same report, as one where every record goes through
  marshmallow itself (the fast path switched off).
"""

from __future__ import annotations

import json
import math
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from bench import synth
from bench.import_sides import compare_indexes
from indexers.imports import SourceCache, SourceSpec, import_sources
from indexers.records import ReadOptions
from service.backends.sqlite.backend import SQLiteBackend
from service.domain import schemas
from tests.conftest import DEMO, GAZETTEER


def _leaf_fields():
    """(path, field) of every leaf field the fast path converts, nested schemas included."""
    found = []

    def walk(plan, prefix):
        _schema, entries, *_ = plan
        for name, _key, field, kind, sub in entries:
            if kind == "leaf":
                found.append((prefix + name, field))
            else:
                walk(sub, prefix + name + ".")

    walk(schemas._LOAD_PLAN, "")
    return found


LEAVES = _leaf_fields()

# Values a feed could send: every JSON type, and strings near the vocabularies and patterns.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
    | st.sampled_from(["", " ", "in_person", "online", " online", "AU", "AU-NSW", "mon", "19:00", "24:00",
                       "19:00 ", "en", "zh-Hant", "EN", "https://example.org", "http://x", "yes", "true", "1",
                       "Australia/Sydney", "\x07bell", "a\u200bb", " name ", "x" * 201, "2026-01-02",
                       "demo:x-1", "Demo:x", "abstinence", "free", "self", "active", "first"]),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=6,
)


def _marshmallow(field, value):
    try:
        return "ok", field.deserialize(value)
    except ValidationError:
        return "error", None


def _compiled(converter, value):
    try:
        return "ok", converter(value)
    except schemas._Unsure:
        return "unsure", None


def _same_value(a, b) -> bool:
    """Equal, of the same type, element by element (1 == 1.0 == True would hide a slip)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_every_leaf_field_is_covered():
    """The walk above reaches the schema's fields of each kind (else the property is empty)."""
    kinds = {type(field) for _path, field in LEAVES}
    assert {fields.String, schemas.CleanString, fields.Boolean, fields.Float, fields.List} <= kinds
    assert len(LEAVES) > 40


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(range(len(LEAVES))), JSON_VALUES)
def test_compiled_field_converters_agree_with_marshmallow(index, value):
    path, field = LEAVES[index]
    if value is None:
        return  # None never reaches a converter: _fast_load handles it by allow_none
    converter = schemas._leaf_converter(field)
    compiled, reference = _compiled(converter, value), _marshmallow(field, value)
    if compiled[0] == "ok":
        assert reference[0] == "ok", f"{path}: the fast path took {value!r}, marshmallow rejects it"
        assert _same_value(compiled[1], reference[1]), f"{path}: {compiled[1]!r} != {reference[1]!r}"
    if reference[0] == "error":
        assert compiled[0] == "unsure", f"{path}: marshmallow rejects {value!r}"


def test_compiled_converters_take_the_values_valid_records_hold():
    """Not converters that are always unsure: they take the demo's own values, as marshmallow does."""
    taken = 0
    for path, field in LEAVES:
        converter = schemas._leaf_converter(field)
        for record in json.loads(DEMO.read_text(encoding="utf-8"))[:50]:
            value = record
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None or (isinstance(value, list) and any(isinstance(x, dict) for x in value)):
                continue
            assert _compiled(converter, value) == ("ok", field.deserialize(value)), path
            taken += 1
    assert taken > 1000


def _import(tmp_path, tag: str, specs: list[SourceSpec]) -> tuple:
    target = tmp_path / f"{tag}.sqlite"
    summary = import_sources(specs, SQLiteBackend(target), None, SourceCache(tmp_path / f"{tag}-sources"))
    report = (summary.line(), [vars(o) for o in summary.outcomes],
              [r.as_json() for r in summary.rejections], [w.as_json() for w in summary.warnings])
    return target, report


@pytest.fixture
def feeds(tmp_path):
    """The demo listings, and a Meeting Guide feed with some meetings damaged on purpose."""
    meetings = synth.meeting_guide_feed(600, synth.load_towns(GAZETTEER))
    meetings[3]["time"] = "25:99"                      # rejected by the reader
    meetings[5]["timezone"] = "Mars/Base"              # rejected by the reader
    meetings[7]["updated"] = "not a date"              # a warning
    meetings[9]["name"] = "x" * 300                    # too long a name
    meetings[11]["email"] = "not-an-email"             # a warning
    meetings[13]["types"] = ["O", "LGBTQ", "W", "ES"]  # audiences and languages from types
    meetings[15]["conference_url"] = "ftp://example.org/room"
    path = tmp_path / "meeting-guide.json"
    path.write_text(json.dumps(meetings), encoding="utf-8")
    return [
        SourceSpec(location=str(DEMO), format="native", options=ReadOptions(source_name="demo")),
        SourceSpec(location=str(path), format="meeting-guide",
                   options=ReadOptions(source_name="mg", program="Alcoholics Anonymous")),
    ]


def test_import_writes_the_same_index_as_marshmallow_alone(tmp_path, feeds, monkeypatch):
    fast_target, fast_report = _import(tmp_path, "fast", feeds)
    monkeypatch.setattr(schemas, "_LOAD_PLAN", None)  # every record through marshmallow
    slow_target, slow_report = _import(tmp_path, "marshmallow", feeds)
    assert compare_indexes(fast_target, slow_target) == []
    assert fast_report == slow_report
    # Not two empty imports: both sources loaded, and the damaged meetings were reported.
    conn = sqlite3.connect(fast_target)
    assert conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0] > 900
    assert len(fast_report[2]) >= 4 and len(fast_report[3]) >= 2


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=())),
       st.dictionaries(st.sampled_from(["kind", "name", "id2"]), st.text(), max_size=2))
def test_cached_ids_read_from_a_lines_start_are_the_ids_the_stdlib_reads(listing_id, rest):
    from indexers.imports import _cached_id

    # A source cache's line as `listing_document` writes it (id first), and as an older or
    # hand-made file might have it (id elsewhere): the stdlib's json is the oracle. A lone
    # surrogate can only be in the file escaped (the file is UTF-8).
    lone_surrogate = any("\ud800" <= ch <= "\udfff" for ch in listing_id)
    for data in ({"id": listing_id, **rest}, {**rest, "id": listing_id}):
        for ensure_ascii in (True,) if lone_surrogate else (False, True):
            line = json.dumps(data, ensure_ascii=ensure_ascii, separators=(",", ":")).encode("utf-8")
            assert _cached_id(line) == json.loads(line)["id"] == listing_id
