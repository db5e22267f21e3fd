"""The search as a specification: a slow, obvious reference over listings in memory.

Backends are checked against it, so it uses nothing of the service's own schedule,
distance or ordering code. Session times come from tests/oracle_time.py (RFC 5545 rules
worked by hand over zoneinfo's offsets, monthly days from python-dateutil), distances from
geopy's great circle (geopy's mean Earth radius, 6371.009 km, which the service says it
matches), and the order is written out below from the rules in the README and DESIGN:

* values within one parameter are alternatives, parameters combine with AND;
* audiences make tiers: without `audience`, listings for everyone first and those for
  particular groups after; with it, those groups first, then everyone, others left out;
* `time` with `day` makes (day, part of day) pairs on the searcher's clock: the searched
  place's zone, else the viewer's `tz`, else the listing's own; a session's wall-clock time
  is moved by the two zones' UTC offsets at the search moment (a clock change later in the
  week is not followed). Groups count by their start; services and helplines (opening
  hours) by any minute they are open in the part; 24/7 listings are in every part;
* `best` is nearness (a Gaussian decay: full weight within 1 km, half at 11 km; online or
  phone options that cover the place count as 8 km away), times 13 for a listing whose
  substances name an asked one ("any" does not count), ties by distance then id; with no
  place (and no words) the focus alone orders, then id;
* `soonest` is minutes to the next start (negative while running, 0 for 24/7), except that
  a session running with under 30 minutes left ranks as 120.5 minutes; ties by id.

Only the parsed query comes from the service (`service.search.params` turns the request into a
`SearchQuery`); the dataclasses are read as plain records. Text relevance is not restated:
`search_ids` refuses a query with words, and `matches` ignores them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from geopy.distance import great_circle

from service.domain.models import Listing, SearchQuery
from tests import oracle_time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Parts of the day by local start hour; starts between midnight and 05:00 are in none.
PARTS = {"morning": range(5, 12), "afternoon": range(12, 17), "evening": range(17, 24)}
REMOTE_FORMATS = {"online", "phone"}

# The ranking's numbers, restated from the README ("Rules worth knowing") and the ranking's
# documentation; a change there must be made here too, deliberately.
FULL_WEIGHT_WITHIN_KM = 1.0   # Gaussian offset
HALF_WEIGHT_FURTHER_KM = 10.0  # Gaussian scale: weight 0.5 at offset + scale
REMOTE_COUNTS_AS_KM = 8.0
FOCUS_MULTIPLIER = 13.0  # a listing for the asked substance itself
NEARLY_OVER_MINUTES = 30
NEARLY_OVER_RANKS_AS = 120.5  # after everything starting within two hours, before the rest


# -- Where -------------------------------------------------------------------------------

def distance_km(listing: Listing, query: SearchQuery) -> float | None:
    """geopy's great-circle kilometres from the searched place to the listing, None without either."""
    if query.place is None or listing.location is None:
        return None
    return great_circle((query.place.lat, query.place.lon), (listing.location.lat, listing.location.lon)).km


def reaches_remotely(listing: Listing, query: SearchQuery) -> bool:
    """An online or phone listing whose service area names the place's country or state, when
    the search did not ask for in-person options alone."""
    if query.formats and not REMOTE_FORMATS & set(query.formats):
        return False
    if not REMOTE_FORMATS & set(listing.formats):
        return False
    return bool(({query.place.country, query.place.state} - {None}) & set(listing.service_area))


# -- When --------------------------------------------------------------------------------

