"""HSDS schedules (3.0 iCal rules, 1.x weekdays) as a listing's sessions, and the listing's
time zone (see the package text for what can be read)."""

from __future__ import annotations

import re

from indexers.records import Problem, ReadOptions, shorten
from indexers.sources.hsds.rows import as_number, as_text, row_prefix, row_problems
from service.domain import vocab
from service.domain.schemas import MAX_SESSIONS
from service.domain.schedule import hhmm
from service.domain.zones import known_zone

_DAY_CODES = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat", "SU": "sun"}
_DAY_PREFIXES = {"mon": "mon", "tue": "tue", "wed": "wed", "thu": "thu", "fri": "fri", "sat": "sat", "sun": "sun"}
# HSDS 1.x gives no numbering for `weekday`; Ohana (which HSDS 1.0 grew from) stores ISO 8601
# numbers, Monday = 1 ... Sunday = 7. 0 can only mean a Sunday-first count's Sunday, and in
# such a count 1-6 are Monday-Saturday too, so only a Sunday = 1 count would be misread.
_ISO_WEEKDAYS = {0: "sun", 1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}
_MONTHLY = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_RULE_DAY = re.compile(r"^([+-]?\d{1,2})?([A-Z]{2})$")
_TIME = re.compile(
    r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?::\d{2}(?:\.\d+)?)?\s*(?:(?P<ap>[ap])\.?\s*m?\.?)?$")
_COMPACT_TIME = re.compile(r"^(?P<h>\d{1,2})(?P<m>\d{2})\s*(?:(?P<ap>[ap])\.?\s*m?\.?)?$")
# "Z" or "+01:00" after a time: see _parse_time for why it is dropped.
_OFFSET = re.compile(r"(?<=\d)\s*(z|[+-]\d{2}(:?\d{2})?)$")


def schedule_into(data: dict, rows: list[dict], options: ReadOptions, place: dict | None,
                   problems: list[Problem]) -> Problem | None:
    """Put sessions, open_24_7 and timezone into `data`; a Problem when the listing cannot
    load (no time zone at all). Bad schedule rows are dropped with a problem each."""
    sessions: list[dict] = []
    all_day: set[str] = set()
    for row in rows:
        problems.extend(row_problems(row))
        got = _row_sessions(row, problems)
        for session in got:
            if session.get("all_day"):
                all_day.add(session["weekday"])
            else:
                sessions.append(session)
    if len(all_day) == 7:
        data["open_24_7"] = True
    else:
        # A day open round the clock, but not every day: as near as a session gets.
        sessions.extend({"weekday": day, "start": "00:00", "end": "23:59"} for day in vocab.WEEKDAYS if day in all_day)
    unique = list({tuple(sorted(s.items())): s for s in sessions}.values())
    unique.sort(key=lambda s: (vocab.WEEKDAYS.index(s["weekday"]), s["start"], s.get("monthly") or ""))
    if len(unique) > MAX_SESSIONS:
        problems.append(Problem(schedule_table(rows), f"{len(unique)} sessions; only the first {MAX_SESSIONS} kept"))
        unique = unique[:MAX_SESSIONS]
    if unique:
        data["sessions"] = unique
    zone = _zone(rows, options, place)
    if zone is None:
        return Problem(f"{schedule_table(rows)}.timezone", "no time zone: the feed gives none and none was "
                       "configured (set the source's timezone, e.g. America/New_York)")
    data["timezone"] = zone
    return None


def schedule_table(rows: list[dict]) -> str:
    """The schedule table as the feed names it: HSDS 1.x's `regular_schedule` (rows with a
    `weekday`), else 3.0's `schedule` (iCal rules, and the name when there are no rows)."""
    if rows and all(_is_weekday_row(row) for row in rows):
        return "regular_schedule"
    return "schedule"


def _is_weekday_row(row: dict) -> bool:
    """True for an HSDS 1.x row, which gives a `weekday` rather than an iCal rule."""
    return "weekday" in row and not as_text(row.get("freq")) and not as_text(row.get("byday"))


def _zone(rows: list[dict], options: ReadOptions, place: dict | None) -> str | None:
    """The listing's IANA zone: one named in the data, else the configured one, else (in
    Australia) the zone of the state. HSDS 3.0's schedule `timezone` is a number of hours
    from UTC; a fixed offset is wrong for half of each year wherever clocks change, so a
    number is never turned into a zone."""
    for row in rows:
        # `linkage_timezone`: the IANA zone Linkage's own HSDS export keeps beside the spec's
        # numeric offset (left out there), so a re-import keeps Lord Howe on its half hour.
        for key in ("timezone", "linkage_timezone"):
            name = as_text(row.get(key))
            if name and known_zone(name):
                return name
    if options.timezone and known_zone(options.timezone):
        return options.timezone
    if place and place.get("country") == "AU":
        return vocab.STATES.get((place.get("state") or "").upper())
    return None


