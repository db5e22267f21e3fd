"""Post-search steps as pure functions: distance, scoring, next sessions, reasons, facets.

Every weight lives in `RANKING`, so the SQLite and engine backends score alike.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from service.domain import schedule

from service.domain import vocab
from service.domain.models import Hit, Listing, Occurrence, RankedHit, SearchQuery

# geopy's mean Earth radius, so our distances agree with geopy.distance.great_circle.
EARTH_RADIUS_KM = 6371.009

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


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


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
    upcoming = schedule.next_occurrences(listing, at, count=1)
    if not upcoming:
        return None
    if upcoming[0].in_progress:
        # Each session has at most one occurrence running, so one more than the sessions
        # always reaches the first that has not started.
        upcoming = schedule.next_occurrences(listing, at, count=len(listing.sessions) + 1)
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


def _soon_phrase(occurrence: Occurrence, at: datetime) -> str | None:
    if occurrence.in_progress:
        return "On now"
    wait = occurrence.start - at
    if wait <= timedelta(minutes=RANKING["starts_soon_minutes"]):
        mins = max(1, int(wait.total_seconds() // 60))
        return f"Starts in {mins} min" if mins < 60 else f"Starts in {mins // 60} h {mins % 60:02d} min"
    return None


def _audience(value: str) -> str:
    text = vocab.label(value)
    # Keep proper nouns and acronyms as they are ("Aboriginal", "LGBTIQ+").
    return text if value in ("lgbtiq", "aboriginal_torres_strait_islander") else text.lower()


def reasons(
    listing: Listing,
    query: SearchQuery,
    distance_km: float | None,
    occurrences: tuple[Occurrence, ...],
) -> tuple[str, ...]:
    """Short human reasons the listing fits the search, most important first.

    A listing for particular groups that the search did not ask for says whom it is for,
    first, and never that it fits the person's goal: the person may not be able to go.
    """
    why: list[str] = []
    audiences = [a for a in query.audiences if a in listing.audiences]
    restricted = not for_everyone(listing) and not audiences
    wanted_goals = [g for g in query.filter_goals if g in listing.goals]
    if restricted:
        why.append("Only for " + ", ".join(_audience(a) for a in listing.audiences))
    elif wanted_goals:
        why.append("Fits the goal: " + ", ".join(vocab.label(g).lower() for g in wanted_goals))
    elif "undecided" in query.goals and (
        len(listing.goals) > 1 or listing.first_visit.can_attend_while_using
    ):
        why.append("Welcomes people still deciding on a goal")
    substances = [s for s in query.substances if s in listing.substances]
    if substances:
        why.append("Focus on " + ", ".join(substances))
    elif query.substances and "any" in listing.substances:
        why.append("Open to any substance")
    remote = [f for f in listing.formats if f in vocab.REMOTE_FORMATS]
    if distance_km is not None and "in_person" in listing.formats and query.place:
        why.append(f"{distance_km:.1f} km away")
    if remote and (is_remote_only(listing) or set(query.formats) & set(remote)):
        area = ", ".join(listing.service_area) or "anywhere"
        why.append(" and ".join(vocab.label(f) for f in remote) + f" — available in {area}")
    if audiences:
        why.append("For " + ", ".join(_audience(a) for a in audiences))
    languages = [lang for lang in query.languages if lang in listing.languages]
    if languages:
        why.append("In " + ", ".join(languages))
    if listing.open_24_7:
        why.append("Open 24/7")
    elif occurrences:
        soon = _soon_phrase(occurrences[0], query.at)
        if soon:
            why.append(soon)
    if listing.cost == "free":
        why.append("Free")
    return tuple(why)


def rank_hit(hit: Hit, query: SearchQuery, score: float = 0.0) -> RankedHit:
    """One hit with its next three sessions, open-now flag and reasons."""
    occurrences = schedule.next_occurrences(hit.listing, query.at, count=3)
    # Reported to the metre, and quoted in the reasons as reported: a page that writes one
    # decimal from it agrees with the reasons and is never off by a second rounding (1.0464
    # km at hundredths was 1.05, then "1.1 km").
    distance = None if hit.distance_km is None else round(hit.distance_km, 3)
    return RankedHit(
        listing=hit.listing,
        distance_km=distance,
        next_sessions=occurrences,
        open_now=schedule.is_open(hit.listing, occurrences),
        why=reasons(hit.listing, query, distance, occurrences),
        for_everyone=for_everyone(hit.listing),
        score=score,
        document=hit.document,
    )


def rank_hits(hits, query: SearchQuery) -> tuple[RankedHit, ...]:
    """The page's hits, in the backend's order, each with sessions and reasons."""
    return tuple(rank_hit(hit, query) for hit in hits)


def empty_facets() -> dict:
    """Facet counts with every vocabulary value at zero, so the shape never changes."""
    return {
        "format": dict.fromkeys(vocab.FORMATS, 0),
        "goal": dict.fromkeys(vocab.GOALS, 0),
        "kind": dict.fromkeys(vocab.KINDS, 0),
        "approach": dict.fromkeys(vocab.APPROACHES, 0),
    }


def facet_counts(listings) -> dict:
    """Counts by format, goal, kind and approach over the matched listings."""
    facets = empty_facets()
    for listing in listings:
        for value in listing.formats:
            facets["format"][value] += 1
        for value in listing.goals:
            facets["goal"][value] += 1
        facets["kind"][listing.kind] += 1
        facets["approach"][listing.approach] += 1
    return facets


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
    if query.sort == "distance" and query.place:
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
