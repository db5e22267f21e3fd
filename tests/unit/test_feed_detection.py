"""Reading a feed whose format is left to `--format auto` (the default of `linkage index`):
a feed nested too deeply for Python's JSON parser is a feed error naming that, in whatever
format, never a crash; and a Meeting Guide feed is parsed once, not once to detect its
format and again to read it (a 100,000-meeting feed took half a second a parse), nor is a
native array.
"""

from __future__ import annotations

import json

import pytest

from indexers import sources
from indexers.records import ReadOptions
from indexers.sources.native import FeedError
from tests.conftest import FEEDS, ROOT  # FEEDS: real feeds copied into tests/fixtures/feeds

# Deeper than the parser's recursion limit (1,000 frames), as hostile or broken files are.
DEEP = 100_000
OPTIONS = ReadOptions(source_name="x", timezone="America/New_York")


def _feed(raw: bytes, name: str = "feed.json") -> sources.Feed:
    return sources.Feed(name=name, raw=raw)


@pytest.mark.parametrize("fmt", ["auto", "native", "meeting-guide"])
def test_an_array_nested_too_deeply_is_a_feed_error_in_every_json_format(fmt):
    feed = _feed(b"[" * DEEP + b"]" * DEEP)
    with pytest.raises(FeedError, match="feed.json: invalid JSON: nested too deeply"):
        list(sources.read(feed, fmt, OPTIONS))


def test_an_object_nested_too_deeply_is_reported_as_a_bad_line_of_json_lines():
    # Not an array, so the native reader takes it for JSON Lines: one unreadable line.
    feed = _feed(b'{"a":' * DEEP + b"1" + b"}" * DEEP)
    (record,) = list(sources.read(feed, "auto", OPTIONS))
    assert record.position == "line 1" and record.data is None
    assert [(p.field, p.problem) for p in record.problems] == [("_record", "invalid JSON: nested too deeply")]


def test_a_line_nested_too_deeply_among_good_ones_loses_only_itself():
    good = json.dumps({"id": "x:1", "kind": "group", "name": "Good"})
    feed = _feed(f"{good}\n".encode() + b'{"a":' * DEEP + b"1" + b"}" * DEEP + f"\n{good}\n".encode())
    records = list(sources.read(feed, "native", OPTIONS))
    assert [r.position for r in records] == ["line 1", "line 2", "line 3"]
    assert [r.data is None for r in records] == [False, True, False]


@pytest.fixture
def counted_parses(monkeypatch):
    """Every whole-document parse of the standard library's JSON module, counted."""
    calls = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda text, *a, **k: calls.append(len(text)) or real(text, *a, **k))
    return calls


def test_an_auto_detected_meeting_guide_feed_is_parsed_once(counted_parses):
    raw = (FEEDS / "meeting-guide" / "sussex-county-de-aa.json").read_bytes()
    feed = _feed(raw, "sussex-county-de-aa.json")
    detected = list(sources.read(feed, "auto", OPTIONS))
    assert counted_parses == [len(raw.decode("utf-8-sig"))]
    # The same records as naming the format, which skips detection (one parse as well).
    counted_parses.clear()
    named = list(sources.read(feed, "meeting-guide", OPTIONS))
    assert len(counted_parses) == 1
    assert [(r.position, r.data, r.problems) for r in detected] == [(r.position, r.data, r.problems) for r in named]
    assert len(named) > 100


def test_an_auto_detected_native_array_is_parsed_once(counted_parses):
    # The demo data: a native JSON array of listings, as the API dumps them.
    raw = (ROOT / "data" / "demo" / "listings.json").read_bytes()
    detected = list(sources.read(_feed(raw, "listings.json"), "auto", OPTIONS))
    assert len(counted_parses) == 1
    named = list(sources.read(_feed(raw, "listings.json"), "native", OPTIONS))
    assert len(counted_parses) == 2
    assert [(r.position, r.data) for r in detected] == [(r.position, r.data) for r in named]
    assert len(named) > 100 and all(r.data is not None for r in named)


def test_an_auto_detected_meeting_guide_feed_split_in_runs_is_parsed_once(counted_parses):
    raw = (FEEDS / "meeting-guide" / "sussex-county-de-aa.json").read_bytes()
    parts = sources.split(_feed(raw), "auto", OPTIONS, 50)
    assert len(counted_parses) == 1
    assert [len(part.entries) for part in parts] == [50, 50, len(json.loads(raw)) - 100]
