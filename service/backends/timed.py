"""Search steps that need exact session times, shared by every backend.

Stores cannot run zoneinfo, so each backend hands over candidates ordered by a cheap
lower bound on "minutes until the next start" (wall-clock arithmetic per zone, lowered by
the zone's clock change in a changeover week: schedule.session_lower_bound), and these
functions finish the job
exactly in Python. Both are pure apart from iterating the candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Iterator

from service.domain.facets import facet_counts
from service.domain import geo
from service.domain import ordering

from service.domain import schedule
from service.domain.models import Hit, Listing, SearchQuery
from service.backends.contract import Matches

# Stores give unscheduled listings (no sessions, not 24/7) a bound at or above this.
UNSCHEDULED = 10**9


@dataclass(frozen=True)
class Candidate:
    """A listing a store matched, with its lower bound and text relevance."""

    listing: Listing
    # A lower bound on the listing's soonest rank (ordering.soonest_minutes) or, when a time
    # filter walks, on its minutes to the next start.
    lower_bound: float | None
    text_score: float = 0.0
    document: dict | None = None

    def hit(self, query: SearchQuery) -> Hit:
        """The candidate as a hit, with its exact great-circle distance to the place."""
        return Hit(self.listing, distance_to(self.listing, query), self.text_score, self.document)


def distance_to(listing: Listing, query: SearchQuery) -> float | None:
    """Great-circle km from the searched place to an in-person listing, else None."""
    if query.place is None or listing.location is None:
        return None
    return geo.great_circle_km(
        query.place.lat, query.place.lon, listing.location.lat, listing.location.lon
    )


def is_unscheduled(bound: float | None) -> bool:
    """True for the bound stores give listings without sessions."""
    return bound is None or bound >= UNSCHEDULED


def soonest_hits(batches: Iterable[list[Candidate]], query: SearchQuery, needed: int) -> list[Hit]:
    """The first `needed` hits by audience tier, then exact soonest rank, then id.

    `batches` must come in ascending (tier, lower bound, id) order (unscheduled last in
    each tier, by id). A listing's rank is never below its bound, so once a candidate's
    (tier, bound, id) is past the needed-th best's (tier, rank, id), no later candidate can
    beat it, ties on the bound included (at 100k listings thousands share a start minute),
    and the walk stops without reading the rest.
    """
    found: list[tuple[int, float, str, Candidate]] = []
    kth = None
    for batch in batches:
        for candidate in batch:
            listing = candidate.listing
            tier = ordering.audience_tier(listing.audiences, query)
            bound = candidate.lower_bound
            if kth is not None:
                # Unscheduled listings come last in their tier, by id: none beats the needed-th.
                if tier > kth[0] or is_unscheduled(bound) or (tier, bound, listing.id) > kth[:3]:
                    return _hits(found, query, needed)
            rank = None if is_unscheduled(bound) else ordering.soonest_minutes(listing, query.at)
            found.append((tier, ordering.soonest_key(rank), listing.id, candidate))
            if len(found) >= needed:
                found.sort(key=_key)
                del found[needed:]
                kth = found[-1]
    return _hits(found, query, needed)


def _key(item) -> tuple:
    return item[:3]


def _hits(found, query: SearchQuery, needed: int) -> list[Hit]:
    found.sort(key=_key)
    return [item[3].hit(query) for item in found[:needed]]


def within_time(candidates: Iterator[Candidate], query: SearchQuery) -> Matches:
    """Keep candidates that are open now / start within the window, exactly; sort, facet, page."""
    kept = in_time(candidates, query)
    return ordered_matches(kept, query, len(kept), facet_counts(hit.listing for _, hit in kept))


def ordered_matches(ranked: list[tuple[tuple, Hit]], query: SearchQuery, total: int, facets: dict) -> Matches:
    """Hits (each with its ordering.order_key) in order and paged, with the total and facets
    of every match (counted by the caller: some may be counted without being among them)."""
    ranked.sort(key=lambda pair: pair[0])
    return Matches(total=total, hits=tuple(ordering.page_slice([hit for _, hit in ranked], query.page, query.per_page)),
                   facets=facets)


def in_time(candidates: Iterator[Candidate], query: SearchQuery) -> list[tuple[tuple, Hit]]:
    """The candidates open now / starting within the window, exactly, each with its order key."""
    kept: list[tuple[tuple, Hit]] = []
    for candidate in candidates:
        listing = candidate.listing
        wait = schedule.minutes_until(listing, query.at)
        if query.open_now:
            occurrences = schedule.next_occurrences(listing, query.at, count=1)
            if not schedule.is_open(listing, occurrences):
                continue
        if query.starts_within is not None and (wait is None or wait > query.starts_within):
            continue
        hit = candidate.hit(query)
        rank = ordering.soonest_minutes(listing, query.at) if query.sort == "soonest" else None
        kept.append((ordering.order_key(query, hit, rank), hit))
    return kept


def bound_limit(query: SearchQuery) -> int:
    """The largest lower bound a candidate may have and still pass the time filters."""
    limits = []
    # Bounds already allow for clock changes, so the limits are the filters' own.
    if query.starts_within is not None:
        limits.append(query.starts_within)
    if query.open_now:
        limits.append(0)
    return int(min(limits)) if limits else math.inf
