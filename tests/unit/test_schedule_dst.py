"""Session times across daylight-saving changes, against a hand-worked table and the
first-principles oracle in tests/oracle_time.py (which uses none of service.domain.schedule)."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

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
            ("mon", "19:00", "20:30"), ("sat", "20:00", "21:00"),
            # A whole day from late Saturday: the clocks going forward keep it running into
            # Monday, local time, past the day before yesterday's last minute.
            ("sat", "23:30", "23:30")]


STEADY = {"Australia/Brisbane", "Australia/Darwin", "Australia/Perth"}


def moments_around_changes(tz: str):
    """Every 5 minutes from 6 hours before to 6 hours after each change, every 10 around the
    next local midnight, then every 7 hours for a week; zones that keep one offset are
    walked over the nights Sydney changes."""
    changes = oracle_time.transitions(tz, 2026) or oracle_time.transitions("Australia/Sydney", 2026)
    for change in changes:
        for minutes in range(-6 * 60, 6 * 60 + 1, 5):
            yield change + timedelta(minutes=minutes)
        # The next midnight, local: a session begun late the evening before the change may
        # still run, two local dates on.
        for minutes in range(20 * 60, 23 * 60 + 1, 10):
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


def shifted_starts(weekday: str, start: str, end: str, tz: str, at: datetime) -> list[float]:
    """Minutes from `at` to the session's starts not yet ended, as the engines' script
    reckons them from schedule.wall_shift (queries._LOWER_BOUND, written out here): the last
    wall start, the next and the one a week on."""
    change, before, after = schedule.wall_shift(tz, at)
    now = int(schedule.local_minute_of_week(at, tz) // 1)
    seconds = (at.second * 1_000_000 + at.microsecond) / 60e6
    session = Session(weekday, start, end)
    length = schedule.duration_minutes(session)
    following = (schedule.minute_of_week(session) - now) % schedule.MINUTES_PER_WEEK
    found = []
    for delta in (following - schedule.MINUTES_PER_WEEK, following, following + schedule.MINUTES_PER_WEEK):
        elapsed = delta + (before if delta < change else after)
        if elapsed + length > 0:
            found.append(elapsed - seconds)
    return found


# Worked by hand for 2026 (zone, search moment in UTC, wall_shift): Sydney goes from +10 to
# +11 at 16:00 UTC on 3 October, 02:00 local becoming 03:00; it goes back at 16:00 UTC on
# 4 April, 03:00 local becoming 02:00 (wall times to 03:00 take +11, the first pass); New
# York from -5 to -4 at 07:00 UTC on 8 March and back at 06:00 UTC on 1 November.
SHIFTS = [
    # Saturday 12:00 AEST: wall times to Sunday 03:00 (900 minutes on) as they read; after
    # it, an hour less has passed than the wall clock says.
    ("Australia/Sydney", "2026-10-03T02:00", (900, 0, -60)),
    # 03:30 AEDT, after the change: earlier wall times (yesterday's) were an hour further off.
    ("Australia/Sydney", "2026-10-03T16:30", (-30, 60, 0)),
    # Saturday 12:00 AEDT before the change back: from Sunday 03:00 (900 on), an hour more.
    ("Australia/Sydney", "2026-04-04T01:00", (900, 0, 60)),
    # 02:30 AEST, the second pass: wall times before 03:00 (30 on) are the first pass's.
    ("Australia/Sydney", "2026-04-04T16:30", (30, -60, 0)),
    # 01:30 EDT, the first pass: 02:00 EST, 30 wall minutes on, is 90 minutes away.
    ("America/New_York", "2026-11-01T05:30", (30, 0, 60)),
    # Saturday 07:00 EST: Sunday 03:00 EDT, 20 wall hours on, is the change's later reading.
    ("America/New_York", "2026-03-07T12:00", (20 * 60, 0, -60)),
    ("Australia/Perth", "2026-10-03T02:00", (0, 0, 0)),
    ("Australia/Sydney", "2026-06-10T09:00", (0, 0, 0)),
]


@pytest.mark.parametrize("tz, at, expected", SHIFTS)
def test_hand_worked_wall_shifts(tz, at, expected):
    assert schedule.wall_shift(tz, utc(at)) == expected


@pytest.mark.parametrize("tz", ZONES)
def test_wall_shifts_give_every_start_the_oracle_gives(tz):
    """Read through wall_shift, the wall clock gives the oracle's minutes to the next start
    and to every session still running, at every moment around each change (seconds
    included); and the changes it reads are the oracle's."""
    for at in moments_around_changes(tz):
        for moment in (at, at + timedelta(seconds=37, microseconds=250_000)):
            changes = [instant for instant in oracle_time.transitions(tz, 2026)
                       if moment - timedelta(days=3) <= instant <= moment + timedelta(days=38)]
            assert [change[0] for change in schedule.clock_changes(tz, moment)] == changes
            for weekday, start, end in SESSIONS:
                upcoming = oracle_time.weekly_occurrences(weekday, start, end, tz, moment, 3)
                expected = [(begins - moment).total_seconds() / 60 for begins, _ in upcoming]
                found = shifted_starts(weekday, start, end, tz, moment)
                assert found == pytest.approx(expected[:len(found)], abs=1e-9), (tz, moment, start)
                assert found and found == sorted(found), (tz, moment, start)


def test_zones_the_script_cannot_read_exactly_have_no_wall_shift():
    """Boa Vista put its clocks forward on 8 October 2000 and back a week later; Monrovia
    moved from -0:44:30 to UTC on 7 January 1972. A search whose span holds two changes,
    or one by part of a minute, gets no wall_shift and a slack covering the largest gap
    between wall clock and elapsed time (from the oracle's own offsets)."""
    changes = oracle_time.transitions("America/Boa_Vista", 2000)[-2:]
    assert changes[1] - changes[0] == timedelta(days=7, hours=-1)
    before = changes[0] - timedelta(days=1)
    assert len(schedule.clock_changes("America/Boa_Vista", before)) == 2
    assert schedule.wall_shift("America/Boa_Vista", before) is None
    assert schedule.shift_slack("America/Boa_Vista", before) == 60
    assert schedule.wall_shift("America/Boa_Vista", changes[1] + timedelta(days=4)) is not None
    [change] = oracle_time.transitions("Africa/Monrovia", 1972)
    assert schedule.wall_shift("Africa/Monrovia", change - timedelta(days=1)) is None
    assert schedule.shift_slack("Africa/Monrovia", change - timedelta(days=1)) == 44.5


def test_two_changes_that_cancel_out_still_count_as_a_shift():
    """Boa Vista kept summer time for one week of October 2000: a day before a moment just
    ahead of it and eight days after, the offset is the same, yet sessions in between start
    an hour off the wall clock. The slack is that hour (the oracle's own instants)."""
    start, end = oracle_time.transitions("America/Boa_Vista", 2000)[-2:]
    at = start - timedelta(hours=12)
    zone = ZoneInfo("America/Boa_Vista")
    assert (at - timedelta(days=1)).astimezone(zone).utcoffset() == (at + timedelta(days=8)).astimezone(zone).utcoffset()
    assert schedule.offset_shift_minutes(at, "America/Boa_Vista") == 60
