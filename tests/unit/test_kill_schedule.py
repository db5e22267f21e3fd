"""Schedule edges that mutation testing showed unguarded: one-minute sessions, monthly rules
at the month's edges, sessions begun last night, seconds within a minute, the clock-change
window and answers that must not depend on the server's own zone.

Every expected value is worked out by hand from the calendar (checked with `date(1)`):
Saturdays 24 and 31 January 2026, 1, 8 and 15 August 2026; Monday 23 November 2026;
Monday 5 October 2026. Sydney's clocks go forward at 16:00 UTC on 3 October 2026
(02:00 AEST becomes 03:00 AEDT).
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from service.domain import schedule
from service.domain.models import Contact, FirstVisit, Listing, Session, Source

SYDNEY = "Australia/Sydney"
SYDNEY_CHANGE = datetime(2026, 10, 3, 16, 0, tzinfo=timezone.utc)


def listing(zone: str, sessions=(), open_24_7: bool = False) -> Listing:
    """An online listing in `zone` meeting at `sessions` (Session objects)."""
    return Listing(
        id="test:kill", kind="group", name="Test", description="A test listing.", program=None,
        approach="secular_peer", goals=("moderation",), substances=("any",), formats=("online",),
        audiences=("everyone",), facilitation=None, languages=("en",), location=None,
        service_area=("AU",), timezone=zone, sessions=tuple(sessions), open_24_7=open_24_7,
        contact=Contact(conference_url="https://example.org/meet"), registration_required=False,
        open_meeting=True, cost="free", referral="self", accessibility=(), first_visit=FirstVisit(),
        source=Source(name="Test feed"), updated_at="2026-11-01", verified_at="2026-11-01",
        status="active",
    )


def local(text: str, zone: str) -> datetime:
    """An aware datetime from a local ISO text in `zone`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize("start, end, expected", [
    ("09:00", "09:01", 1),
    ("23:59", "00:00", 1),
    ("09:01", "09:00", 24 * 60 - 1),
])
def test_session_length_in_minutes(start, end, expected):
    assert schedule.duration_minutes(Session("mon", start, end)) == expected


@pytest.mark.parametrize("day, rule, expected", [
    (date(2026, 1, 24), "last", False),   # 31 January is the last Saturday
    (date(2026, 1, 31), "last", True),
    (date(2026, 8, 1), "first", True),
    (date(2026, 8, 8), "first", False),
    (date(2026, 8, 8), "second", True),
    (date(2026, 8, 7), "first", True),    # a Friday: the month's first
    (date(2026, 8, 14), "second", True),
])
def test_monthly_rules_at_the_edges_of_a_week(day, rule, expected):
    assert schedule.matches_monthly_rule(day, rule) is expected


def test_next_occurrences_gives_three_by_default():
    weekly = listing(SYDNEY, [Session("mon", "19:00", "20:00")])
    found = schedule.next_occurrences(weekly, local("2026-11-23T12:00", SYDNEY))
    assert [o.start.isoformat() for o in found] == [
        "2026-11-23T19:00:00+11:00", "2026-11-30T19:00:00+11:00", "2026-12-07T19:00:00+11:00"]


def test_a_session_begun_last_night_is_in_progress_after_midnight():
    late = listing(SYDNEY, [Session("mon", "23:00", "01:00")])
    at = local("2026-11-24T00:30", SYDNEY)
    first = schedule.next_occurrences(late, at, count=1)[0]
    assert first.start.isoformat() == "2026-11-23T23:00:00+11:00"
    assert first.end.isoformat() == "2026-11-24T01:00:00+11:00"
    assert first.in_progress
    assert schedule.minutes_until(late, at) == -90.0


def test_a_monthly_session_not_due_does_not_hide_a_weekly_one_the_same_day():
    both = listing(SYDNEY, [Session("sat", "10:00", "11:00", "first"), Session("sat", "14:00", "15:00")])
    found = schedule.next_occurrences(both, local("2026-08-15T08:00", SYDNEY), count=1)
    assert [o.start.isoformat() for o in found] == ["2026-08-15T14:00:00+10:00"]


def test_minutes_until_is_zero_for_a_service_open_all_hours():
    assert schedule.minutes_until(listing(SYDNEY, open_24_7=True), SYDNEY_CHANGE) == 0.0


