"""When sessions happen: next occurrences of weekly and monthly sessions, with zoneinfo.

Rules at daylight-saving changeovers (those of RFC 5545, which calendar apps follow):

* A start time that does not exist on the day clocks go forward (02:30 in Sydney on the
  first Sunday of October) is read with the offset from before the gap, so the session
  starts after the gap: 02:30 AEST is 03:30 AEDT.
* A start time that happens twice on the day clocks go back (02:30 in Sydney on the first
  Sunday of April) means the first of the two (the daylight-saving one).
* A session lasts as long as it usually does in elapsed time: a 90-minute meeting ends
  90 minutes after it starts, whatever the wall clock did in between.

Pure functions: "now" is always passed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from service.domain import vocab
from service.domain.models import Listing, Occurrence, Session

_WEEKDAY_INDEX = {name: i for i, name in enumerate(vocab.WEEKDAYS)}
_MONTHLY_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4}
MINUTES_PER_WEEK = 7 * 24 * 60

# How far ahead to look: three weekly sessions fit in three weeks; three monthly ones in
# about three months (a "last Saturday" can be 35 days after the previous one).
_WEEKLY_HORIZON_DAYS = 22
_MONTHLY_HORIZON_DAYS = 7 * 15


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name (cached: listings share a handful of zones)."""
    return ZoneInfo(name)


def minutes(hhmm: str) -> int:
    """Minutes since midnight of an "HH:MM" string."""
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def hhmm(minute_of_day: int) -> str:
    """The "HH:MM" string of minutes since midnight (the inverse of `minutes`)."""
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def duration_minutes(session: Session) -> int:
    """Length of a session; an end before the start runs past midnight."""
    length = minutes(session.end) - minutes(session.start)
    return length if length > 0 else length + 24 * 60


def minute_of_week(session: Session) -> int:
    """Start of a session as minutes since Monday 00:00 local time."""
    return _WEEKDAY_INDEX[session.weekday] * 24 * 60 + minutes(session.start)


def matches_monthly_rule(day: date, rule: str | None) -> bool:
    """True when `day` is the rule's occurrence of its weekday in the month."""
    if rule is None:
        return True
    if rule == "last":
        return (day + timedelta(days=7)).month != day.month
    return (day.day - 1) // 7 + 1 == _MONTHLY_INDEX[rule]


