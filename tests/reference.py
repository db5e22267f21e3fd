"""A slow, obvious reference search over listings in memory, to check backends against.

It restates the filter semantics from DESIGN.md in the plainest Python, independent of
the SQL: values within one parameter are alternatives, parameters combine with AND.
"""

from __future__ import annotations

from service import schedule
from service.models import Hit, Listing, SearchQuery
from service.ranking import great_circle_km, order_key


def matches(listing: Listing, query: SearchQuery) -> bool:
    """True when the listing answers the query."""
    if listing.status != "active":
        return False
    if query.formats and not set(query.formats) & set(listing.formats):
        return False
    if query.filter_goals and not set(query.filter_goals) & set(listing.goals):
        return False
    if query.substances and not (set(query.substances) | {"any"}) & set(listing.substances):
        return False
    if query.kinds and listing.kind not in query.kinds:
        return False
    if query.approaches and listing.approach not in query.approaches:
        return False
    if query.audiences and not set(query.audiences) & set(listing.audiences):
        return False
    if query.languages and not set(query.languages) & set(listing.languages):
        return False
    if query.days and not {s.weekday for s in listing.sessions} & set(query.days):
        return False
    if query.text:
        return False  # text relevance is not restated here
    if query.place:
        near = listing.location is not None and great_circle_km(
            query.place.lat, query.place.lon, listing.location.lat, listing.location.lon
        ) <= query.radius_km
        if not (near or listing.remote_covers(query.place)):
            return False
    occurrences = schedule.next_occurrences(listing, query.at, 1)
    if query.open_now and not schedule.is_open(listing, occurrences):
        return False
    if query.starts_within is not None:
        wait = schedule.minutes_until(listing, query.at)
        if wait is None or wait > query.starts_within:
            return False
    return True


def search_ids(listings, query: SearchQuery) -> list[str]:
    """Ids of matching listings in the query's order (best: by ranking.order_key, without text)."""
    found = [x for x in listings if matches(x, query)]

    def distance(listing):
        if not query.place or listing.location is None:
            return float("inf")
        return great_circle_km(query.place.lat, query.place.lon, listing.location.lat, listing.location.lon)

    if query.sort == "best":
        def key(listing):
            hit = Hit(listing, None if distance(listing) == float("inf") else distance(listing))
            return order_key(query, hit, None)
    elif query.sort == "soonest":
        def key(listing):
            wait = schedule.minutes_until(listing, query.at)
            return (float("inf") if wait is None else wait, listing.id)
    else:
        def key(listing):
            return (distance(listing), listing.id)
    return [x.id for x in sorted(found, key=key)]
