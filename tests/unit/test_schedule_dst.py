"""Session times across daylight-saving changes, against a hand-worked table and the
first-principles oracle in tests/oracle_time.py (which uses none of service.domain.schedule)."""

from datetime import datetime, timedelta, timezone

import pytest

from service.domain import schedule
from service.domain.models import Session
from tests import oracle_time

UTC = timezone.utc

# Worked by hand from the zones' rules (2026): (zone, session, search moment, first start in UTC).
# Melbourne and Sydney go from +10 to +11 at 02:00 local on Sunday 4 October and back at 03:00
# on Sunday 5 April; Adelaide +9:30/+10:30 on the same days; Lord Howe +10:30/+11, changing
# at 02:00 local by half an hour; Perth and Brisbane keep one offset.
TABLE = [
    # 02:00 does not exist on 4 October: read at +10, it is 03:00 AEDT.
    ("Australia/Melbourne", ("sun", "02:00", "03:00"), "2026-10-03T12:00", "2026-10-03T16:00"),
    ("Australia/Sydney", ("sun", "02:30", "03:30"), "2026-10-03T12:00", "2026-10-03T16:30"),
    # 02:30 happens twice on 5 April: the first (AEDT, +11).
    ("Australia/Sydney", ("sun", "02:30", "03:30"), "2026-04-04T12:00", "2026-04-04T15:30"),
    ("Australia/Adelaide", ("sun", "02:15", "03:15"), "2026-10-03T12:00", "2026-10-03T16:45"),
    ("Australia/Lord_Howe", ("sun", "02:10", "03:00"), "2026-10-03T12:00", "2026-10-03T15:40"),
    ("Australia/Lord_Howe", ("sun", "01:45", "02:45"), "2026-04-04T12:00", "2026-04-04T14:45"),
    ("Australia/Perth", ("sun", "02:15", "03:15"), "2026-10-03T12:00", "2026-10-03T18:15"),
    ("Australia/Brisbane", ("sun", "02:15", "03:15"), "2026-10-03T12:00", "2026-10-03T16:15"),
    # A session already running when the search is made counts from its own start.
    ("Australia/Melbourne", ("sun", "02:00", "03:00"), "2026-10-03T16:10", "2026-10-03T16:00"),
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("tz, session, at, expected", TABLE)
def test_hand_worked_starts(tz, session, at, expected):
    assert oracle_time.weekly_occurrences(*session, tz, utc(at), 1)[0][0] == utc(expected)
    found = schedule.session_occurrences(Session(*session), tz, utc(at), 1)[0]
    # Compared in UTC: Python never calls an ambiguous local time equal to another zone's (PEP 495).
    assert found.start.astimezone(UTC) == utc(expected)


# Every zone Linkage serves in Australia, and the zones of imported feeds abroad.
ZONES = ["Australia/Sydney", "Australia/Melbourne", "Australia/Hobart", "Australia/Adelaide",
         "Australia/Broken_Hill", "Australia/Lord_Howe", "Australia/Brisbane", "Australia/Darwin",
         "Australia/Perth", "Pacific/Auckland", "America/New_York", "America/Edmonton", "Europe/London"]
# Sessions around the small hours (where the clocks change), evening ones and one past midnight.
SESSIONS = [("sun", "01:45", "02:45"), ("sun", "02:00", "03:00"), ("sun", "02:15", "03:15"),
            ("sun", "02:30", "04:00"), ("sat", "23:30", "00:30"), ("sun", "03:00", "03:30"),
            ("mon", "19:00", "20:30"), ("sat", "20:00", "21:00")]


STEADY = {"Australia/Brisbane", "Australia/Darwin", "Australia/Perth"}


def moments_around_changes(tz: str):
    """Every 5 minutes from 6 hours before to 6 hours after each change, then every 7 hours
    for a week; zones that keep one offset are walked over the nights Sydney changes."""
    changes = oracle_time.transitions(tz, 2026) or oracle_time.transitions("Australia/Sydney", 2026)
    for change in changes:
        for minutes in range(-6 * 60, 6 * 60 + 1, 5):
            yield change + timedelta(minutes=minutes)
        for hours in range(-36, 8 * 24, 7):
            yield change + timedelta(hours=hours, minutes=13)


@pytest.mark.parametrize("tz", ZONES)
def test_occurrences_and_bounds_across_every_change(tz):
    """The exact schedule equals the oracle, and the pruning bound (with the zone's slack) is
    never above the oracle's minutes-until: a bound above it would drop a listing that is
    running or about to start from open_now, starts_within and soonest."""
    assert bool(oracle_time.transitions(tz, 2026)) != (tz in STEADY)
    for at in moments_around_changes(tz):
        now_mow = schedule.local_minute_of_week(at, tz)
        slack = schedule.offset_shift_minutes(at, tz)
        for weekday, start, end in SESSIONS:
            expected = oracle_time.weekly_occurrences(weekday, start, end, tz, at, 2)
            found = schedule.session_occurrences(Session(weekday, start, end), tz, at, 2)
            assert [(o.start.astimezone(UTC), o.end.astimezone(UTC)) for o in found] == expected, (tz, at, start)
            truth = (expected[0][0] - at).total_seconds() / 60
            session = Session(weekday, start, end)
            bound = schedule.session_lower_bound(schedule.minute_of_week(session),
                                                 schedule.duration_minutes(session), now_mow, slack)
            assert bound <= truth + 1e-9, (tz, at, start, bound, truth)
            if slack == 0:
                assert bound == pytest.approx(truth), (tz, at, start)  # exact in a steady week


def test_the_bound_sees_a_session_the_clock_change_keeps_running():
    """The reported bug: Melbourne, Sunday 02:00-03:00 runs 03:00-04:00 AEDT on 4 October 2026.
    At 03:10 AEDT the wall clock says it ended ten minutes ago; it has ten minutes to go."""
    at = utc("2026-10-03T16:10")
    session = Session("sun", "02:00", "03:00")
    now_mow = schedule.local_minute_of_week(at, "Australia/Melbourne")
    slack = schedule.offset_shift_minutes(at, "Australia/Melbourne")
    assert slack == 60
    bound = schedule.session_lower_bound(schedule.minute_of_week(session), 60, now_mow, slack)
    assert bound <= -10
