"""The Meeting Guide feed we publish (service.render.meeting_guide): its shape, and that what
it carries reads back through our own Meeting Guide reader unchanged."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from service.domain.models import Session
from service.domain.programs import stance_for
from service.domain.schemas import load_listing
from service.render.meeting_guide import NOT_WEEKLY, dial_string, export_listings, left_out_sessions, to_meeting_guide
from tests.conftest import DEMO, FEEDS
from tests.unit.test_meeting_guide import DAY_NAMES, carried, complete, feed_bytes, meeting, read, validated


# The spec's meeting types: every code of code4recovery/spec data/types.json (commit 404117a,
# 2026-03-06), copied by hand. ONL is not among them.
SPEC_TYPES = frozenset("""
    11 12x12 A ABSI AF AL AL-AN AM AR ASL B BA BE BG BI BRK C CAN CF D DA DB DD DE DR EL EN FA FF
    FI FR G GR H HE HI HR HU IS ITA JA KA KOR L LGBTQ LIT LS LT M MED ML MT N NB NDG NE NL NO O
    OUT P POA POC POL POR PUN RUS S SEN SK SL SM SP ST SV T TC TH TL TR TUR UK W X XB XT Y
""".split())

_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_URL = re.compile(r"https?://[^\s]+")


def _plain(value) -> bool:
    return isinstance(value, str) and value.strip() == value and not re.search(r"<[a-zA-Z/!]", value)


# The field rules of the spec's README ("Field Definitions", code4recovery/spec at commit
# 404117a), written out by hand: field -> (what the README says, a check of one value).
SPEC_FIELD_RULES = {
    "name": ("required string, 255 characters max, plain text",
             lambda v: _plain(v) and 0 < len(v) <= 255),
    "slug": ("required, unique, URL-safe, no spaces or special characters, 64 characters max",
             lambda v: isinstance(v, str) and 0 < len(v) <= 64 and re.fullmatch(r"[A-Za-z0-9._~-]+", v)),
    "day": ("integer 0-6 (Sunday = 0), or an array of them", lambda v: v in range(7)),
    "time": ("five-character HH:MM, 24-hour", lambda v: isinstance(v, str) and _HHMM.fullmatch(v)),
    "end_time": ("five-character HH:MM, 24-hour", lambda v: isinstance(v, str) and _HHMM.fullmatch(v)),
    "timezone": ("tz database name", lambda v: isinstance(v, str) and "/" in v),
    "formatted_address": ("one-line address", lambda v: _plain(v) and v),
    "country": ("country", lambda v: _plain(v) and v),
    "regions": ("array of regions, most general first", lambda v: isinstance(v, list) and all(_plain(r) and r for r in v)),
    "conference_url": ("URL of a videoconference", lambda v: isinstance(v, str) and _URL.fullmatch(v)),
    "conference_url_notes": ("string about the conference_url", _plain),
    "conference_phone": ("numeric; + for international dialers; , * # for one-tap links",
                         lambda v: isinstance(v, str) and re.fullmatch(r"\+?[0-9,*#]+", v) and re.search(r"\d", v)),
    "types": ("array of the spec's type codes", lambda v: isinstance(v, list) and set(v) <= SPEC_TYPES),
    "notes": ("plain text, line breaks ok, no HTML", _plain),
    "latitude": ("number", lambda v: isinstance(v, (int, float)) and -90 <= v <= 90),
    "longitude": ("number", lambda v: isinstance(v, (int, float)) and -180 <= v <= 180),
    "approximate": ('"yes" or "no"', lambda v: v in ("yes", "no")),
    "updated": ("UTC YYYY-MM-DD HH:MM:SS", lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", v)),
    "group": ("string: the group providing the meeting", _plain),
    "url": ("URL of the meeting's page", lambda v: isinstance(v, str) and _URL.fullmatch(v)),
    "entity": ("name of the service entity", _plain),
    "entity_url": ("the entity's site (the README's example object)", lambda v: isinstance(v, str) and _URL.fullmatch(v)),
}
# Fields our feed writes that the README does not define: TSML UI reads `website`, `email`
# and `phone` (its contact buttons); the 12 Step Meeting List plugin reads `attendance_option`.
OTHER_FIELDS = {
    "website": lambda v: isinstance(v, str) and _URL.fullmatch(v),
    "email": lambda v: isinstance(v, str) and "@" in v,
    "phone": _plain,
    "attendance_option": lambda v: v in ("in_person", "hybrid", "online", "inactive"),
}


def spec_problems(meetings: list[dict]) -> list[str]:
    """What breaks the README's rules, one line per problem."""
    problems = []
    slugs = [m.get("slug") for m in meetings]
    problems += [f"duplicate slug {s}" for s in {s for s in slugs if slugs.count(s) > 1}]
    for m in meetings:
        for key in ("name", "slug"):
            if key not in m:
                problems.append(f"{m.get('slug')}: no {key}")
        if ("day" in m) != ("time" in m):
            problems.append(f"{m['slug']}: day and time go together (or neither: by appointment)")
        if "formatted_address" not in m and not any(k in m for k in ("address", "city", "state", "postal_code")):
            problems.append(f"{m['slug']}: no geographic information")
        if m.get("attendance_option") in ("online", "hybrid") and not (m.get("conference_url") or m.get("conference_phone")):
            problems.append(f"{m['slug']}: online without conference_url or conference_phone")
        if m.get("attendance_option") == "online" and m.get("approximate") != "yes":
            problems.append(f"{m['slug']}: an online-only meeting's address must be approximate")
        for key, value in m.items():
            rule = SPEC_FIELD_RULES.get(key)
            check = rule[1] if rule else OTHER_FIELDS.get(key)
            if check is None:
                problems.append(f"{m['slug']}: {key} is neither a spec field nor one TSML UI reads")
            elif not check(value):
                problems.append(f"{m['slug']}: {key} {value!r} breaks the rule: {rule[0] if rule else key}")
    return problems


