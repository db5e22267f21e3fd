"""The `time` filter's rule (with `day`), which every store applies alike.

`time` (with `day`: (weekday, part of day) pairs) is judged on the clock of the person
searching: the searched place's zone, else the viewer's (`tz`), else the listing's own.
A session's weekly wall-clock start is moved into that zone by the two zones' UTC offsets
at the search moment `query.at`. A clock change in the coming week is not followed: a
session after it is judged up to that change (an hour, Lord Howe's half hour) off, the
price of a rule every store can apply with one number per zone. Groups match a part of
the day they start in; services and helplines (their sessions are opening hours) one they
are open at any time in; 24/7 listings every part.

The SQLite columns (`sqlite.columns.in_time`) and the engine's script
(`engine.queries.time_clause`) compile `session_in_windows` over `time_windows` and
`zone_shifts`; `listing_in_time` is the same rule for one listing, the reference both are
tested against.
"""

from __future__ import annotations

from service.domain import schedule, vocab
from service.domain.models import Listing, SearchQuery

_PARTS = tuple((schedule.minutes(start), schedule.minutes(until) if until != "24:00" else 24 * 60)
               for start, until in vocab.PARTS_OF_DAY.values())
_PART_BOUNDS = dict(zip(vocab.PARTS_OF_DAY, _PARTS))


def part_of_day(start: str) -> str | None:
    """The part of the day ("morning" ...) a "HH:MM" start falls in; None before 05:00."""
    minute = schedule.minutes(start)
    return next((part for part, (begin, end) in _PART_BOUNDS.items() if begin <= minute < end), None)


def search_zone(query: SearchQuery) -> str | None:
    """The zone `time` is judged in: the searched place's, else the viewer's; None for each
    listing's own."""
    return (query.place.timezone if query.place else None) or query.viewer_tz


def time_windows(query: SearchQuery) -> tuple[tuple[int, int], ...]:
    """The [from, until) minutes of the week (in the search zone) that `time` asks for, on
    its days (every day without `day`); () without `time`."""
    if not query.times:
        return ()
    day_length = 24 * 60
    return tuple(
        (vocab.WEEKDAYS.index(day) * day_length + _PART_BOUNDS[part][0],
         vocab.WEEKDAYS.index(day) * day_length + _PART_BOUNDS[part][1])
        for day in vocab.WEEKDAYS if day in (query.days or vocab.WEEKDAYS)
        for part in vocab.TIMES_OF_DAY if part in query.times
    )


def utc_offset_minutes(at, zone_name: str) -> int:
    """A zone's UTC offset at `at`, in whole minutes."""
    return int(at.astimezone(schedule.zone(zone_name)).utcoffset().total_seconds() // 60)


def zone_shifts(query: SearchQuery, zones) -> dict[str, int]:
    """Minutes to add to a wall-clock time in each listing zone to read it on the search
    zone's clock at `query.at`; 0 everywhere when each listing keeps its own."""
    target = search_zone(query)
    if target is None:
        return dict.fromkeys(zones, 0)
    here = utc_offset_minutes(query.at, target)
    return {z: here - utc_offset_minutes(query.at, z) for z in zones}


def session_in_windows(start_mow: int, duration: int, shift: int, opening_hours: bool,
                       windows) -> bool:
    """Whether a weekly session, moved `shift` minutes onto the search zone's clock, falls in
    one of `windows`: its start (groups), or any minute it is open (opening hours)."""
    week = schedule.MINUTES_PER_WEEK
    start = (start_mow + shift) % week
    for lo, hi in windows:
        if not opening_hours:
            if lo <= start < hi:
                return True
        # Open past the end of the week reaches into next Monday's windows too.
        elif start < hi and start + duration > lo or start + duration > lo + week:
            return True
    return False


def listing_in_time(listing: Listing, query: SearchQuery) -> bool:
    """`time` (and `day` with it) for one listing, as every store applies it."""
    windows = time_windows(query)
    if not windows or listing.open_24_7:
        return True
    shift = zone_shifts(query, (listing.timezone,))[listing.timezone]
    return any(
        session_in_windows(schedule.minute_of_week(s), schedule.duration_minutes(s), shift,
                           listing.kind != "group", windows)
        for s in listing.sessions
    )
