"""Meeting Guide feeds: real samples load, hostile entries are reported, times and days
parse as the spec and real feeds write them (exports: test_meeting_guide_export.py)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from indexers.records import Problem, ReadOptions
from indexers.sources.meeting_guide import parse_days, parse_time, parse_updated, read_meeting_guide
from indexers.sources.native import FeedError
from service.domain.meeting_guide import DAY_NAMES, NEWCOMER_TEXT
from service.domain.programs import Stance, stance_for
from service.domain.schemas import load_listing
from tests.conftest import FEEDS  # real feeds copied into tests/fixtures/feeds

TIMEZONE_REASON = "no time zone: the meeting has none and the feed has none configured (--timezone)"
STANCE_FIELDS = ("approach", "goals", "substances", "facilitation", "audiences")
# Programs the stance table does not know (Eating Disorders Anonymous) still need stance
# fields to pass the schema; this stands in for them, as a configured stance would.
FALLBACK_STANCE = Stance("twelve_step", ("abstinence",))
# Geocoding is the pipeline's job, not the reader's: a stand-in point for missing coordinates.
PLACEHOLDER_POINT = (0.0, 0.0)


# --- helpers ------------------------------------------------------------------------------


def feed_bytes(name: str) -> bytes:
    """A real sample feed (tests/fixtures/feeds/meeting-guide, with its origin and licence)."""
    return (FEEDS / "meeting-guide" / name).read_bytes()


def read(meetings, **options):
    """Records for a list of meeting objects (or raw bytes)."""
    raw = meetings if isinstance(meetings, bytes) else json.dumps(meetings).encode()
    options = {"source_name": "Test feed", "program": "Alcoholics Anonymous",
               "timezone": "America/New_York", **options}
    return list(read_meeting_guide(raw, ReadOptions(**options), "test.json"))


def complete(data: dict, program: str | None) -> dict:
    """What the pipeline adds before loading: stance fields the record left out, a point."""
    stance = stance_for(program) or FALLBACK_STANCE
    filled = dict(data)
    for name in STANCE_FIELDS:
        if name not in filled:
            value = getattr(stance, name)
            filled[name] = list(value) if isinstance(value, tuple) else value
    location = filled.get("location")
    if location is not None and (location["lat"] is None or location["lon"] is None):
        filled["location"] = {**location, "lat": PLACEHOLDER_POINT[0], "lon": PLACEHOLDER_POINT[1]}
    return filled


def validated(records, program):
    """Listings for the records with data, and (position, error) for those the schema refuses."""
    listings, refused = [], []
    for record in records:
        if record.data is None:
            continue
        try:
            listings.append(load_listing(complete(record.data, program)))
        except ValidationError as exc:
            refused.append((record.position, exc.messages))
    return listings, refused


def meeting(**fields):
    """A valid in-person meeting, changed by `fields`."""
    base = {"name": "Monday Night", "slug": "monday-night", "day": 1, "time": "19:00",
            "end_time": "20:00", "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA",
            "latitude": 38.7186782, "longitude": -75.0780198, "approximate": "no",
            "types": ["O"], "attendance_option": "in_person"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def problem_fields(record):
    return [p.field for p in record.problems]


def at_least_95_percent(part: int, whole: int) -> bool:
    return whole > 0 and part >= math.ceil(0.95 * whole)


# --- real feeds ---------------------------------------------------------------------------


def test_sussex_feed_loads_and_validates():
    records = read(feed_bytes("sussex-county-de-aa.json"), source_name="Sussex County AA",
                   timezone="America/New_York", country="US")
    with_data = [r for r in records if r.data is not None]
    listings, refused = validated(records, "Alcoholics Anonymous")
    assert len(records) == 123
    assert at_least_95_percent(len(with_data), len(records)), [r.problems for r in records if not r.data][:3]
    assert at_least_95_percent(len(listings), len(records)), refused[:3]

    first = records[0].data
    assert first["id"] == "sussex-county-aa:rehoboth-beach-speaker"
    assert first["sessions"] == [{"weekday": "sun", "start": "19:00", "end": "20:00"}]
    assert first["timezone"] == "America/New_York"
    assert first["updated_at"] == "2022-07-09"
    assert first["location"] == {
        "address": "18 Olive Ave", "locality": "Rehoboth Beach", "state": "DE", "postcode": "19971",
        "country": "US", "lat": 38.7186782, "lon": -75.0780198, "approximate": False}
    assert first["program"] == "Alcoholics Anonymous" and first["open_meeting"] is True
    assert "audiences" not in first and "audiences" in records[0].defaults_allowed

    by_format = {}
    for listing in listings:
        by_format[listing.formats] = by_format.get(listing.formats, 0) + 1
    # 94 in person; 28 online (with a dial-in number for most), one hybrid.
    assert by_format[("in_person",)] == 94
    assert sum(n for f, n in by_format.items() if f[0] != "in_person") == 28
    assert by_format[("in_person", "online", "phone")] == 1
    online = [l for l in listings if "in_person" not in l.formats]
    assert all(l.service_area == ("US",) for l in online)
    # ONL/TC rows whose room is closed stay listed: they meet online.
    assert all(l.status == "active" for l in listings)


def test_edmonton_feed_loads_and_validates():
    records = read(feed_bytes("edmonton-ca-aa.json"), source_name="Edmonton AA",
                   timezone="America/Edmonton", country="CA")
    with_data = [r for r in records if r.data is not None]
    listings, refused = validated(records, "Alcoholics Anonymous")
    assert len(records) == 315
    assert at_least_95_percent(len(with_data), len(records))
    assert at_least_95_percent(len(listings), len(records)), refused[:3]

    first = records[0].data  # day [6], "11:00 AM", no end, "8/25/2022 11:17:07 AM", no coordinates
    assert first["id"] == "edmonton-aa:6"
    assert first["sessions"] == [{"weekday": "sat", "start": "11:00", "end": "12:00"}]
    assert first["updated_at"] == "2022-08-25"
    assert first["open_meeting"] is False  # type C
    assert first["location"] == {
        "address": "8318 104 St", "locality": "Edmonton", "state": "Alberta", "postcode": "T6E 4E8",
        "country": "CA", "lat": None, "lon": None, "approximate": False}
    starts = {s["start"] for r in with_data for s in r.data["sessions"]}
    assert "20:00" in starts and "12:00" in starts and all(len(s) == 5 for s in starts)
    # TC without a conference link: the meeting is paused, not deleted.
    assert sum(l.status == "temporarily_closed" for l in listings) == 21
    # A town-level address ("Edmonton, Alberta, Canada") with a Zoom link is online only.
    town_only = [l for l in listings if l.location and l.location.address is None]
    assert town_only and all("in_person" not in l.formats or l.status != "active" for l in town_only)


def test_eating_disorders_feed_without_a_time_zone_is_rejected_for_that_reason():
    records = read(feed_bytes("eating-disorders-anonymous.json"), source_name="EDA",
                   program="Eating Disorders Anonymous", timezone=None, country="US")
    assert len(records) == 185
    for record in records:
        assert record.data is None
        assert Problem("timezone", TIMEZONE_REASON) in record.problems


def test_eating_disorders_feed_with_a_configured_time_zone_loads():
    records = read(feed_bytes("eating-disorders-anonymous.json"), source_name="EDA",
                   program="Eating Disorders Anonymous", timezone="America/New_York", country="US")
    with_data = [r for r in records if r.data is not None]
    assert at_least_95_percent(len(with_data), len(records))
    listings, refused = validated(records, "Eating Disorders Anonymous")
    assert at_least_95_percent(len(listings), len(records)), refused[:3]
    countries = {l.location.country for l in listings if l.location}
    assert {"US", "GB", "ZA", "DE"} <= countries  # read from the addresses, not assumed
    london = next(l for l in listings if l.name.startswith("London Daily Readings"))
    assert london.formats == ("online",) and london.service_area == ("GB",)
    assert london.location.approximate and london.location.locality == "London"
    assert sum(l.status == "inactive" for l in listings) == 1


# --- whole-feed errors --------------------------------------------------------------------


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xfe[]", "not UTF-8"),
    (b"[{\"name\": ", "invalid JSON"),
    (b"{\"name\": \"x\"}", "expected a JSON array"),
    (b"\"meetings\"", "expected a JSON array"),
    (b"[" * 100_000 + b"]" * 100_000, "invalid JSON"),
])
def test_unreadable_feeds_raise_feed_error_when_called(raw, message):
    with pytest.raises(FeedError, match=message):
        read_meeting_guide(raw, ReadOptions("x", timezone="UTC"), "feed.json")


def test_meetings_object_and_byte_order_mark_are_accepted():
    wrapped = json.dumps({"meetings": [meeting()]}).encode()
    assert read(wrapped)[0].data is not None
    assert read(b"\xef\xbb\xbf" + json.dumps([meeting()]).encode())[0].data is not None


def test_an_unknown_configured_time_zone_is_a_feed_error():
    with pytest.raises(FeedError, match="not an IANA zone"):
        read_meeting_guide(b"[]", ReadOptions("x", timezone="Eastern"), "feed.json")


# --- one meeting --------------------------------------------------------------------------


def test_positions_count_records_from_one():
    records = read([meeting(slug="a"), meeting(slug="b")])
    assert [r.position for r in records] == ["record 1", "record 2"]


def test_day_arrays_make_one_listing_with_a_session_each():
    [record] = read([meeting(day=[1, "3", 5, 3], time="7:30 PM", end_time=...)])
    assert record.data["sessions"] == [
        {"weekday": day, "start": "19:30", "end": "20:30"} for day in ("mon", "wed", "fri")]


def test_by_appointment_meeting_has_no_sessions():
    [record] = read([meeting(day=..., time=..., end_time=...)])
    assert record.data["sessions"] == []


@pytest.mark.parametrize("value, expected", [
    ("19:00", 19 * 60), ("08:05:59", 8 * 60 + 5), ("8:00", 8 * 60), ("8:00 PM", 20 * 60),
    ("8 pm", 20 * 60), ("8:00pm", 20 * 60), ("8 p.m.", 20 * 60), ("12:00 AM", 0),
    ("12:00 PM", 12 * 60), ("12:01 PM", 12 * 60 + 1), ("11:59 pm", 23 * 60 + 59), ("noon", 720),
    (None, None), ("", None),
])
def test_time_forms(value, expected):
    assert parse_time(value) == expected


def test_end_time_defaults_to_an_hour_and_may_pass_midnight():
    [record] = read([meeting(time="23:30", end_time=...)])
    assert record.data["sessions"][0] == {"weekday": "mon", "start": "23:30", "end": "00:30"}
    [record] = read([meeting(time="23:00", end_time="24:00")])
    assert record.data["sessions"][0]["end"] == "00:00"


@pytest.mark.parametrize("value, expected", [
    ("2022-07-09 19:32:28", "2022-07-09"), ("8/25/2022 11:17:07 AM", "2022-08-25"),
    ("2022-07-09T19:32:28Z", "2022-07-09"), ("2022-07-09T19:32:28+10:00", "2022-07-09"),
    ("2022-07-09", "2022-07-09"), ("yesterday", None), ("13/45/2022", None), (20220709, None),
])
def test_updated_forms(value, expected):
    assert parse_updated(value) == expected


def test_unreadable_updated_is_a_warning_not_a_rejection():
    [record] = read([meeting(updated="last Tuesday")])
    assert record.data is not None and record.data["updated_at"] is None
    assert record.problems == (Problem("updated", "not a date; left out", "last Tuesday"),)


def test_broken_secondary_contacts_are_dropped_with_warnings():
    [record] = read([meeting(url="javascript:alert(1)", email="nobody", phone="5" * 41)])
    assert record.data is not None
    assert record.data["contact"]["website"] is None and record.data["contact"]["email"] is None
    assert problem_fields(record) == ["url", "email", "phone"]


def test_meeting_time_zone_wins_and_a_wrong_one_is_not_replaced():
    own, wrong = read([meeting(slug="a", timezone="America/Chicago"), meeting(slug="b", timezone="CST6")])
    assert own.data["timezone"] == "America/Chicago"
    assert wrong.data is None and problem_fields(wrong) == ["timezone"]


def test_type_codes_map_to_listing_fields():
    [record] = read([meeting(types=["C", "W", "LGBTQ", "Y", "S", "EN", "X", "XB", "BE", "B", "zz", 7])])
    data = record.data
    assert data["open_meeting"] is False
    assert data["audiences"] == ["women", "lgbtiq", "young_people"]
    assert data["languages"] == ["es", "en"]
    assert data["accessibility"] == ["wheelchair_access", "accessible_toilet"]
    assert data["first_visit"] == {"what_to_expect": NEWCOMER_TEXT}
    assert "audiences" not in record.defaults_allowed
    assert {"approach", "goals", "substances", "facilitation"} <= record.defaults_allowed
    for key in ("approach", "goals", "substances", "facilitation"):
        assert key not in data


def test_open_and_closed_together_count_as_closed():
    [record] = read([meeting(types=["O", "C"])])
    assert record.data["open_meeting"] is False


@pytest.mark.parametrize("fields, formats, status", [
    ({"attendance_option": "hybrid", "conference_url": "https://zoom.us/j/1"}, ["in_person", "online"], "active"),
    ({"attendance_option": "online", "conference_phone": "+15555555555"}, ["phone"], "active"),
    ({"attendance_option": "inactive"}, ["in_person"], "inactive"),
    ({"attendance_option": ..., "types": ["TC"]}, ["in_person"], "temporarily_closed"),
    ({"attendance_option": ..., "types": ["TC", "ONL"], "conference_url": "https://zoom.us/j/1"},
     ["online"], "active"),
    ({"attendance_option": ..., "types": ["ONL"], "conference_url": "https://zoom.us/j/1"},
     ["in_person", "online"], "active"),
    ({"attendance_option": ..., "conference_url": "https://zoom.us/j/1", "approximate": "yes"},
     ["online"], "active"),
])
def test_attendance(fields, formats, status):
    [record] = read([meeting(**fields)])
    assert record.data["formats"] == formats
    assert record.data["status"] == status


def test_online_meeting_gets_a_service_area_from_its_country_else_the_feeds():
    here, nowhere = read([
        meeting(slug="a", attendance_option="online", conference_url="https://zoom.us/j/1",
                formatted_address="London, UK", approximate="yes", latitude=..., longitude=...),
        meeting(slug="b", attendance_option="online", conference_url="https://zoom.us/j/1",
                formatted_address=..., latitude=..., longitude=...),
    ], country="AU")
    assert here.data["service_area"] == ["GB"]
    assert here.data["location"]["lat"] is None
    assert nowhere.data["service_area"] == ["AU"] and nowhere.data["location"] is None


def test_atomic_address_fields_and_string_coordinates():
    [record] = read([meeting(formatted_address=..., address="123 Main Street", city="Anytown",
                             state="CA", postal_code="98765", country="US",
                             latitude="34.05", longitude=" -118.25 ", approximate=True)])
    assert record.data["location"] == {
        "address": "123 Main Street", "locality": "Anytown", "state": "CA", "postcode": "98765",
        "country": "US", "lat": 34.05, "lon": -118.25, "approximate": True}


def test_conference_phone_too_long_for_a_listing_is_cut_at_a_pause_and_kept_in_full_in_notes():
    dial = "+15555555555,,55555555555#,,#,," + "M5F5TTRlakdHUDg5Ukl5VjFZSHo5QT55" * 3 + "#"
    assert len(dial) > 120  # longer than a listing's conference phone may be
    [record] = read([meeting(attendance_option="hybrid", conference_phone=dial)])
    assert record.data["contact"]["conference_phone"] == "+15555555555,,55555555555#,,#"
    assert dial in record.data["description"]
    assert problem_fields(record) == ["conference_phone"]  # a warning: the meeting loads


# --- hostile content ----------------------------------------------------------------------


def test_hostile_entries_are_reported_and_do_not_disturb_the_others():
    good_a = meeting(slug="good-a")
    good_b = meeting(slug="good-b", day=3)
    hostile = [
        good_a,
        meeting(slug="weekday-9", day=9),
        meeting(slug="bad-time", time="25:99"),
        meeting(slug="bad-lat", latitude=95),
        meeting(slug="bad-lon", longitude=500),
        meeting(slug="nan-lat", latitude="NaN"),
        "not a meeting",
        meeting(slug="long-name", name="x" * 201),
        meeting(slug="bad-link", attendance_option="online", conference_url="javascript:alert(1)"),
        meeting(slug="no-name", name="<script>alert(1)</script>"),
        meeting(slug=None, id=None),
        meeting(slug="control", name="Mon\x00day\x1b[31m Night\u202e", notes="a\x07b\r\nc"),
        meeting(slug="script", name="<script>alert(1)</script><b>Monday</b> Night &amp; Day"),
        meeting(slug="big", notes="word " * 200_000 + "<img src=x onerror=alert(1)>"),
        meeting(slug="../../etc/passwd ü"),
        good_b,
    ]
    records = read(hostile)
    by_slug = {m.get("slug") if isinstance(m, dict) else None: r for m, r in zip(hostile, records)}
    expected = {
        "weekday-9": "day", "bad-time": "time", "bad-lat": "latitude", "bad-lon": "longitude",
        "nan-lat": "latitude", "long-name": "name", "bad-link": "conference_url", "no-name": "name",
    }
    for slug, field in expected.items():
        assert by_slug[slug].data is None, slug
        assert problem_fields(by_slug[slug]) == [field], (slug, by_slug[slug].problems)
    assert records[6].data is None and problem_fields(records[6]) == ["_record"]
    assert records[10].data is None and problem_fields(records[10]) == ["slug"]
    assert records[9].problems[0].value == "<script>alert(1)</script>"
    assert len(records[7].problems[0].value) <= 81  # reports show values cut short

    control = by_slug["control"].data
    assert control["name"] == "Monday[31m Night" and control["description"] == "ab\nc"
    assert by_slug["script"].data["name"] == "Monday Night & Day"
    big = by_slug["big"].data["description"]
    assert len(big) <= 2000 and big.endswith("…") and "<" not in big
    assert by_slug["../../etc/passwd ü"].data["id"] == "test-feed:..-..-etc-passwd-u"

    # The good meetings read exactly as they do alone, and everything with data validates.
    alone = read([good_a, good_b])
    assert [records[0].data, records[-1].data] == [r.data for r in alone]
    listings, refused = validated(records, "Alcoholics Anonymous")
    assert not refused
    assert len(listings) == sum(r.data is not None for r in records) == 6


# --- properties ---------------------------------------------------------------------------


def twelve_hour_renderings(hours: int, minutes: int) -> list[str]:
    """Ways feeds write a time of day on a 12-hour clock."""
    clock = hours % 12 or 12
    suffix = "AM" if hours < 12 else "PM"
    forms = [f"{clock}:{minutes:02d} {suffix}", f"{clock}:{minutes:02d}{suffix.lower()}",
             f"{clock:02d}:{minutes:02d} {suffix.lower()[0]}.m."]
    if minutes == 0:
        forms.append(f"{clock} {suffix.lower()}")
    return forms


@given(st.integers(0, 23), st.integers(0, 59), st.data())
def test_every_24_hour_time_and_its_12_hour_renderings_agree(hours, minutes, data):
    expected = hours * 60 + minutes
    assert parse_time(f"{hours:02d}:{minutes:02d}") == expected
    assert parse_time(f"{hours:02d}:{minutes:02d}:{data.draw(st.integers(0, 59)):02d}") == expected
    rendering = data.draw(st.sampled_from(twelve_hour_renderings(hours, minutes)))
    assert parse_time(rendering) == expected


def test_all_1440_minutes_round_trip_through_both_clocks():
    for minute in range(24 * 60):
        hours, minutes = divmod(minute, 60)
        assert parse_time(f"{hours:02d}:{minutes:02d}") == minute
        for rendering in twelve_hour_renderings(hours, minutes):
            assert parse_time(rendering) == minute, rendering


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(JSON_VALUES)
def test_garbage_times_give_minutes_none_or_a_problem_never_an_exception(value):
    result = parse_time(value)
    assert result is None or isinstance(result, Problem) or 0 <= result < 24 * 60
    if isinstance(result, Problem):
        assert result.field == "time"


@settings(max_examples=50)
@given(JSON_VALUES, JSON_VALUES)
def test_garbage_in_a_meeting_is_reported_on_its_field(time_value, end_value):
    [record] = read([meeting(time=time_value, end_time=end_value)])
    if record.data is None:
        assert set(problem_fields(record)) <= {"time", "end_time"} and record.problems
    else:
        listing = load_listing(complete(record.data, "Alcoholics Anonymous"))
        assert all(len(s.start) == 5 for s in listing.sessions)


# Fields whose trouble drops the value with a warning instead of rejecting the meeting.
WARNING_FIELDS = {"url", "website", "email", "phone", "conference_phone", "updated"}
MEETING_KEYS = ("name", "slug", "id", "day", "time", "end_time", "timezone", "types",
                "formatted_address", "address", "city", "state", "postal_code", "country",
                "latitude", "longitude", "approximate", "attendance_option", "conference_url",
                "conference_phone", "url", "email", "phone", "notes", "location", "updated")
PLAUSIBLE = JSON_VALUES | st.sampled_from([
    "", "0", "6", "7", "8:00 PM", "24:00", "O", "TC", "ONL", "yes", "online", "hybrid", "inactive",
    "https://zoom.us/j/1", "www.example.org", "London, UK", "1 Main St, Town, DE 19971, USA",
    "America/New_York", "Foo/Bar", "a@example.org", 0, 6, 95, -200, "NaN", [0, 1], ["TC", "ONL"],
    ["W", "S", "BE"]])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(MEETING_KEYS), PLAUSIBLE, max_size=10), st.booleans())
def test_any_meeting_gives_valid_data_or_problems(fields, start_from_valid):
    """The reader's promise to the loader: data it yields passes the schema once the
    pipeline adds stance and coordinates; anything else comes with problems, never a crash."""
    [record] = read([meeting(**fields) if start_from_valid else fields])
    if record.data is None:
        assert record.problems
    else:
        assert set(problem_fields(record)) <= WARNING_FIELDS
        load_listing(complete(record.data, "Alcoholics Anonymous"))


@given(st.integers(0, 6), st.booleans())
def test_days_zero_to_six_are_sunday_to_saturday(day, as_string):
    assert parse_days(str(day) if as_string else day) == (DAY_NAMES[day],)
    assert DAY_NAMES[0] == "sun" and DAY_NAMES[6] == "sat"


@given(st.lists(st.integers(0, 6), min_size=1, max_size=10))
def test_day_arrays_keep_order_without_repeats(days):
    assert parse_days(days) == tuple(dict.fromkeys(DAY_NAMES[d] for d in days))


@given(JSON_VALUES.filter(lambda v: not (
    (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 6)
    or (isinstance(v, str) and v.strip() in {"0", "1", "2", "3", "4", "5", "6"})
    or (isinstance(v, list) and v)
)))
def test_anything_else_is_a_day_problem(value):
    result = parse_days(value)
    assert isinstance(result, Problem) and result.field == "day"


@given(st.lists(JSON_VALUES, min_size=1, max_size=4))
def test_day_arrays_with_any_bad_item_are_a_problem(values):
    result = parse_days(values)
    valid = all((isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 6)
                or (isinstance(v, str) and v.strip() in set("0123456")) for v in values)
    assert isinstance(result, tuple) if valid else isinstance(result, Problem)


# --- export and round trip ----------------------------------------------------------------


def carried(listing) -> dict:
    """What the Meeting Guide format carries of a listing."""
    location = listing.location
    return {
        "name": listing.name,
        "sessions": [(s.weekday, s.start, s.end) for s in listing.sessions],
        "timezone": listing.timezone,
        "formats": listing.formats,
        "status": listing.status,
        "point": (location.lat, location.lon, location.approximate, location.country) if location else None,
        "place": (location.address, location.locality, location.state, location.postcode) if location else None,
        "conference": (listing.contact.conference_url, listing.contact.conference_phone),
        "website": listing.contact.website,
        "audiences": listing.audiences,
        "languages": listing.languages,
        "open_meeting": listing.open_meeting,
        "accessibility": listing.accessibility,
        "description": listing.description,
        "updated_at": listing.updated_at,
    }


@pytest.mark.parametrize("address, area", [
    ("Victoria, Australia", ["VIC"]),
    ("New South Wales, Australia", ["NSW"]),
    ("Australia", ["AU"]),
])
def test_an_online_meeting_placed_only_in_a_state_serves_that_state(address, area):
    # The spec asks online meetings for an approximate place; a state (or a country) on its
    # own is whom the meeting serves, not a place to go and not a town called Victoria.
    [record] = read([meeting(formatted_address=address, latitude=..., longitude=..., approximate="yes",
                             attendance_option="online", conference_url="https://zoom.us/j/1",
                             timezone="Australia/Melbourne")], country="AU")
    assert record.data["location"] is None
    assert record.data["service_area"] == area
    assert record.data["formats"] == ["online"]


def test_a_town_in_a_state_stays_a_place():
    [record] = read([meeting(formatted_address="Ballarat, Victoria, Australia", latitude=..., longitude=...,
                             approximate="yes", attendance_option="online", conference_url="https://zoom.us/j/1",
                             timezone="Australia/Melbourne")], country="AU")
    assert (record.data["location"]["locality"], record.data["location"]["state"]) == ("Ballarat", "Victoria")
    assert record.data["service_area"] == ["AU"]


# --- Listing ids from slugs ---------------------------------------------------------------
# The reference: the rule as ListingSchema states it, worked out the long way for every
# slug (accents decomposed and dropped, runs of other characters as "-", ends trimmed).

def _id_part_the_long_way(text: str) -> str:
    import re
    import unicodedata

    from service.domain.schemas import ID_PART_CHARACTERS

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(f"[^{ID_PART_CHARACTERS}]+", "-", ascii_text).strip("-")


@given(st.one_of(
    st.text(alphabet="abcxyz0189-_.:", max_size=30),  # safe already, dashes at the ends too
    st.text(max_size=30),  # anything: accents, spaces, other scripts, controls
))
def test_a_slug_becomes_the_id_the_rule_gives(slug):
    from indexers.sources.meeting_guide import _safe_id_part

    assert _safe_id_part(slug) == _id_part_the_long_way(slug)


@pytest.mark.parametrize(("slug", "part"), [
    ("monday-night-group", "monday-night-group"),
    ("-edge-", "edge"),
    ("café-crème", "cafe-creme"),
    ("Group 12 / Room B", "Group-12-Room-B"),
])
def test_slugs_by_hand(slug, part):
    from indexers.sources.meeting_guide import _safe_id_part

    assert _safe_id_part(slug) == part


def test_the_same_time_text_gives_the_same_answer_every_time():
    """Times are remembered per text and field: a later meeting with the same text must not
    get an answer meant for another field or text."""
    assert parse_time("7:30 PM") == parse_time(" 7:30 pm ") == 19 * 60 + 30
    bad_start, bad_end = parse_time("25:00"), parse_time("25:00", "end_time")
    assert isinstance(bad_start, Problem) and bad_start.field == "time"
    assert isinstance(bad_end, Problem) and bad_end.field == "end_time"
    assert parse_time("25:00").field == "time"
