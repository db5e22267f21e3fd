"""Session times worked out from first principles, to check service.domain.schedule against.

Nothing here imports the implementation. A weekly session is a local wall-clock time on a
weekday; its instant is found by asking zoneinfo only for the UTC offset in force at given
instants (the one question a time-zone database answers without interpretation) and
applying RFC 5545's rules by hand:

* a wall time that happens once: the instant whose local reading is that wall time;
* a wall time that happens twice (clocks went back): the first instant;
* a wall time that never happens (clocks went forward): read with the offset in force
  before the gap, which lands after the gap.

A session lasts its usual length in elapsed time; one whose end is not after its start runs
past midnight. Monthly sessions ("first" ... "fourth", "last" weekday of the month, by the
local date the session starts on) take their days from python-dateutil's RFC 5545 `rrule`
(BYDAY=+1SA, -1SA), another implementation than the service's day arithmetic.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil import rrule

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# RFC 5545's BYDAY ordinals: +1 is the first such weekday of the month, -1 the last.
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def _offset_at(instant: datetime, tz: ZoneInfo) -> timedelta:
    """The UTC offset in force at an instant (a UTC datetime)."""
    return instant.astimezone(tz).utcoffset()


@lru_cache(maxsize=1 << 16)  # pure, and reference searches ask the same days again and again
def local_to_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall time on a day, by the RFC 5545 rules above."""
    naive = datetime.combine(day, at)
    # Every offset the zone uses within a day either side is a candidate reading.
    probes = [naive.replace(tzinfo=timezone.utc) + timedelta(hours=h) for h in range(-36, 37, 3)]
    offsets = sorted({_offset_at(p, tz) for p in probes})
    readings = []
    for offset in offsets:
        instant = (naive - offset).replace(tzinfo=timezone.utc)
        if _offset_at(instant, tz) == offset:
            readings.append(instant)
    if readings:
        return min(readings)  # once, or the first of two
    # A gap: the offset before it is the one in force a day earlier.
    before = _offset_at((naive - timedelta(days=1)).replace(tzinfo=timezone.utc), tz)
    return (naive - before).replace(tzinfo=timezone.utc)


def _length_minutes(start: str, end: str) -> int:
    """Elapsed minutes from start to end by the wall clock; an end not after the start is the next day."""
    hours, minutes = map(int, start.split(":"))
    end_hours, end_minutes = map(int, end.split(":"))
    length = (end_hours * 60 + end_minutes) - (hours * 60 + minutes)
    return length if length > 0 else length + 24 * 60


def _session_days(weekday: str, monthly: str | None, first: date):
    """Local dates from `first` on (endless) that a session meets on."""
    if monthly is None:
        day = first
        while day.weekday() != WEEKDAYS.index(weekday):
            day += timedelta(days=1)
        while True:
            yield day
            day += timedelta(days=7)
    by_day = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)[WEEKDAYS.index(weekday)]
    for moment in rrule.rrule(rrule.MONTHLY, byweekday=by_day(ORDINALS[monthly]),
                              dtstart=datetime.combine(first, time())):
        yield moment.date()


def occurrences(weekday: str, start: str, end: str, tz_name: str, at: datetime, count: int,
                monthly: str | None = None) -> list[tuple[datetime, datetime]]:
    """The next `count` (start, end) UTC instants of a weekly or monthly session not yet ended at `at`."""
    tz = ZoneInfo(tz_name)
    hours, minutes = map(int, start.split(":"))
    length = timedelta(minutes=_length_minutes(start, end))
    # A session lasts under a day and a half even across a clock change, so starting two
    # days back cannot miss one still running.
    first = (at - timedelta(days=2)).astimezone(tz).date()
    found = []
    for day in _session_days(weekday, monthly, first):
        begins = local_to_instant(day, time(hours, minutes), tz)
        if begins + length > at:
            found.append((begins, begins + length))
            if len(found) == count:
                return found
    return found


def weekly_occurrences(weekday: str, start: str, end: str, tz_name: str, at: datetime, count: int):
    """The next `count` (start, end) UTC instants of a weekly session not yet ended at `at`."""
    return occurrences(weekday, start, end, tz_name, at, count)


def minutes_until(weekday: str, start: str, end: str, tz_name: str, at: datetime,
                  monthly: str | None = None) -> float:
    """Minutes from `at` to the session's next start; negative while one is running."""
    begins, _ends = occurrences(weekday, start, end, tz_name, at, 1, monthly)[0]
    return (begins - at).total_seconds() / 60


def transitions(tz_name: str, year: int) -> list[datetime]:
    """The instants (UTC, to the minute) a zone's offset changes in a year, found by bisection."""
    tz = ZoneInfo(tz_name)
    found = []
    moment = datetime(year, 1, 1, tzinfo=timezone.utc)
    step = timedelta(days=1)
    while moment.year == year:
        following = moment + step
        if _offset_at(moment, tz) != _offset_at(following, tz):
            low, high = moment, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if _offset_at(middle, tz) == _offset_at(low, tz):
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
        moment = following
    return found