def _row_sessions(row: dict, problems: list[Problem]) -> list[dict]:
    """Sessions from one schedule row (3.0 iCal rule or 1.x weekday); [] with a problem when
    the row cannot be read, [] silently for a row that says the place is closed."""
    where = row_prefix(row)
    table = "regular_schedule" if _is_weekday_row(row) else "schedule"
    closed = (as_text(row.get("closed")) or "").casefold()
    opens_text, closes_text = as_text(row.get("opens_at")), as_text(row.get("closes_at"))
    if closed in ("true", "1", "yes") or (opens_text or "").casefold() == "closed":
        return []

    def bad(column: str, message: str, value=None) -> list[dict]:
        # Named by the schedule's own table and column ("schedule.byday"), as the feed has them.
        problems.append(Problem(f"{table}.{column}", f"{where}{message}; this schedule is left out",
                                shorten(value) if value is not None else None))
        return []

    days: list[tuple[str, str | None]] = []  # (weekday, monthly rule)
    freq = (as_text(row.get("freq")) or "").upper()
    byday = as_text(row.get("byday"))
    if freq or byday:
        if freq not in ("", "WEEKLY", "MONTHLY", "DAILY"):
            return bad("freq", f"frequency {freq} cannot be shown as weekly or monthly sessions", freq)
        interval = as_number(row.get("interval"))
        if interval is not None and interval != 1:
            # "every 2 weeks" needs a start date to know which weeks; sessions have none.
            return bad("interval", "repeats at an interval other than 1", row.get("interval"))
        if freq == "MONTHLY" and not byday:
            return bad("bymonthday", "monthly by day of the month (bymonthday) cannot be shown", row.get("bymonthday"))
        ignored = [k for k in ("byweekno", "byyearday", "bymonthday") if as_text(row.get(k))]
        if ignored:
            # RFC 5545 allows these only with other frequencies (or, for bymonthday, instead of
            # byday): read the weekly/monthly rule and say what was ignored.
            problems.append(Problem(f"{table}.{ignored[0]}", f"{where}ignored {', '.join(ignored)}: not usable in a "
                                    f"{freq or 'WEEKLY'} rule with byday", byday))
        if freq == "DAILY" and not byday:
            days = [(day, None) for day in vocab.WEEKDAYS]
        for token in (byday or "").replace(";", ",").split(","):
            token = token.strip().upper()
            if not token:
                continue
            match = _RULE_DAY.match(token)
            weekday = _DAY_CODES.get(match.group(2)) if match else _weekday_name(token)
            if weekday is None:
                return bad("byday", "byday is not a list of MO, TU, ... (with 1-4 or -1 before a day when monthly)",
                           byday)
            ordinal = int(match.group(1)) if match and match.group(1) else None
            if ordinal is None:
                days.append((weekday, None))
            elif freq != "MONTHLY":
                return bad("byday", f"{token} (an occurrence in the month) needs freq MONTHLY", byday)
            elif ordinal not in _MONTHLY:
                return bad("byday", f"{token}: only the 1st-4th and last (-1) weekday of a month can be shown", byday)
            else:
                days.append((weekday, _MONTHLY[ordinal]))
        if not days:
            return bad("byday", "no days given (byday)", byday)
    elif "weekday" not in row:
        return bad("byday", "no days given (byday)")
    else:
        raw_day = row.get("weekday")
        weekday = _weekday_value(raw_day)
        if weekday is None:
            return bad("weekday", "weekday is not a day name or a number 1-7 (Monday = 1)", raw_day)
        days = [(weekday, None)]

    if not opens_text or not closes_text:
        return bad("opens_at" if not opens_text else "closes_at", "no opening or closing time",
                   row.get("original_text") or opens_text or closes_text)
    opens, closes = _parse_time(opens_text), _parse_time(closes_text)
    if opens is None or closes is None:
        return bad("opens_at" if opens is None else "closes_at", "times are not like 09:00, 09:00:00 or 9:00 AM",
                   f"{opens_text}-{closes_text}")
    start, start_meridiem = opens
    end, end_meridiem = closes
    if start_meridiem and not end_meridiem and end <= start and end + 720 > start and end < 720:
        # "9:00am-5:00": a 12-hour writer who left out "pm" on the closing time only.
        end += 720
    if start == 1440:
        return bad("opens_at", "opens at 24:00", opens_text)
    if end == 1440:
        end = 0  # closes at midnight: an end before the start means "after midnight"
    if start == end and start != 0:
        return bad("closes_at", "opens and closes at the same time", f"{opens_text}-{closes_text}")
    if start == 0 and end in (0, 1439):
        # Open round the clock that day (00:00-00:00, 00:00-24:00 or 00:00-23:59).
        return [{"weekday": day, "all_day": True} if monthly is None else _session(day, 0, 1439, monthly)
                for day, monthly in days]
    return [_session(day, start, end, monthly) for day, monthly in days]


def _session(day: str, start: int, end: int, monthly: str | None) -> dict:
    session = {"weekday": day, "start": hhmm(start), "end": hhmm(end)}
    if monthly:
        session["monthly"] = monthly
    return session


def _weekday_name(text: str) -> str | None:
    key = re.sub(r"[^a-z]", "", text.casefold())[:3]
    return _DAY_PREFIXES.get(key) if len(key) == 3 else None


def _weekday_value(value) -> str | None:
    number = as_number(value)
    if number is not None:
        return _ISO_WEEKDAYS.get(int(number)) if number == int(number) else None
    text = as_text(value)
    return _weekday_name(text) if text else None


def _parse_time(text: str) -> tuple[int, bool] | None:
    """(minutes after midnight, written with am/pm?) from "09:00", "09:00:00", "9:00 AM", "9am",
    "830am", "noon". A "Z" or "+01:00" suffix is dropped: HSDS asks for one, but feeds write
    local opening hours ("9am to 12pm" as 09:00:00Z in the spec's own example), and turning
    a fixed offset into local time would be wrong across daylight-saving changes."""
    clean = _OFFSET.sub("", text.strip().casefold()).strip()
    if clean == "noon":
        return 720, True
    if clean == "midnight":
        return 0, True
    match = _TIME.match(clean) or _COMPACT_TIME.match(clean)
    if not match or (match.group("m") is None and not match.group("ap")):
        return None
    hour, minute = int(match.group("h")), int(match.group("m") or 0)
    meridiem = match.group("ap")
    if minute > 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "p" else 0)
        return hour * 60 + minute, True
    if hour > 24 or (hour == 24 and minute):
        return None
    return hour * 60 + minute, False
