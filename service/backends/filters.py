"""Every search filter, once: what it reads from the query, which listing field it tests, how.

Both stores compile from `FILTERS`: the SQLite backend into numpy masks
(`sqlite.columns.select`), the engines into query clauses (`engine.queries.filter_clauses`),
each with one compiler per rule (`RULES`). Filters combine (a listing must pass each); the
values asked within one filter are alternatives. Adding a filter is one entry here, plus one
compiler per store if it needs a new rule.

Not here: `q` (the text must match, but it also scores: `words`, and each store's text
index), and `open_now` / `starts_within`, which need exact session times in the listing's
zone: stores hand over candidates by a lower bound and `timed` settles them.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.domain import vocab
from service.domain.models import Listing, SearchQuery

# How a filter tests its listing field; each store has one compiler per rule.
IS_TRUE = "is_true"    # a boolean field is set, whatever the query asks
ANY_OF = "any_of"      # a many-valued field has at least one of the values asked
ONE_OF = "one_of"      # a single-valued field is one of the values asked
TIME = "time"          # a session in the asked parts of the day, on the searcher's clock (time_of_day)
REACH = "reach"        # within the radius of the place, or covered by an online or phone service area
RULES = (IS_TRUE, ANY_OF, ONE_OF, TIME, REACH)


@dataclass(frozen=True)
class Filter:
    """One search filter: its parameter, the query attributes it reads, the listing field it
    tests and by which rule."""

    parameter: str              # the search parameter, as the API names it ("" when always on)
    reads: tuple[str, ...]      # SearchQuery attributes read; for ANY_OF / ONE_OF the first gives the values
    rule: str
    field: str | None = None    # the listing's indexed field (the same name in both stores)
    vocabulary: tuple[str, ...] | None = None  # the field's closed vocabulary (None: open, as languages)
    also: tuple[str, ...] = ()  # values that always pass once the filter is asked
    unless: str | None = None   # a query attribute that, when set, applies this filter instead

    def asked(self, query: SearchQuery) -> tuple[str, ...]:
        """The values this ANY_OF / ONE_OF filter lets through, with `also`; () when not asked."""
        if self.unless and getattr(query, self.unless):
            return ()
        values = tuple(getattr(query, self.reads[0]))
        return values + self.also if values else ()


FILTERS: tuple[Filter, ...] = (
    # Withdrawn and closed listings stay in the index (a handout may point at them) but are
    # never found.
    Filter("", (), IS_TRUE, "active"),
    Filter("format", ("formats",), ANY_OF, "formats", vocab.FORMATS),
    # "undecided" welcomes every option, so it is no restriction (SearchQuery.filter_goals).
    Filter("goal", ("filter_goals", "goals"), ANY_OF, "goals", vocab.GOALS),
    # Listings for everyone stay in a search for particular audiences (ranked after them).
    Filter("audience", ("audiences",), ANY_OF, "audiences", vocab.AUDIENCES, also=("everyone",)),
    Filter("kind", ("kinds",), ONE_OF, "kind", vocab.KINDS),
    Filter("approach", ("approaches",), ONE_OF, "approach", vocab.APPROACHES),
    Filter("language", ("languages",), ANY_OF, "languages"),
    # With `time`, the time rule applies the days.
    Filter("day", ("days",), ANY_OF, "days", vocab.WEEKDAYS, unless="times"),
    # A group for any substance welcomes someone who names one.
    Filter("substance", ("substances",), ANY_OF, "substances", vocab.SUBSTANCES, also=("any",)),
    Filter("time", ("times", "days", "place", "viewer_tz", "at"), TIME, "sessions"),
    Filter("near", ("place", "radius_km", "formats"), REACH, "location"),
)


def is_remote(listing: Listing) -> bool:
    """Online or by phone, with a service area: reachable wherever that area covers (the
    `remote` field REACH tests beside the location)."""
    return bool(set(listing.formats) & set(vocab.REMOTE_FORMATS)) and bool(listing.service_area)


def coverage_areas(query: SearchQuery) -> tuple[str, ...]:
    """The service areas (country, state) whose online or phone listings REACH lets in
    wherever they are; () without a place or when only in-person options are asked."""
    place = query.place
    if place is None or not query.reaches_remote:
        return ()
    return tuple(a for a in (place.country, place.state) if a)