def wall_to_aware(day: date, at_time: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as an aware datetime, resolving gaps and folds by the rules above."""
    naive = datetime.combine(day, at_time)
    # fold=0 gives the earlier offset for a repeated time and the pre-gap offset for a
    # missing one; the round trip through UTC then names the real instant.
    aware = naive.replace(tzinfo=tz, fold=0)
    return aware.astimezone(timezone.utc).astimezone(tz)


def session_occurrences(session: Session, tz_name: str, at: datetime, count: int) -> list[Occurrence]:
    """The next `count` occurrences of one session not yet ended at `at` (in progress included)."""
    tz = zone(tz_name)
    local_now = at.astimezone(tz)
    weekday = _WEEKDAY_INDEX[session.weekday]
    start_time = time.fromisoformat(session.start)
    length = timedelta(minutes=duration_minutes(session))
    horizon = _MONTHLY_HORIZON_DAYS if session.monthly else _WEEKLY_HORIZON_DAYS
    found: list[Occurrence] = []
    # Start from the day before yesterday: a session that began then may still be running
    # (a whole day's, begun late, that the clocks went forward under).
    day = local_now.date() - timedelta(days=2)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    last_day = local_now.date() + timedelta(days=horizon)
    while day <= last_day and len(found) < count:
        if matches_monthly_rule(day, session.monthly):
            start = wall_to_aware(day, start_time, tz)
            end = (start.astimezone(timezone.utc) + length).astimezone(tz)
            if end > at:
                found.append(Occurrence(start=start, end=end, in_progress=start <= at))
        day += timedelta(days=7)
    return found


def next_occurrences(listing: Listing, at: datetime, count: int = 3) -> tuple[Occurrence, ...]:
    """The listing's next `count` sessions from `at`, earliest first (ties by end).

    Walks local dates from the day before yesterday (a session begun late then may still
    run: a day long, with the clocks gone forward under it) and stops
    after the day that completes `count`: later days can only hold later starts.
    """
    return timetable_occurrences(listing.timezone, listing.sessions, at, count)


def timetable_occurrences(tz_name: str, sessions: tuple[Session, ...], at: datetime,
                          count: int) -> tuple[Occurrence, ...]:
    """next_occurrences of a timetable: sessions in a zone, whatever listing holds them."""
    if not sessions:
        return ()
    # Keyed by the instant in UTC: two datetimes in one zone on either side of a fold
    # compare equal, yet are different moments.
    return _timetable_occurrences(tz_name, sessions, at.astimezone(timezone.utc), count)


# The answer depends only on the zone, the sessions and the moment, so it is kept for
# whoever asks next: many listings share a timetable (Mondays 19:00-20:30 in Sydney), and
# every search within a minute asks from the same `at` (a whole minute unless pinned).
@lru_cache(maxsize=16384)
def _timetable_occurrences(tz_name: str, sessions: tuple[Session, ...], at: datetime,
                           count: int) -> tuple[Occurrence, ...]:
    if not any(s.monthly for s in sessions):
        offset = steady_offset(tz_name, at)
        if offset is not None:
            return _steady_weekly_occurrences(tz_name, sessions, at, count, offset)
    tz = zone(tz_name)
    by_weekday: dict[int, list[Session]] = {}
    for session in sessions:
        by_weekday.setdefault(_WEEKDAY_INDEX[session.weekday], []).append(session)
    horizon = _MONTHLY_HORIZON_DAYS if any(s.monthly for s in sessions) else _WEEKLY_HORIZON_DAYS
    today = at.astimezone(tz).date()
    found: list[Occurrence] = []
    for offset in range(-2, horizon + 1):
        day = today + timedelta(days=offset)
        for session in by_weekday.get(day.weekday(), ()):
            if not matches_monthly_rule(day, session.monthly):
                continue
            start = wall_to_aware(day, time.fromisoformat(session.start), tz)
            end = (start.astimezone(timezone.utc) + timedelta(minutes=duration_minutes(session))).astimezone(tz)
            if end > at:
                found.append(Occurrence(start=start, end=end, in_progress=start <= at))
        if len(found) >= count:
            break
    found.sort(key=lambda occ: (occ.start, occ.end))
    return tuple(found[:count])


# How far after `at` a zone's offset must hold for _steady_weekly_occurrences: past the
# last day next_occurrences looks at, plus the longest session (under a day); before `at`,
# from the day before local yesterday (zones are at most 14 hours from UTC), as
# clock_changes reads (_SHIFT_BEFORE).
_STEADY_AFTER = timedelta(days=_WEEKLY_HORIZON_DAYS + 3)
_STEADY_STEP = timedelta(hours=1)


def steady_offset(tz_name: str, at: datetime) -> timedelta | None:
    """The zone's UTC offset when it holds throughout the weeks next_occurrences reads for
    weekly sessions around `at`, else None (a clock change falls in them)."""
    hour = at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return _steady_offset(tz_name, hour)


@lru_cache(maxsize=1024)
def _steady_offset(tz_name: str, hour: datetime) -> timedelta | None:
    # The changes clock_changes found for this hour (its span starts where this window does
    # and ends after it), those within the window.
    last = hour + _STEADY_AFTER
    if any(instant <= last for instant, _, _ in _clock_changes(tz_name, hour)):
        return None
    return hour.astimezone(zone(tz_name)).utcoffset()


@lru_cache(maxsize=4096)
def _session_minutes(start: str, end: str) -> tuple[int, int]:
    """(start minute of the day, duration in minutes) of a session's "HH:MM" times."""
    first = minutes(start)
    length = minutes(end) - first
    return first, length if length > 0 else length + 24 * 60


def _steady_weekly_occurrences(tz_name: str, sessions: tuple[Session, ...], at: datetime, count: int,
                               offset: timedelta) -> tuple[Occurrence, ...]:
    """next_occurrences for weekly sessions in a zone whose offset holds over the window.

    With one offset, wall-clock time is UTC shifted, so no gap or fold can occur: the same
    occurrences as the calendar walk (same horizon, same "not yet ended" test, same
    order), found with integer arithmetic on minutes from local midnight; datetimes are
    built only for the `count` returned.
    """
    tz = zone(tz_name)
    local_now = at.astimezone(timezone.utc).replace(tzinfo=None) + offset
    today = local_now.date()
    midnight = datetime.combine(today, time())
    # `at` as microseconds since local midnight: compared exactly with whole minutes.
    now_us = (local_now - midnight) // timedelta(microseconds=1)
    today_weekday = today.weekday()
    found: list[tuple[int, int]] = []
    for session in sessions:
        start_minute, length = _session_minutes(session.start, session.end)
        # The first matching day from yesterday on, then every week up to the horizon.
        day = -1 + (_WEEKDAY_INDEX[session.weekday] - today_weekday + 1) % 7
        while day <= _WEEKLY_HORIZON_DAYS:
            start = day * 1440 + start_minute
            if (start + length) * 60_000_000 > now_us:
                found.append((start, start + length))
            day += 7
    found.sort()
    # Aware arithmetic is wall-clock arithmetic in one zone: exact here, with one offset.
    local_midnight = midnight.replace(tzinfo=tz)
    return tuple(
        Occurrence(start=local_midnight + timedelta(minutes=start), end=local_midnight + timedelta(minutes=end),
                   in_progress=start * 60_000_000 <= now_us)
        for start, end in found[:count]
    )


def is_open(listing: Listing, occurrences: tuple[Occurrence, ...]) -> bool:
    """Open now: a 24/7 service, or a session in progress (`occurrences` as next_occurrences
    gives them: earliest start first, so one in progress, begun before the moment, is first)."""
    return listing.open_24_7 or (bool(occurrences) and occurrences[0].in_progress)


def minutes_until(listing: Listing, at: datetime) -> float | None:
    """Minutes from `at` to the next start (negative when in progress; 0 when open 24/7; None when unscheduled)."""
    if listing.open_24_7:
        return 0.0
    return timetable_minutes_until(listing.timezone, listing.sessions, at)


def timetable_minutes_until(tz_name: str, sessions: tuple[Session, ...], at: datetime) -> float | None:
    """minutes_until of a timetable that is not open 24/7 (None without sessions)."""
    upcoming = timetable_occurrences(tz_name, sessions, at, count=1)
    if not upcoming:
        return None
    return (upcoming[0].start - at).total_seconds() / 60.0


def local_minute_of_week(at: datetime, tz_name: str) -> float:
    """`at` as minutes (with fractions) since Monday 00:00 in the given zone's wall clock."""
    local = at.astimezone(zone(tz_name))
    return (local.weekday() * 24 * 60 + local.hour * 60 + local.minute
            + (local.second + local.microsecond / 1e6) / 60.0)


def offset_shift_minutes(at: datetime, tz_name: str) -> float:
    """How far a zone's UTC offset moves from `at`'s over the changes from a day before `at`
    to eight days after, at most (in minutes).

    Zero for most weeks of the year: then a weekly session's wall-clock distance from
    `at` is its exact distance, and no exact calendar work is needed to order by it. (Not
    the offsets at the two ends alone: two changes between them that cancel out, as a
    week-long summer time did, would read as none.)
    """
    first, last = at - timedelta(days=1), at + timedelta(days=8)
    return _largest_move(tz_name, at, [change for change in clock_changes(tz_name, at) if first < change[0] <= last])


# The span whose wall times a session's next start (or the one still running) can fall in,
# around a moment: from the day before local yesterday to past five weeks ahead (a monthly
# session's next start can be four weeks after this week's; a weekly one's, a week).
_SHIFT_BEFORE = timedelta(days=3)
_SHIFT_AFTER = timedelta(days=38)


def clock_changes(tz_name: str, at: datetime) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    """The zone's changes of UTC offset from three days before `at` to 38 days after, each
    as (instant in UTC, offset before, offset from then on), to the second."""
    hour = at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return _clock_changes(tz_name, hour)


@lru_cache(maxsize=1024)
def _clock_changes(tz_name: str, hour: datetime) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    # Sampled every hour (changes are months apart), then the hour that holds one halved
    # down to the second; cached per zone and hour, as _steady_offset is.
    tz = zone(tz_name)
    found = []
    moment, last = hour - _SHIFT_BEFORE, hour + _SHIFT_AFTER
    offset = moment.astimezone(tz).utcoffset()
    while moment < last:
        following = moment + _STEADY_STEP
        then = following.astimezone(tz).utcoffset()
        if then != offset:
            low, high = 0, int(_STEADY_STEP.total_seconds())  # offset at low, `then` at high
            while high - low > 1:
                middle = (low + high) // 2
                if (moment + timedelta(seconds=middle)).astimezone(tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append((moment + timedelta(seconds=high), offset, then))
            offset = then
        moment = following
    return tuple(found)


def wall_shift(tz_name: str, at: datetime) -> tuple[int, int, int] | None:
    """How elapsed time follows a zone's wall clock over the span a session's next start
    falls in (a monthly one's included): (change, before, after) such that a start `delta`
    wall minutes after `at`'s whole local minute comes `delta + before` elapsed minutes
    after that minute when `delta < change`, else `delta + after` (read as wall_to_aware
    reads gaps and folds: a time in a gap or a fold takes the offset from before the
    change). (0, 0, 0) when the
    offset holds; None when it changes more than once then, or not by whole minutes.

    Engines compute exact next starts in a changeover week with it (queries._LOWER_BOUND),
    where a bound lowered by the change (session_lower_bound's slack) would leave every
    listing of the zone to be settled in Python."""
    changes = clock_changes(tz_name, at)
    if not changes:
        return (0, 0, 0)
    if len(changes) > 1:
        return None
    instant, before, after = changes[0]
    local = at.astimezone(zone(tz_name))
    now = local.replace(tzinfo=None, second=0, microsecond=0)
    # Wall times up to the later of the two readings of the change's instant take the offset
    # from before it (fold=0): the missing hour of a gap, the first pass of a fold.
    change = instant.replace(tzinfo=None) + max(before, after) - now
    current = local.utcoffset()
    parts = (change, current - before, current - after)
    if any(part % timedelta(minutes=1) for part in parts):
        return None
    return tuple(part // timedelta(minutes=1) for part in parts)


def shift_slack(tz_name: str, at: datetime) -> float:
    """The most a zone's wall clock parts from elapsed time over the span wall_shift reads,
    in minutes: the slack of session_lower_bound where wall_shift has no answer."""
    return _largest_move(tz_name, at, clock_changes(tz_name, at))


def _largest_move(tz_name: str, at: datetime, changes) -> float:
    """The most the offsets either side of `changes` (clock_changes') part from `at`'s, in
    minutes; 0 without changes."""
    current = at.astimezone(zone(tz_name)).utcoffset()
    offsets = [offset for _, before, after in changes for offset in (before, after)]
    return max((abs((offset - current).total_seconds()) / 60.0 for offset in offsets), default=0.0)


def session_lower_bound(start_mow: int, duration: int, now_mow: float, slack: float = 0.0) -> float:
    """A lower bound on minutes until a weekly session next starts (negative while it may be
    running), from wall-clock minutes of the week alone: no calendar needed.

    `slack` is the zone's clock change around `now` (`offset_shift_minutes`, 0 in most weeks).
    Across a change the wall clock and elapsed time part by that much either way: a session
    that by the wall clock ended minutes ago may still be running (clocks went forward under
    it), and one that starts in N wall minutes may start in N - slack. So with slack a session
    counts as possibly running for `slack` more minutes, and every bound is lowered by it;
    with no slack the bound is exact for weekly sessions. Backends compute the same in bulk
    (SQLite: `backends.columns.lower_bounds`; engines: the Painless in `backends.queries`).
    """
    since_start = (now_mow - start_mow) % MINUTES_PER_WEEK
    if since_start < duration + slack:
        return -since_start - slack
    return MINUTES_PER_WEEK - since_start - slack