def occurrences(listing: Listing, at: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """The listing's next `count` (start, end) instants not ended at `at`, earliest start first."""
    found = []
    for s in listing.sessions:
        found += oracle_time.occurrences(s.weekday, s.start, s.end, listing.timezone, at, count, s.monthly)
    return sorted(found)[:count]


def running(listing: Listing, at: datetime) -> bool:
    """Open now: 24/7, or a session has started and not ended."""
    return listing.open_24_7 or any(start <= at < end for start, end in occurrences(listing, at, 1))


def minutes_until(listing: Listing, at: datetime) -> float | None:
    """Minutes to the next start (negative while one runs, 0 for 24/7, None without sessions)."""
    if listing.open_24_7:
        return 0.0
    upcoming = occurrences(listing, at, 1)
    return (upcoming[0][0] - at).total_seconds() / 60 if upcoming else None


def soonest_rank(listing: Listing, at: datetime) -> float:
    """The soonest sort's minutes: the best of every session running now (a nearly-over one
    counts as NEARLY_OVER_RANKS_AS) and the next start; 0 for 24/7; inf without sessions."""
    if listing.open_24_7:
        return 0.0
    ranks = []
    for s in listing.sessions:
        # Two occurrences: the one running now (if any) and the next after it.
        for start, end in oracle_time.occurrences(s.weekday, s.start, s.end, listing.timezone, at, 2, s.monthly):
            until = (start - at).total_seconds() / 60
            left = (end - at).total_seconds() / 60
            ranks.append(NEARLY_OVER_RANKS_AS if until < 0 and left < NEARLY_OVER_MINUTES else until)
    return min(ranks, default=math.inf)


# -- What --------------------------------------------------------------------------------

def tier(listing: Listing, query: SearchQuery) -> int | None:
    """0 first, 1 after, None left out."""
    if query.audiences:
        if set(query.audiences) & set(listing.audiences):
            return 0
        return 1 if "everyone" in listing.audiences else None
    return 0 if "everyone" in listing.audiences else 1


# A Monday to lay one week of wall-clock times on (any Monday would do: naive datetimes).
_MONDAY = datetime(2001, 1, 1)


def searcher_clock(listing: Listing, query: SearchQuery, weekday: str, hhmm: str) -> datetime:
    """A listing's weekly wall-clock time as read on the searcher's clock at `query.at`,
    laid on the week of _MONDAY (Monday 00:00 to Sunday 23:59)."""
    zone = (query.place.timezone if query.place else None) or query.viewer_tz or listing.timezone
    shift = query.at.astimezone(ZoneInfo(zone)).utcoffset() - query.at.astimezone(ZoneInfo(listing.timezone)).utcoffset()
    hours, minutes = map(int, hhmm.split(":"))
    moment = _MONDAY + timedelta(days=WEEKDAYS.index(weekday), hours=hours, minutes=minutes) + shift
    return _MONDAY + (moment - _MONDAY) % timedelta(days=7)


def in_slots(listing: Listing, query: SearchQuery) -> bool:
    """24/7; or a group starting, or another kind open, on one of the days (any day without
    `day`) in one of the parts, on the searcher's clock."""
    if listing.open_24_7:
        return True
    days = query.days or WEEKDAYS
    for s in listing.sessions:
        start = searcher_clock(listing, query, s.weekday, s.start)
        if listing.kind == "group":
            if any(WEEKDAYS[start.weekday()] in days and start.hour in PARTS[part] for part in query.times):
                return True
            continue
        # Elapsed length from the wall clock: an end at or before the start is the next day.
        length = datetime.strptime(s.end, "%H:%M") - datetime.strptime(s.start, "%H:%M")
        end = start + (length if length > timedelta(0) else length + timedelta(days=1))
        # Windows of this week and next Monday's, which a session open past Sunday night reaches.
        for day in range(8):
            date = _MONDAY + timedelta(days=day)
            if WEEKDAYS[date.weekday()] not in days:
                continue
            for part in query.times:
                opens = date + timedelta(hours=PARTS[part].start)
                closes = date + timedelta(hours=PARTS[part].stop)
                if start < closes and end > opens:
                    return True
    return False


def matches(listing: Listing, query: SearchQuery) -> bool:
    """True when the listing answers the query, its words (`q`) aside."""
    goals = set(query.goals) - {"undecided"}  # undecided welcomes every option
    if listing.status != "active":
        return False
    if query.formats and not set(query.formats) & set(listing.formats):
        return False
    if goals and not goals & set(listing.goals):
        return False
    if query.substances and not (set(query.substances) | {"any"}) & set(listing.substances):
        return False
    if query.kinds and listing.kind not in query.kinds:
        return False
    if query.approaches and listing.approach not in query.approaches:
        return False
    if tier(listing, query) is None:
        return False
    if query.languages and not set(query.languages) & set(listing.languages):
        return False
    if query.times:
        if not in_slots(listing, query):
            return False
    elif query.days and not {s.weekday for s in listing.sessions} & set(query.days):
        return False
    if query.place:
        distance = distance_km(listing, query)
        if not ((distance is not None and distance <= query.radius_km) or reaches_remotely(listing, query)):
            return False
    if query.open_now and not running(listing, query.at):
        return False
    if query.starts_within is not None:
        wait = minutes_until(listing, query.at)
        if wait is None or wait > query.starts_within:
            return False
    return True


# -- In which order ----------------------------------------------------------------------

def nearness(km: float) -> float:
    """Elasticsearch's `gauss` decay: 1 within the offset, 0.5 at offset + scale."""
    sigma_squared = HALF_WEIGHT_FURTHER_KM ** 2 / (2 * math.log(2))
    excess = max(0.0, km - FULL_WEIGHT_WITHIN_KM)
    return math.exp(-excess ** 2 / (2 * sigma_squared))


def focus(listing: Listing, query: SearchQuery) -> float:
    """FOCUS_MULTIPLIER when the listing's substances name an asked one other than "any", else 1."""
    return FOCUS_MULTIPLIER if (set(query.substances) - {"any"}) & set(listing.substances) else 1.0


def sort_key(listing: Listing, query: SearchQuery) -> tuple:
    """Where a matching listing goes: tier first, then the sort's own key, then id."""
    distance = distance_km(listing, query)
    far = math.inf if distance is None else distance
    if query.sort == "soonest":
        return (tier(listing, query), soonest_rank(listing, query.at), listing.id)
    if query.place is None:
        # Nothing to be near: best is the substance focus alone, distance is by id.
        return (tier(listing, query), -focus(listing, query), listing.id)
    if query.sort == "distance":
        return (tier(listing, query), far, listing.id)
    effective = min(far, REMOTE_COUNTS_AS_KM) if reaches_remotely(listing, query) else far
    # Scores compare to nine decimals, so two listings a hair apart in nearness tie on score
    # and fall back to distance, as they do in every store.
    return (tier(listing, query), -round(nearness(effective) * focus(listing, query), 9), far, listing.id)


def search_ids(listings, query: SearchQuery) -> list[str]:
    """Ids of every matching listing, in the query's order."""
    if query.text:
        raise ValueError("text relevance is not restated here; compare searches with words by set")
    return [x.id for x in sorted((x for x in listings if matches(x, query)), key=lambda x: sort_key(x, query))]