def test_minutes_until_counts_whole_minutes():
    # Thursday 26 November 2026, 19:00 AEDT; the session starts at 21:00.
    evening = listing(SYDNEY, [Session("thu", "21:00", "22:00")])
    assert schedule.minutes_until(evening, local("2026-11-26T19:00", SYDNEY)) == 120.0


@pytest.mark.parametrize("wall, expected", [
    ("2026-11-23T00:00:30", 0.5),                          # Monday
    ("2026-11-23T10:00:59.999999", 600 + 59.999999 / 60),
    ("2026-11-24T00:00:00.500000", 24 * 60 + 0.5 / 60),    # Tuesday
])
def test_minute_of_the_week_keeps_seconds_and_microseconds(wall, expected):
    assert schedule.local_minute_of_week(local(wall, SYDNEY), SYDNEY) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("at, expected", [
    (SYDNEY_CHANGE + timedelta(hours=23), 60.0),      # the day before `at` starts before the change
    (SYDNEY_CHANGE + timedelta(hours=25), 0.0),       # ... and here after it
    (SYDNEY_CHANGE - timedelta(days=8, hours=-1), 60.0),  # eight days after `at` is past the change
    (SYDNEY_CHANGE - timedelta(days=8, hours=1), 0.0),    # ... and here not yet
])
def test_the_clock_change_window_is_a_day_before_to_eight_days_after(at, expected):
    assert schedule.offset_shift_minutes(at, SYDNEY) == expected


@pytest.mark.parametrize("now, expected", [(540, 60.0), (630, -30.0), (700, 7 * 24 * 60 - 100.0)])
def test_the_bound_without_slack_is_exact(now, expected):
    # A session on Monday 10:00 (minute 600) for an hour.
    assert schedule.session_lower_bound(600, 60, now) == expected


@pytest.fixture
def server_in_kiritimati():
    """The process's own zone set to UTC+14 for one test (restored afterwards)."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_occurrences_do_not_depend_on_the_servers_zone(server_in_kiritimati):
    # Tuesday 6 October 2026 00:30 in Honolulu (UTC-10) is already Wednesday 00:30 on a
    # server in Kiritimati (UTC+14); Monday's 23:00 meeting is still on in Honolulu.
    honolulu = "Pacific/Honolulu"
    late = Session("mon", "23:00", "01:00")
    at = local("2026-10-06T00:30", honolulu)
    first = schedule.next_occurrences(listing(honolulu, [late]), at, count=1)[0]
    assert (first.start.isoformat(), first.in_progress) == ("2026-10-05T23:00:00-10:00", True)
    first = schedule.session_occurrences(late, honolulu, at, 1)[0]
    assert (first.start.isoformat(), first.in_progress) == ("2026-10-05T23:00:00-10:00", True)


def test_one_timetable_in_two_zones_and_two_sides_of_a_fold_are_answered_apart():
    # next_occurrences keeps answers for whoever asks next: the same sessions asked in
    # another zone, or from the other 02:30 of the night Sydney's clocks go back, must get
    # their own answer. Hand-worked: Sunday 5 April 2026, Sydney goes from +11:00 to +10:00
    # at 03:00; a Sunday 02:45-03:15 session held in Sydney starts at the first 02:45
    # (+11:00) and, asked from the second 02:50 (+10:00, 16:50 UTC), has ended (it ran
    # 15:45-16:15 UTC); in Perth (+08:00 all year) 16:50 UTC is 00:50 that Sunday, so
    # Perth's 02:45 is still to come that same day.
    sessions = [Session("sun", "02:45", "03:15")]
    first_0250 = datetime(2026, 4, 5, 2, 50, tzinfo=ZoneInfo(SYDNEY))           # 15:50 UTC
    second_0250 = datetime(2026, 4, 5, 2, 50, fold=1, tzinfo=ZoneInfo(SYDNEY))  # 16:50 UTC
    sydney = listing(SYDNEY, sessions)
    perth = listing("Australia/Perth", sessions)
    during = schedule.next_occurrences(sydney, first_0250, count=1)[0]
    assert during.in_progress and during.start.isoformat() == "2026-04-05T02:45:00+11:00"
    after = schedule.next_occurrences(sydney, second_0250, count=1)[0]
    assert not after.in_progress and after.start.isoformat() == "2026-04-12T02:45:00+10:00"
    in_perth = schedule.next_occurrences(perth, second_0250, count=1)[0]
    assert not in_perth.in_progress and in_perth.start.isoformat() == "2026-04-05T02:45:00+08:00"
