"""Next sessions across daylight saving, half-hour zones, midnight and monthly rules."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from service.domain import schedule
from service.domain.models import Session


def occurrences(weekday, start, end, tz, at, count=3, monthly=None):
    return schedule.session_occurrences(Session(weekday, start, end, monthly), tz, at, count)


def local(text, tz):
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def test_weekly_session_in_brisbane_never_shifts():
    at = local("2026-10-01T12:00", "Australia/Brisbane")
    found = occurrences("mon", "19:00", "20:30", "Australia/Brisbane", at)
    assert [o.start.isoformat() for o in found] == [
        "2026-10-05T19:00:00+10:00", "2026-10-12T19:00:00+10:00", "2026-10-19T19:00:00+10:00"]
    assert all(o.end - o.start == timedelta(minutes=90) for o in found)


def test_sydney_offset_changes_when_daylight_saving_starts():
    # Daylight saving starts in NSW on Sunday 4 October 2026.
    at = local("2026-09-30T12:00", "Australia/Sydney")
    found = occurrences("mon", "19:00", "20:00", "Australia/Sydney", at, count=2)
    assert [o.start.isoformat() for o in found] == [
        "2026-10-05T19:00:00+11:00", "2026-10-12T19:00:00+11:00"]
    first_before = occurrences("thu", "19:00", "20:00", "Australia/Sydney", at, count=1)[0]
    assert first_before.start.isoformat() == "2026-10-01T19:00:00+10:00"


def test_sydney_start_in_the_spring_gap_moves_past_the_gap():
    # 02:30 does not exist on 4 October 2026 in Sydney: clocks jump 02:00 -> 03:00.
    at = local("2026-10-03T12:00", "Australia/Sydney")
    found = occurrences("sun", "02:30", "03:30", "Australia/Sydney", at, count=2)
    assert found[0].start.isoformat() == "2026-10-04T03:30:00+11:00"
    assert found[0].end - found[0].start == timedelta(hours=1)
    assert found[1].start.isoformat() == "2026-10-11T02:30:00+11:00"


def test_sydney_start_in_the_autumn_overlap_is_the_first_one():
    # 02:30 happens twice on 5 April 2026 in Sydney: first at +11:00, then at +10:00.
    at = local("2026-04-04T12:00", "Australia/Sydney")
    first = occurrences("sun", "02:30", "03:30", "Australia/Sydney", at, count=1)[0]
    assert first.start.isoformat() == "2026-04-05T02:30:00+11:00"
    # It lasts its usual hour of elapsed time, ending at the second 02:30.
    assert first.end.isoformat() == "2026-04-05T02:30:00+10:00"


def test_adelaide_half_hour_zone_and_its_daylight_saving():
    at = local("2026-09-28T12:00", "Australia/Adelaide")
    found = occurrences("tue", "18:00", "19:00", "Australia/Adelaide", at, count=2)
    assert found[0].start.isoformat() == "2026-09-29T18:00:00+09:30"
    assert found[1].start.isoformat() == "2026-10-06T18:00:00+10:30"
    assert found[1].start.astimezone(timezone.utc).isoformat() == "2026-10-06T07:30:00+00:00"


def test_lord_howe_half_hour_daylight_saving_gap():
    # Lord Howe moves its clocks 30 minutes: 02:00 -> 02:30 on 4 October 2026.
    at = local("2026-10-03T12:00", "Australia/Lord_Howe")
    gap = occurrences("sun", "02:15", "03:15", "Australia/Lord_Howe", at, count=1)[0]
    assert gap.start.isoformat() == "2026-10-04T02:45:00+11:00"
    normal = occurrences("sun", "10:00", "11:00", "Australia/Lord_Howe", at, count=2)
    assert [o.start.utcoffset() for o in normal] == [timedelta(hours=11)] * 2
    winter = occurrences("sun", "10:00", "11:00", "Australia/Lord_Howe",
                         local("2026-07-01T12:00", "Australia/Lord_Howe"), count=1)[0]
    assert winter.start.utcoffset() == timedelta(hours=10, minutes=30)


def test_lord_howe_autumn_overlap_takes_the_first():
    # On 5 April 2026 Lord Howe's 01:30-02:00 happens twice.
    at = local("2026-04-04T12:00", "Australia/Lord_Howe")
    first = occurrences("sun", "01:45", "02:45", "Australia/Lord_Howe", at, count=1)[0]
    assert first.start.isoformat() == "2026-04-05T01:45:00+11:00"


def test_session_in_progress_is_included_and_marked():
    at = local("2026-11-26T19:30", "Australia/Sydney")  # a Thursday
    found = occurrences("thu", "19:00", "20:30", "Australia/Sydney", at, count=2)
    assert found[0].in_progress and found[0].start.isoformat() == "2026-11-26T19:00:00+11:00"
    assert not found[1].in_progress


def test_session_that_has_ended_is_not_listed():
    at = local("2026-11-26T20:30", "Australia/Sydney")
    found = occurrences("thu", "19:00", "20:30", "Australia/Sydney", at, count=1)
    assert found[0].start.isoformat() == "2026-12-03T19:00:00+11:00"


def test_session_past_midnight_still_running_next_morning():
    at = local("2026-11-29T00:30", "Australia/Perth")  # Sunday 00:30
    found = occurrences("sat", "23:00", "01:00", "Australia/Perth", at, count=1)
    assert found[0].in_progress
    assert found[0].start.isoformat() == "2026-11-28T23:00:00+08:00"
    assert found[0].end.isoformat() == "2026-11-29T01:00:00+08:00"


@pytest.mark.parametrize("rule, expected", [
    ("first", ["2026-12-05", "2027-01-02", "2027-02-06"]),
    ("third", ["2026-12-19", "2027-01-16", "2027-02-20"]),
    ("last", ["2026-11-28", "2026-12-26", "2027-01-30"]),
])
def test_monthly_rules(rule, expected):
    at = local("2026-11-26T12:00", "Australia/Hobart")
    found = occurrences("sat", "10:00", "11:30", "Australia/Hobart", at, count=3, monthly=rule)
    assert [o.start.date().isoformat() for o in found] == expected


def test_next_occurrences_merges_sessions_in_time_order(demo_listings):
    listing = next(x for x in demo_listings if len(x.sessions) >= 2)
    at = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    found = schedule.next_occurrences(listing, at, count=3)
    assert len(found) == 3
    assert [o.start for o in found] == sorted(o.start for o in found)
    assert all(o.end > at for o in found)


def test_next_occurrences_equals_merging_each_session(demo_listings):
    """The day-by-day walk gives what merging every session's own occurrences gives."""
    starts = [datetime(2026, 4, 4, 14, 50, tzinfo=timezone.utc), datetime(2026, 10, 3, 15, 59, tzinfo=timezone.utc),
              datetime(2026, 11, 26, 8, 0, 30, tzinfo=timezone.utc), datetime(2027, 1, 31, 23, 0, tzinfo=timezone.utc)]
    for listing in demo_listings:
        for at in starts:
            merged = sorted(
                (occ for s in listing.sessions for occ in schedule.session_occurrences(s, listing.timezone, at, 3)),
                key=lambda occ: (occ.start, occ.end),
            )[:3]
            assert schedule.next_occurrences(listing, at, 3) == tuple(merged), (listing.id, at)
