"""The stage after the backend: each hit of a page with its next sessions, open-now flag,
distance as reported and reasons (as data; `service.render.reasons` writes the words). The
backend has already filtered and ordered the hits (by `service.domain.ordering`); nothing
here changes their order.
"""

from __future__ import annotations

from datetime import datetime, timezone

from service.domain import schedule
from service.domain.models import Hit, RankedHit, SearchQuery, maker
from service.domain.ordering import for_everyone
from service.search.reasons import reasons


# RankedHit(**values), quickly (see `models.maker`): one per hit of every page.
_make_ranked_hit = maker(RankedHit)


def rank_hit(hit: Hit, query: SearchQuery, at_utc: datetime | None = None) -> RankedHit:
    """One hit with its next three sessions, open-now flag and reasons (`at_utc`: the
    query's moment in UTC, when the caller has it already)."""
    at = query.at if at_utc is None else at_utc
    occurrences = schedule.next_occurrences(hit.listing, at, count=3)
    # Reported to the metre, and quoted in the reasons as reported: a page that writes one
    # decimal from it agrees with the reasons and is never off by a second rounding (1.0464
    # km at hundredths was 1.05, then "1.1 km").
    distance = None if hit.distance_km is None else round(hit.distance_km, 3)
    return _make_ranked_hit({
        "listing": hit.listing,
        "distance_km": distance,
        "next_sessions": occurrences,
        "open_now": schedule.is_open(hit.listing, occurrences),
        "why": reasons(hit.listing, query, distance, occurrences),
        "for_everyone": for_everyone(hit.listing),
        "document": hit.document,
    })


def rank_hits(hits, query: SearchQuery) -> tuple[RankedHit, ...]:
    """The page's hits, in the backend's order, each with sessions and reasons."""
    # The moment in UTC once a page (schedule keys its occurrences by it), not once a hit.
    at_utc = query.at.astimezone(timezone.utc)
    return tuple(rank_hit(hit, query, at_utc) for hit in hits)
