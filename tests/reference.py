"""A slow, obvious reference search over listings in memory, to check backends against.

It restates the filter semantics from DESIGN.md and issue 12 in the plainest Python,
independent of the stores' arrays and scripts: values within one parameter are
alternatives, parameters combine with AND; audiences make tiers; `time` with `day` makes
(day, part of day) pairs; a session nearly over ranks after those about to start.
"""

from __future__ import annotations

from datetime import datetime

from service import schedule
from service.models import Hit, Listing, SearchQuery
from service.ranking import RANKING, great_circle_km, order_key

# Parts of the day by local start hour, restated from the contract.
PARTS = {"morning": range(5, 12), "afternoon": range(12, 17), "evening": range(17, 24)}


def tier(listing: Listing, query: SearchQuery) -> int | None:
    """0 first, 1 after, None left out."""
    if query.audiences:
        if set(query.audiences) & set(listing.audiences):
            return 0
        return 1 if "everyone" in listing.audiences else None
    return 0 if "everyone" in listing.audiences else 1


def in_slots(listing: Listing, query: SearchQuery) -> bool:
    """Some session starts on one of the days (any day without `day`) in one of the parts."""
    days = query.days or ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return any(s.weekday in days and int(s.start[:2]) in PARTS[part]
               for s in listing.sessions for part in query.times)


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
    if tier(listing, query) is None:
        return False
    if query.languages and not set(query.languages) & set(listing.languages):
        return False
    if query.times:
        if not in_slots(listing, query):
            return False
    elif query.days and not {s.weekday for s in listing.sessions} & set(query.days):
        return False
    if query.text:
        return False  # text relevance is not restated here
    if query.place:
        near = listing.location is not None and great_circle_km(
            query.place.lat, query.place.lon, listing.location.lat, listing.location.lon
        ) <= query.radius_km
        # Beyond the radius only online or phone options count, and only if the search did not
        # ask for in person alone.
        remote_wanted = not query.formats or bool({"online", "phone"} & set(query.formats))
        if not (near or (remote_wanted and listing.remote_covers(query.place))):
            return False
    occurrences = schedule.next_occurrences(listing, query.at, 1)
    if query.open_now and not schedule.is_open(listing, occurrences):
        return False
    if query.starts_within is not None:
        wait = schedule.minutes_until(listing, query.at)
        if wait is None or wait > query.starts_within:
            return False
    return True


def soonest(listing: Listing, at: datetime) -> float:
    """Minutes to the next start (negative while running); a session running with under
    `ending_soon_minutes` left counts as `ending_soon_ranks_as_minutes`; 24/7 is 0."""
    if listing.open_24_7:
        return 0.0
    best = float("inf")
    for occurrence in schedule.next_occurrences(listing, at, count=len(listing.sessions) + 1):
        until = (occurrence.start - at).total_seconds() / 60
        left = (occurrence.end - at).total_seconds() / 60
        if until < 0 and left < RANKING["ending_soon_minutes"]:
            until = RANKING["ending_soon_ranks_as_minutes"]
        best = min(best, until)
    return best


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
            return (tier(listing, query), soonest(listing, query.at), listing.id)
    else:
        def key(listing):
            return (tier(listing, query), distance(listing), listing.id)
    return [x.id for x in sorted(found, key=key)]
