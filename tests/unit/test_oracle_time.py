"""The time oracle itself (tests/oracle_time.py), against answers worked by hand.

The oracle is what the reference search and the property tests trust about session times,
so it is checked here against a calendar and the zones' published rules, not against the
service. 2026: Sydney, Melbourne and Hobart go from +10 to +11 at 02:00 local on Sunday
4 October and back at 03:00 on Sunday 5 April; Adelaide and Broken Hill the same days at
+9:30/+10:30; Lord Howe moves by half an hour at 02:00 local (+10:30/+11) on the same days;
Brisbane, Darwin and Perth keep one offset. Months (2026): January starts on a Thursday,
February on a Sunday, September on a Tuesday, October on a Thursday, November on a Sunday.
"""

from datetime import datetime, timedelta, timezone

import pytest

from tests import oracle_time

UTC = timezone.utc


def utc(text: str) -> datetime:
    """A naive ISO time read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (zone, (weekday, start, end, monthly), search moment, [(start, end), ...] in UTC)
TABLE = [
    # 02:30 does not exist on 4 October in Sydney: read at +10, it is 03:30 AEDT.
    ("Australia/Sydney", ("sun", "02:30", "03:30", None), "2026-10-03T12:00",
     [("2026-10-03T16:30", "2026-10-03T17:30")]),
    # 02:30 happens twice on 5 April: the first (+11); an hour of elapsed time.
    ("Australia/Sydney", ("sun", "02:30", "03:30", None), "2026-04-04T12:00",
     [("2026-04-04T15:30", "2026-04-04T16:30")]),
    # Lord Howe's half-hour gap (02:00 -> 02:30): 02:10 read at +10:30.
    ("Australia/Lord_Howe", ("sun", "02:10", "03:00", None), "2026-10-03T12:00",
     [("2026-10-03T15:40", "2026-10-03T16:30")]),
    # Lord Howe's half-hour fold (02:00 -> 01:30): 01:45 happens twice, the first at +11.
    ("Australia/Lord_Howe", ("sun", "01:45", "02:45", None), "2026-04-04T12:00",
     [("2026-04-04T14:45", "2026-04-04T15:45")]),
    # Past midnight: Saturday 23:30-00:30, asked at Sunday 00:10 AEDT, is running.
    ("Australia/Sydney", ("sat", "23:30", "00:30", None), "2026-11-28T13:10",
     [("2026-11-28T12:30", "2026-11-28T13:30"), ("2026-12-05T12:30", "2026-12-05T13:30")]),
    # Past midnight across the gap: Saturday 23:00 AEST for four elapsed hours (04:00 AEDT).
    ("Australia/Sydney", ("sat", "23:00", "03:00", None), "2026-10-03T12:00",
     [("2026-10-03T13:00", "2026-10-03T17:00")]),
    # Monthly. The first Sunday of September (6th) has passed; October's is the gap day.
    ("Australia/Sydney", ("sun", "02:30", "03:30", "first"), "2026-09-07T00:00",
     [("2026-10-03T16:30", "2026-10-03T17:30"), ("2026-10-31T15:30", "2026-10-31T16:30")]),
    # Second Tuesday of February: the 10th (Brisbane, +10).
    ("Australia/Brisbane", ("tue", "19:00", "20:30", "second"), "2026-02-01T00:00",
     [("2026-02-10T09:00", "2026-02-10T10:30")]),
    # Third Wednesday of November: the 18th (AEDT).
    ("Australia/Sydney", ("wed", "18:00", "19:00", "third"), "2026-11-01T00:00",
     [("2026-11-18T07:00", "2026-11-18T08:00")]),
    # Fourth Sunday of October: the 25th (Perth, +8), also the last.
    ("Australia/Perth", ("sun", "10:00", "11:00", "fourth"), "2026-10-01T00:00",
     [("2026-10-25T02:00", "2026-10-25T03:00")]),
    # November has five Sundays: the fourth is the 22nd, the last the 29th.
    ("Australia/Sydney", ("sun", "10:00", "11:00", "fourth"), "2026-11-01T00:00",
     [("2026-11-21T23:00", "2026-11-22T00:00"), ("2026-12-26T23:00", "2026-12-27T00:00")]),
    ("Australia/Sydney", ("sun", "10:00", "11:00", "last"), "2026-11-01T00:00",
     [("2026-11-28T23:00", "2026-11-29T00:00")]),
    # Last Friday of January: the 30th (Adelaide in summer, +10:30).
    ("Australia/Adelaide", ("fri", "19:00", "21:00", "last"), "2026-01-01T00:00",
     [("2026-01-30T08:30", "2026-01-30T10:30")]),
    # Last Saturday of November (28th), 22:00-01:00 in Melbourne, asked at 23:00 AEDT: running.
    ("Australia/Melbourne", ("sat", "22:00", "01:00", "last"), "2026-11-28T12:00",
     [("2026-11-28T11:00", "2026-11-28T14:00")]),
    # First Saturday of August is the 1st, asked on the 2nd: the next is 5 September.
    ("Australia/Darwin", ("sat", "10:00", "11:00", "first"), "2026-08-02T00:00",
     [("2026-09-05T00:30", "2026-09-05T01:30")]),
]


@pytest.mark.parametrize("tz, session, at, expected", TABLE,
                         ids=[f"{t}-{' '.join(filter(None, s))}-{a}" for t, s, a, _ in TABLE])
def test_hand_worked_occurrences(tz, session, at, expected):
    weekday, start, end, monthly = session
    found = oracle_time.occurrences(weekday, start, end, tz, utc(at), len(expected), monthly)
    assert found == [(utc(a), utc(b)) for a, b in expected]


def test_minutes_until_is_negative_while_running():
    """The reported Melbourne meeting, at 16:10 UTC on 3 October: it began ten minutes ago."""
    assert oracle_time.minutes_until("sun", "02:00", "03:00", "Australia/Melbourne", utc("2026-10-03T16:10")) == -10
    assert oracle_time.minutes_until("sun", "02:00", "03:00", "Australia/Melbourne", utc("2026-10-03T15:45")) == 15
    # A week later the wall clock and elapsed time agree again: 02:00 AEDT is 15:00 UTC.
    assert oracle_time.minutes_until("sun", "02:00", "03:00", "Australia/Melbourne", utc("2026-10-03T17:00")) == \
        (utc("2026-10-10T15:00") - utc("2026-10-03T17:00")).total_seconds() / 60


def test_weekly_occurrences_are_the_weekly_case():
    assert oracle_time.weekly_occurrences("sun", "02:30", "03:30", "Australia/Sydney", utc("2026-10-03T12:00"), 2) == \
        [(utc("2026-10-03T16:30"), utc("2026-10-03T17:30")), (utc("2026-10-10T15:30"), utc("2026-10-10T16:30"))]


@pytest.mark.parametrize("tz, expected", [
    ("Australia/Sydney", ["2026-04-04T16:00", "2026-10-03T16:00"]),
    ("Australia/Hobart", ["2026-04-04T16:00", "2026-10-03T16:00"]),
    ("Australia/Adelaide", ["2026-04-04T16:30", "2026-10-03T16:30"]),
    ("Australia/Broken_Hill", ["2026-04-04T16:30", "2026-10-03T16:30"]),
    ("Australia/Lord_Howe", ["2026-04-04T15:00", "2026-10-03T15:30"]),
    ("Australia/Perth", []),
    ("Australia/Brisbane", []),
    ("Australia/Darwin", []),
    # New Zealand: back at 03:00 NZDT on 5 April, forward at 02:00 NZST on 27 September.
    ("Pacific/Auckland", ["2026-04-04T14:00", "2026-09-26T14:00"]),
    ("Europe/London", ["2026-03-29T01:00", "2026-10-25T01:00"]),
])
def test_transitions(tz, expected):
    assert oracle_time.transitions(tz, 2026) == [utc(t) for t in expected]


def test_lord_howe_moves_by_half_an_hour():
    change = oracle_time.transitions("Australia/Lord_Howe", 2026)[1]
    before = oracle_time._offset_at(change - timedelta(minutes=1), oracle_time.ZoneInfo("Australia/Lord_Howe"))
    after = oracle_time._offset_at(change, oracle_time.ZoneInfo("Australia/Lord_Howe"))
    assert (before, after) == (timedelta(hours=10, minutes=30), timedelta(hours=11))
