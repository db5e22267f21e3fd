"""The handout PDF read back with pdftotext says what the demo data says: each option's name,
phone number and next session times, worked out here from data/demo/listings.json itself
(weekly sessions in the listing's zone, after a fixed moment) rather than by the renderer.

The PDF renderer keeps one font configuration and one parsed stylesheet per process; the
same handout rendered before and after handouts in other scripts must read the same.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.render import handout as render
from tests.conftest import FIXED_NOW, ROOT
from tests.unit.test_handout_render import ctx, make_handout, pdf_pages, pdf_text, render_app, varied  # noqa: F401

DEMO = ROOT / "data" / "demo" / "listings.json"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Three in-person groups in one zone, with weekly sessions and a phone number: their times
# print in the client's (the same) zone, three to an option.
CHOSEN = 3


def _raw_groups() -> list[dict]:
    entries = json.loads(DEMO.read_text(encoding="utf-8"))
    return [e for e in entries
            if e.get("status") == "active" and e.get("kind") == "group" and e.get("formats") == ["in_person"]
            and e.get("timezone") == "Australia/Sydney" and (e.get("contact") or {}).get("phone")
            and e.get("sessions") and not any(s.get("monthly") for s in e["sessions"])
            and "<" not in e["name"]][:CHOSEN]


def _next_starts(entry: dict, now: datetime, count: int = 3) -> list[datetime]:
    """The next `count` weekly session starts at or after `now`, in the listing's zone, found
    by walking the days (sessions still running at `now` count: the handout shows them "on now")."""
    zone = ZoneInfo(entry["timezone"])
    local = now.astimezone(zone)
    found = []
    for offset in range(-1, 15):
        day = (local + timedelta(days=offset)).date()
        for session in entry["sessions"]:
            if WEEKDAYS.index(session["weekday"]) != day.weekday():
                continue
            start = datetime.combine(day, datetime.strptime(session["start"], "%H:%M").time(), zone)
            end = datetime.combine(day, datetime.strptime(session["end"], "%H:%M").time(), zone)
            if end > now:
                found.append(start)
    return sorted(found)[:count]


def _printed(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{moment:%a} {moment.day} {moment:%b}, {hour}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def test_pdf_text_has_each_name_phone_and_next_times_from_the_demo_file(ctx, demo_listings, tmp_path):
    raw = _raw_groups()
    assert len(raw) == CHOSEN
    by_id = {x.id: x for x in demo_listings}
    handout = make_handout([by_id[e["id"]] for e in raw], note=None)
    pdf = render.handout_pdf(handout)
    text = pdf_text(pdf, tmp_path)
    assert pdf_pages(pdf, tmp_path) == 1
    assert "All times are Sydney time." in text
    for entry in raw:
        assert " ".join(entry["name"].split()) in text
        assert f"Phone: {entry['contact']['phone']}" in text
        starts = _next_starts(entry, FIXED_NOW)
        assert starts
        for start in starts:
            assert _printed(start) in text, (entry["id"], _printed(start))


@pytest.mark.parametrize("other", ["zh_Hans", "ar", "hi"])
def test_a_handout_reads_the_same_before_and_after_other_scripts(ctx, demo_listings, tmp_path, other):
    english = make_handout(varied(demo_listings, 3), note=None)
    first = pdf_text(render.handout_pdf(english), tmp_path)
    render.handout_pdf(make_handout(varied(demo_listings, 3), language=other, note=None))
    assert pdf_text(render.handout_pdf(english), tmp_path) == first


def test_warm_up_renders_and_leaves_handouts_as_they_were(ctx, demo_listings, tmp_path):
    handout = make_handout(varied(demo_listings, 3), note=None)
    before = pdf_text(render.handout_pdf(handout), tmp_path)
    render.warm_pdf_renderer(ctx)
    assert pdf_text(render.handout_pdf(handout), tmp_path) == before