def test_exports_follow_the_specs_field_rules_and_type_list(demo_listings):
    demo = export_listings(demo_listings).meetings
    records = read(feed_bytes("sussex-county-de-aa.json"), source_name="Sussex County AA")
    sussex = export_listings(validated(records, "Alcoholics Anonymous")[0]).meetings
    for meetings in (demo, sussex):
        assert meetings and spec_problems(meetings) == []
    # The rules can fail: an ONL type, a worded phone, an HTML note and a long slug are caught.
    bad = dict(demo[0], types=["O", "ONL"], conference_phone="call 555", notes="<b>hi</b>", slug="x" * 65)
    assert len(spec_problems([bad])) == 4


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
    online_only = 0
    for before, after in zip(listings, relisted):
        expected = carried(before)
        if "in_person" not in before.formats:
            # By design an online-only meeting's place is approximate and has no street: it is
            # where the meeting comes from, not somewhere to go (the spec's FAQ).
            online_only += 1
            lat, lon, _, country = expected["point"]
            expected["point"] = (lat, lon, True, country)
            expected["place"] = (None, *expected["place"][1:])
        assert carried(after) == expected, before.id
    assert online_only == 28  # the feed's 28 online meetings, counted by hand


def test_export_shape():
    [record] = read([meeting(day=[0, 6], time="8 pm", end_time="9:30 pm", types=["C", "W", "S", "X"],
                             attendance_option="hybrid", conference_url="https://zoom.us/j/1",
                             conference_phone="+1 (555) 555-5555", updated="2022-07-09 19:32:28",
                             url="https://example.org/m", notes="Ring the bell.")])
    listing = load_listing(complete(record.data, "Alcoholics Anonymous"))
    sunday, saturday = to_meeting_guide(listing)
    assert (sunday["day"], saturday["day"]) == (0, 6)
    assert (sunday["slug"], saturday["slug"]) == ("test-feed~monday-night-sun-2000", "test-feed~monday-night-sat-2000")
    # Hybrid: online through the conference link, which clients derive (the spec has no ONL).
    assert sunday == {
        "name": "Monday Night", "slug": "test-feed~monday-night-sun-2000", "day": 0, "time": "20:00",
        "end_time": "21:30", "timezone": "America/New_York", "types": ["C", "W", "S", "X"],
        "attendance_option": "hybrid", "conference_url": "https://zoom.us/j/1",
        "conference_phone": "+15555555555",
        "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA", "country": "US",
        "latitude": 38.7186782, "longitude": -75.0780198, "approximate": "no",
        "regions": ["DE", "Rehoboth Beach"], "group": "Monday Night",
        "updated": "2022-07-09 00:00:00", "url": "https://example.org/m", "website": "https://example.org/m",
        "entity": "Test feed", "notes": "Ring the bell.",
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
        weekly = [s for s in listing.sessions if not s.monthly]
        # Monthly sessions are left out: the format is weekly only.
        assert len(exported) == (len(weekly) if listing.sessions else 1)
        left_out = left_out_sessions(listing)
        assert [(o.weekday, o.start) for o in left_out] == [(s.weekday, s.start) for s in listing.sessions if s.monthly]
        assert all(o.reason == NOT_WEEKLY for o in left_out)
        for item, session in zip(exported, weekly):
            assert DAY_NAMES[item["day"]] == session.weekday
            assert (item["time"], item["end_time"]) == (session.start, session.end)
            assert item["timezone"] == listing.timezone
        again = read(json.dumps(exported).encode(), timezone=None, country="AU")
        for record in again:
            assert record.data is not None, (listing.id, record.problems)
            back = load_listing(complete(record.data, listing.program))
            assert back.timezone == listing.timezone
            mapped = tuple(a for a in listing.audiences if a in MAPPED_AUDIENCES)
            assert back.audiences == (mapped or stance_for(listing.program).audiences)
            assert back.open_meeting == listing.open_meeting
            assert ("online" in back.formats) == ("online" in listing.formats)
            assert ("in_person" in back.formats) == ("in_person" in listing.formats)
            if listing.contact.conference_url:
                assert back.contact.conference_url == listing.contact.conference_url


def _demo_raw_groups() -> list[dict]:
    """The demo file's group records as JSON, read directly (not through the schema)."""
    return [r for r in json.loads(DEMO.read_text(encoding="utf-8")) if r["kind"] == "group"]


def test_demo_export_counts_match_the_demo_file_read_by_hand(demo_listings):
    raw = _demo_raw_groups()
    # Hand-stated rules: every weekly session of a group that is not inactive is a meeting;
    # every session with a "monthly" rule is left out; a group without sessions is one meeting.
    weekly = sum(1 for r in raw if r["status"] != "inactive" for s in r["sessions"] if not s.get("monthly"))
    monthly = sum(1 for r in raw if r["status"] != "inactive" for s in r["sessions"] if s.get("monthly"))
    no_sessions = sum(1 for r in raw if r["status"] != "inactive" and not r["sessions"])
    export = export_listings(demo_listings)
    assert len(export.meetings) == weekly + no_sessions
    assert len(export.left_out) == monthly > 0
    assert {(o.listing_id, o.weekday, o.start) for o in export.left_out} == {
        (r["id"], s["weekday"], s["start"]) for r in raw for s in r["sessions"] if s.get("monthly")}
    assert len({m["slug"] for m in export.meetings}) == len(export.meetings)


def test_online_meetings_carry_an_approximate_place_and_stay_joinable(demo_listings):
    raw = {r["id"]: r for r in _demo_raw_groups()}
    export = export_listings(demo_listings)
    state_names = {"NSW": "New South Wales", "VIC": "Victoria", "QLD": "Queensland", "SA": "South Australia",
                   "WA": "Western Australia", "TAS": "Tasmania", "NT": "Northern Territory",
                   "ACT": "Australian Capital Territory"}
    # An Australia-wide online meeting comes from the state its time zone is named after.
    zone_states = {"Australia/Sydney": "NSW", "Australia/Melbourne": "VIC", "Australia/Brisbane": "QLD",
                   "Australia/Adelaide": "SA", "Australia/Perth": "WA", "Australia/Hobart": "TAS",
                   "Australia/Darwin": "NT"}
    online_only = 0
    for item in export.meetings:
        listing = raw[item["slug"].split("-")[0].replace("~", ":")]
        joinable = item.get("conference_url") or item.get("conference_phone")
        if "online" in listing["formats"]:
            assert joinable, item["slug"]
            assert item["website"].startswith("https://")
        if "in_person" in listing["formats"]:
            assert item["approximate"] == "no" and item["formatted_address"].startswith(listing["location"]["address"])
            continue
        online_only += 1
        assert listing["location"] is None  # the demo's online groups have no address of their own
        [area] = listing["service_area"]
        state = zone_states[listing["timezone"]] if area == "AU" else area
        assert item["approximate"] == "yes"
        assert item["formatted_address"] == f"{state_names[state]}, Australia"
        assert item["regions"] == [state_names[state]]
    assert online_only == sum(1 for r in raw.values() if "in_person" not in r["formats"]
                              for s in r["sessions"] if not s.get("monthly"))


def test_conference_links_clients_do_not_know_stay_joinable_through_website():
    [record] = read([meeting(attendance_option="online", conference_url="https://example.org/meet/1",
                             url="https://example.org/group", formatted_address="Rehoboth Beach, DE, USA",
                             approximate="yes")])
    listing = load_listing(complete(record.data, "Alcoholics Anonymous"))
    [item] = to_meeting_guide(listing)
    assert item["conference_url"] == "https://example.org/meet/1"
    assert item["website"] == "https://example.org/meet/1" and item["url"] == "https://example.org/group"
    assert "https://example.org/meet/1" in item["conference_url_notes"]
    # A service TSML UI knows (a Zoom subdomain): the link is enough, the group's site stays.
    zoom = replace(listing, contact=replace(listing.contact, conference_url="https://us02web.zoom.us/j/8"))
    [item] = to_meeting_guide(zoom)
    assert item["website"] == "https://example.org/group" and "conference_url_notes" not in item


@pytest.mark.parametrize("phone, dialled", [
    ("+1 (555) 555-5555", "+15555555555"),
    ("02 5550 7566", "0255507566"),
    ("+1 555 555 5555,,123456#", "+15555555555,,123456#"),
    ("1-555-555-5555 *2", "15555555555*2"),
    ("call 13 11 14", "131114"),
    ("5+5", "55"),
    ("ask at the door", None),
    ("", None),
])
def test_conference_phone_in_the_specs_digit_form(phone, dialled):
    assert dial_string(phone) == dialled


def _session(weekday, start, end="23:00", monthly=None):
    return Session(weekday=weekday, start=start, end=end, monthly=monthly)


def test_slugs_are_stable_when_sessions_are_reordered():
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    listing = load_listing(next(r for r in demo if r["kind"] == "group" and len(r["sessions"]) > 1
                                and not any(s.get("monthly") for s in r["sessions"])))
    forward = {(m["day"], m["time"]): m["slug"] for m in to_meeting_guide(listing)}
    reordered = replace(listing, sessions=tuple(reversed(listing.sessions)))
    assert {(m["day"], m["time"]): m["slug"] for m in to_meeting_guide(reordered)} == forward
    # Dropping a session leaves the others' slugs alone.
    fewer = replace(listing, sessions=listing.sessions[1:])
    assert {(m["day"], m["time"]): m["slug"] for m in to_meeting_guide(fewer)}.items() <= forward.items()


def test_slugs_cannot_collide():
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    base = load_listing(next(r for r in demo if r["kind"] == "group"))
    sessions = (_session("wed", "18:00"), _session("wed", "18:00", "19:00"), _session("sun", "09:00"))
    ids = ("feed:a:b", "feed:a-b", "feed-a:b", "feed:a.b", "feed:a~b", "feed:a-b-wed-1800",
           "feed:a-b-wed-1800-2300", "feed:a-b-appointment", "feed:a_b")
    slugs = []
    for listing_id in ids:
        if "~" in listing_id:
            continue  # not a valid id: "~" is how a slug writes ":"
        listing = replace(base, id=listing_id, sessions=sessions)
        slugs += [m["slug"] for m in to_meeting_guide(listing)]
        slugs += [m["slug"] for m in to_meeting_guide(replace(listing, sessions=()))]
    assert len(slugs) == len(set(slugs)) == 8 * 4
    # Two sessions starting together are told apart by their end; slugs stay URL-safe.
    assert all(re.fullmatch(r"[A-Za-z0-9._~-]+", s) for s in slugs)


def test_every_type_written_is_a_spec_code_and_onl_is_not(demo_listings):
    export = export_listings(demo_listings)
    written = {code for m in export.meetings for code in m["types"]}
    assert written and written <= SPEC_TYPES
    assert "ONL" not in written


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


def test_long_ids_give_slugs_within_the_specs_64_characters_and_stay_apart():
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    base = load_listing(next(r for r in demo if r["kind"] == "group"))
    long_ids = [f"feed:{'x' * 70}{n}" for n in range(3)] + [f"feed:{'x' * 70}"]
    listings = [replace(base, id=i, sessions=(_session("wed", "18:00"), _session("wed", "18:00", "19:00")))
                for i in long_ids]
    slugs = [m["slug"] for m in export_listings(listings).meetings]
    assert len(slugs) == len(set(slugs)) == 8
    assert all(len(s) <= 64 for s in slugs)
    assert [m["slug"] for m in to_meeting_guide(listings[0])] == slugs[:2]  # the same each time


# --- linkage check-feed ---------------------------------------------------------------------


def test_check_feed_reports_what_the_index_export_leaves_out_and_what_tsml_ui_would_not_use(
        demo_listings, tmp_path, capsys):
    from indexers.cli import main
    from service.backends.sqlite.backend import SQLiteBackend

    index = tmp_path / "demo.sqlite"
    SQLiteBackend(index).load(demo_listings)
    assert main(["check-feed", "--backend", "sqlite", "--sqlite-path", str(index)]) == 0
    out = capsys.readouterr().out
    raw = _demo_raw_groups()
    monthly = [(r["id"], s) for r in raw for s in r["sessions"] if s.get("monthly")]
    weekly = [(r, s) for r in raw for s in r["sessions"] if not s.get("monthly")]
    assert f"left out: {len(monthly)} sessions of {len({i for i, _ in monthly})} listings, not weekly" in out
    # The demo's conference links are all on example.org, a service TSML UI does not know.
    on_example = sum(1 for r, _ in weekly if (r["contact"].get("conference_url") or "").startswith("https://example.org/"))
    assert (f"warning: {on_example} meetings: conference link to a service TSML UI does not recognise: it drops "
            "the link; the meeting's website button still leads to it") in out
    assert f"checked {len(weekly)} meetings from the index's Meeting Guide export: 0 errors" in out


def test_check_feed_reads_a_saved_feed_and_fails_on_what_tsml_ui_drops(tmp_path, capsys):
    from indexers.cli import main

    sussex = FEEDS / "meeting-guide" / "sussex-county-de-aa.json"
    meetings = json.loads(sussex.read_text(encoding="utf-8"))
    with_onl = sum(1 for m in meetings if "ONL" in (m.get("types") or []))
    assert main(["check-feed", "--file", str(sussex), "--page-timezone", "America/New_York"]) == 0
    out = capsys.readouterr().out
    assert f"warning: {with_onl} meetings: type codes the spec does not define: ONL" in out
    assert f"checked {len(meetings)} meetings from {sussex}: 0 errors" in out
    # Without the page's zone TSML UI has none for these meetings (the feed gives none).
    assert main(["check-feed", "--file", str(sussex)]) == 1
    assert f"error: {len(meetings)} meetings: no timezone" in capsys.readouterr().out

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "A", "slug": "a", "day": 1, "time": "19:00", "timezone": "UTC"},
                               {"name": "B", "slug": "a", "day": 7, "time": "7pm", "timezone": "UTC",
                                "formatted_address": "1 Main St, Springfield, IL 62701, USA",
                                "conference_phone": "555-1234"}]))
    assert main(["check-feed", "--file", str(bad)]) == 1
    out = capsys.readouterr().out
    for line in ("error: 1 meeting: no address information: TSML UI drops the meeting\n  a  'A'",
                 "error: 1 meeting: repeated slug", "error: 1 meeting: day 7 is not 0-6",
                 "error: 1 meeting: time '7pm' is not HH:MM",
                 "warning: 1 meeting: conference_phone under 10 digits"):
        assert line in out, line
    bad.write_text('{"meeting": []}')
    assert main(["check-feed", "--file", str(bad)]) == 1
    assert "not a Meeting Guide feed" in capsys.readouterr().err


