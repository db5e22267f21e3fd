"""The Meeting Guide feed we publish (service.render.meeting_guide): its shape, and that what
it carries reads back through our own Meeting Guide reader unchanged."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from service.domain.programs import stance_for
from service.domain.schemas import load_listing
from service.render.meeting_guide import to_meeting_guide
from tests.conftest import DEMO
from tests.unit.test_meeting_guide import DAY_NAMES, carried, complete, feed_bytes, meeting, read, validated


def test_sussex_listings_survive_export_and_reimport():
    records = read(feed_bytes("sussex-county-de-aa.json"), source_name="Sussex County AA")
    listings, refused = validated(records, "Alcoholics Anonymous")
    assert not refused
    exported = [m for listing in listings for m in to_meeting_guide(listing)]
    assert len({m["slug"] for m in exported}) == len(exported) == len(listings)
    # A different feed name and no configured zone: everything must come from the export.
    again = read(json.dumps(exported).encode(), source_name="Elsewhere", timezone=None)
    relisted, refused = validated(again, "Alcoholics Anonymous")
    assert not refused and len(relisted) == len(listings)
    for before, after in zip(listings, relisted):
        assert carried(after) == carried(before), before.id


def test_export_shape():
    [record] = read([meeting(day=[0, 6], time="8 pm", end_time="9:30 pm", types=["C", "W", "S", "X"],
                             attendance_option="hybrid", conference_url="https://zoom.us/j/1",
                             conference_phone="+15555555555", updated="2022-07-09 19:32:28",
                             url="https://example.org/m", notes="Ring the bell.")])
    listing = load_listing(complete(record.data, "Alcoholics Anonymous"))
    sunday, saturday = to_meeting_guide(listing)
    assert (sunday["day"], saturday["day"]) == (0, 6)
    assert sunday["slug"] != saturday["slug"]
    assert sunday | {"slug": None} == {
        "name": "Monday Night", "slug": None, "day": 0, "time": "20:00", "end_time": "21:30",
        "timezone": "America/New_York", "types": ["C", "W", "S", "X", "ONL"],
        "attendance_option": "hybrid", "conference_url": "https://zoom.us/j/1",
        "conference_phone": "+15555555555",
        "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA", "country": "US",
        "latitude": 38.7186782, "longitude": -75.0780198, "approximate": "no",
        "updated": "2022-07-09 00:00:00", "url": "https://example.org/m",
        "notes": "Ring the bell.",
    }
    again = read(json.dumps([sunday, saturday]).encode(), timezone=None)
    assert [carried(load_listing(complete(r.data, "Alcoholics Anonymous")))["sessions"] for r in again] == [
        [("sun", "20:00", "21:30")], [("sat", "20:00", "21:30")]]


MAPPED_AUDIENCES = ("women", "men", "lgbtiq", "young_people")


def test_demo_groups_export_what_the_format_carries():
    demo = [load_listing(r) for r in json.loads(DEMO.read_text(encoding="utf-8"))]
    groups = [l for l in demo if l.kind == "group"]
    for listing in groups:
        exported = to_meeting_guide(listing)
        assert len(exported) == max(1, len(listing.sessions))
        for item, session in zip(exported, listing.sessions):
            assert DAY_NAMES[item["day"]] == session.weekday
            assert (item["time"], item["end_time"]) == (session.start, session.end)
            if session.monthly:
                assert item["notes"].startswith(f"Meets on the {session.monthly} ")
            assert item["timezone"] == listing.timezone
        again = read(json.dumps(exported).encode(), timezone=None, country="AU")
        for record in again:
            assert record.data is not None, (listing.id, record.problems)
            back = load_listing(complete(record.data, listing.program))
            assert back.timezone == listing.timezone
            mapped = tuple(a for a in listing.audiences if a in MAPPED_AUDIENCES)
            assert back.audiences == (mapped or stance_for(listing.program).audiences)
            assert back.open_meeting == listing.open_meeting
            if listing.contact.conference_url:
                assert back.contact.conference_url == listing.contact.conference_url


def test_only_groups_are_exported():
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    service = load_listing(next(r for r in demo if r["kind"] == "service"))
    with pytest.raises(ValueError, match="only group listings"):
        to_meeting_guide(service)


def test_updated_falls_back_to_the_export_time_when_given():
    [record] = read([meeting(updated=...)])
    listing = load_listing(complete(record.data, "Alcoholics Anonymous"))
    assert "updated" not in to_meeting_guide(listing)[0]
    at = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=11)))
    assert to_meeting_guide(listing, at)[0]["updated"] == "2026-02-28 22:30:00"
    assert to_meeting_guide(replace(listing, updated_at="2025-01-02"), at)[0]["updated"] == "2025-01-02 00:00:00"


def test_every_exported_country_name_reads_back_to_its_code():
    from indexers.sources.meeting_guide import parse_address
    from service.domain.geo import COUNTRY_IN_ADDRESS

    for code, name in COUNTRY_IN_ADDRESS.items():
        assert parse_address(f"1 Main St, Springfield, {name}")["country"] == code
