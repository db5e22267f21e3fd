"""How results are ordered: the one definition of `sort=best`, `distance` and `soonest`.

Pure functions and the weights in `RANKING`. The SQLite store and the engine's query bodies
compile their orderings from these, so both backends rank alike; `order_key` is the same
order written out for results ordered in Python. Nothing here says why a listing fits; that
is `service.search.reasons`, after the backend.
"""

from __future__ import annotations

import math
from datetime import datetime

from service.domain import schedule
from service.domain.models import Hit, Listing, SearchQuery, Session

RANKING = {
    # Gaussian decay on distance (as Elasticsearch's `gauss`): full weight within the
    # offset, half weight at offset + scale. 10 km is a short trip in a city.
    "distance_offset_km": 1.0,
    "distance_scale_km": 10.0,
    "distance_decay": 0.5,
    # An online or phone option counts as if it were this far away: close enough to sit
    # among nearby groups, so a list always offers one, but not above the nearest ones.
    "remote_equivalent_km": 8.0,
    # Text relevance multiplies the score by up to 1 + text_weight.
    "text_weight": 1.0,
    # A listing for an asked substance itself (its substances name it; "any" does not count)
    # has its score multiplied by 1 + focus_weight. Nearness falls to 0.082 at 20 km, so
    # 13 x 0.082 = 1.06 puts a specific group 20 km from a city search above a generic one
    # next door (at most 1), while at 25 km (13 x 0.018 = 0.24) it falls behind generic ones
    # within 15 km (0.26): specific help across a city comes first, not across a state.
    "focus_weight": 12.0,
    # Sessions this close count as "starts soon" in the reasons.
    "starts_soon_minutes": 120,
    # sort=soonest: a session already running with less than this left is nearly over, so it
    # ranks as if it started at `ending_soon_ranks_as_minutes`: after every session starting
    # within starts_soon_minutes (whole minutes, so the half minute breaks that tie), before
    # any later one.
    "ending_soon_minutes": 30,
    "ending_soon_ranks_as_minutes": 120.5,
}

def distance_weight(distance_km: float | None) -> float:
    """Gaussian decay on distance; None (online or no place searched) counts as remote."""
    if distance_km is None:
        distance_km = RANKING["remote_equivalent_km"]
    scale = RANKING["distance_scale_km"]
    sigma_sq = -(scale**2) / (2 * math.log(RANKING["distance_decay"]))
    excess = max(0.0, distance_km - RANKING["distance_offset_km"])
    return math.exp(-(excess**2) / (2 * sigma_sq))


def text_weight(text_score: float) -> float:
    """1 for no text match, rising towards 1 + text_weight as relevance grows."""
    if text_score <= 0:
        return 1.0
    return 1.0 + RANKING["text_weight"] * text_score / (text_score + 1.0)


def focus_substances(query: SearchQuery) -> tuple[str, ...]:
    """The asked substances a listing can focus on: all of them but "any"."""
    return tuple(s for s in query.substances if s != "any")


def focus_weight(listing: Listing, query: SearchQuery) -> float:
    """1 + focus_weight when the listing's substances name an asked one, else 1."""
    if set(focus_substances(query)) & set(listing.substances):
        return 1.0 + RANKING["focus_weight"]
    return 1.0


def best_score(distance_km: float | None, text_score: float, has_place: bool, focus: float = 1.0) -> float:
    """The `sort=best` score: nearness blended with text relevance, times the substance focus."""
    nearness = distance_weight(distance_km) if has_place else 1.0
    return round(nearness * text_weight(text_score) * focus, 9)


def is_remote_only(listing: Listing) -> bool:
    """True when the listing has no in-person format."""
    return "in_person" not in listing.formats


def soonest_key(minutes: float | None) -> float:
    """Sort key for `sort=soonest` from soonest_minutes: in progress first, then by start; unscheduled last."""
    return math.inf if minutes is None else minutes


def occurrence_minutes(minutes_until: float, minutes_left: float) -> float:
    """One session's soonest rank in minutes: its start from now (negative once running),
    except that a session running with under `ending_soon_minutes` left ranks as
    `ending_soon_ranks_as_minutes`. A session starting this very minute is not yet running."""
    if minutes_until < 0 and minutes_left < RANKING["ending_soon_minutes"]:
        return RANKING["ending_soon_ranks_as_minutes"]
    return minutes_until


def soonest_minutes(listing: Listing, at: datetime) -> float | None:
    """The listing's soonest rank: the best occurrence_minutes of its sessions running now and
    its next one to start; 0 when open 24/7; None when it has no session ahead."""
    if listing.open_24_7:
        return 0.0
    return timetable_soonest_minutes(listing.timezone, listing.sessions, at)


def timetable_soonest_minutes(tz_name: str, sessions: tuple[Session, ...], at: datetime) -> float | None:
    """soonest_minutes of a timetable that is not open 24/7 (None without sessions ahead)."""
    upcoming = schedule.timetable_occurrences(tz_name, sessions, at, count=1)
    if not upcoming:
        return None
    if upcoming[0].in_progress:
        # Each session has at most one occurrence running, so one more than the sessions
        # always reaches the first that has not started.
        upcoming = schedule.timetable_occurrences(tz_name, sessions, at, count=len(sessions) + 1)
    return min(occurrence_minutes((o.start - at).total_seconds() / 60.0, (o.end - at).total_seconds() / 60.0)
               for o in upcoming)


def for_everyone(listing: Listing) -> bool:
    """True when anyone may go: the listing is not restricted to particular audiences."""
    return "everyone" in listing.audiences


def audience_tier(audiences, query: SearchQuery) -> int | None:
    """Where a listing with these audiences goes: 0 first, 1 after every tier-0 listing, None left out.

    Without `audience` a search is for the person themselves: listings for everyone first,
    listings for particular groups after. With it: those audiences first, then everyone;
    other groups are left out.
    """
    wanted = query.audiences or ("everyone",)
    if set(audiences) & set(wanted):
        return 0
    if query.audiences and "everyone" not in audiences:
        return None
    return 1


def by_score(query: SearchQuery) -> bool:
    """True when order_key ranks by score: best order, and distance order without a place."""
    return query.sort != "soonest" and not (query.sort == "distance" and query.place)


def order_key(query: SearchQuery, hit: Hit, soonest: float | None) -> tuple:
    """Sort key for results ordered in Python; backends order the same way in their stores.

    First the audience tier (audience_tier), then best: score (with a place, words or an
    asked substance; else every score is alike), then distance (nearer
    first, online last), then id; distance: distance, then id; soonest: soonest_minutes
    (given as `soonest`), then id.
    """
    distance = math.inf if hit.distance_km is None else hit.distance_km
    tier = audience_tier(hit.listing.audiences, query)
    if query.sort == "soonest":
        return (tier, soonest_key(soonest), hit.listing.id)
    if not by_score(query):
        return (tier, distance, hit.listing.id)
    if query.place or query.text or focus_substances(query):
        effective = hit.distance_km
        if query.place and query.reaches_remote and hit.listing.remote_covers(query.place):
            remote = RANKING["remote_equivalent_km"]
            effective = remote if effective is None else min(effective, remote)
        score = best_score(effective, hit.text_score, bool(query.place), focus_weight(hit.listing, query))
        return (tier, -score, distance, hit.listing.id)
    return (tier, 0.0, distance, hit.listing.id)


def page_slice(items: list, page: int, per_page: int) -> list:
    """The items of one page (pages count from 1)."""
    start = (page - 1) * per_page
    return items[start:start + per_page]