@pytest.mark.parametrize("area, zone, address, regions", [
    (("QLD",), "Australia/Brisbane", "Queensland, Australia", ["Queensland"]),
    (("AU",), "Australia/Perth", "Western Australia, Australia", ["Western Australia"]),
    (("AU",), "Australia/Broken_Hill", "New South Wales, Australia", ["New South Wales"]),
    (("US-DE",), "America/New_York", "DE, USA", ["DE"]),
    (("NZ",), "Pacific/Auckland", "New Zealand", None),
])
def test_online_meetings_without_an_address_come_from_their_service_area(area, zone, address, regions):
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    online = load_listing(next(r for r in demo if r["kind"] == "group" and r["formats"] == ["online"]))
    [item] = to_meeting_guide(replace(online, service_area=area, timezone=zone, sessions=online.sessions[:1]))
    assert (item["formatted_address"], item["approximate"], item.get("regions")) == (address, "yes", regions)


def test_names_and_notes_are_plain_text_whatever_the_store_holds():
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    hostile = load_listing(next(r for r in demo if r["name"].startswith("<img")))
    assert hostile.name == "<img src=x onerror=alert(1)> Demo group"  # as the demo file has it
    noted = replace(hostile, description="Ring the bell.<br>\n<b>Upstairs</b>, ages <18 & up <!-- x -->")
    [item] = to_meeting_guide(noted)[:1]
    assert item["name"] == item["group"] == "Demo group"
    assert item["notes"] == "Ring the bell.\nUpstairs, ages <18 & up"
