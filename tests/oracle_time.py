"""Session times worked out from first principles, to check service.schedule against.

Nothing here imports the implementation. A weekly session is a local wall-clock time on a
weekday; its instant is found by asking zoneinfo only for the UTC offset in force at given
instants (the one question a time-zone database answers without interpretation) and
applying RFC 5545's rules by hand:

* a wall time that happens once: the instant whose local reading is that wall time;
* a wall time that happens twice (clocks went back): the first instant;
* a wall time that never happens (clocks went forward): read with the offset in force
  before the gap, which lands after the gap.

A session lasts its usual length in elapsed time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _offset_at(instant: datetime, tz: ZoneInfo) -> timedelta:
    """The UTC offset in force at an instant (a UTC datetime)."""
    return instant.astimezone(tz).utcoffset()


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


def weekly_occurrences(weekday: str, start: str, end: str, tz_name: str, at: datetime, count: int):
    """The next `count` (start, end) UTC instants of a weekly session not yet ended at `at`."""
    tz = ZoneInfo(tz_name)
    hours, minutes = map(int, start.split(":"))
    end_hours, end_minutes = map(int, end.split(":"))
    length = (end_hours * 60 + end_minutes) - (hours * 60 + minutes)
    if length <= 0:
        length += 24 * 60  # runs past midnight
    day = (at - timedelta(days=8)).astimezone(tz).date()
    while day.weekday() != WEEKDAYS.index(weekday):
        day += timedelta(days=1)
    found = []
    while len(found) < count:
        begins = local_to_instant(day, time(hours, minutes), tz)
        ends = begins + timedelta(minutes=length)
        if ends > at:
            found.append((begins, ends))
        day += timedelta(days=7)
    return found


def minutes_until(weekday: str, start: str, end: str, tz_name: str, at: datetime) -> float:
    """Minutes from `at` to the session's next start; negative while one is running."""
    begins, _ends = weekly_occurrences(weekday, start, end, tz_name, at, 1)[0]
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
