"""The backend interface every store implements (SQLite now; engines later).

Backends filter, count, facet, order and page; they return the page's hits in order.
The post-search steps in `service.ranking` then add sessions and reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Protocol

from .. import schedule, vocab
from ..models import Hit, Listing, SearchQuery

# Words of `q` beyond this many are ignored: a query is a few words, not a paragraph.
MAX_WORDS = 12


class BackendUnavailable(RuntimeError):
    """The store cannot answer (missing index, engine down); the API answers 503."""


@dataclass(frozen=True)
class Matches:
    """One page of matches, in order, with the total and facet counts over all matches."""

    total: int
    hits: tuple[Hit, ...]
    facets: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LoadReport:
    """What a load did: how many listings went in, where, and any that a store refused."""

    loaded: int
    target: str
    failures: tuple[tuple[str, str], ...] = ()


def query_words(text: str | None) -> list[str]:
    """The words of `q`, split the same way for every store."""
    return re.findall(r"\w+", (text or "").casefold())[:MAX_WORDS]


def listing_terms(listing: Listing) -> str:
    """Words a listing should be found by beyond its name and description."""
    words = [vocab.label(listing.approach), listing.kind]
    words += [vocab.label(v) for v in listing.formats + listing.audiences + listing.goals]
    words += [s.replace("_", " ") for s in listing.substances]
    if listing.location:
        words += [listing.location.locality or "", listing.location.state or "",
                  listing.location.postcode or ""]
    return " ".join(w for w in words if w)


# (day, part of day) pairs a session can start in, "mon_morning" .. "sun_evening": 21 slots,
# stored per listing so `day` with `time` is a stored-field filter in every store.
SLOTS = tuple(f"{day}_{part}" for day in vocab.WEEKDAYS for part in vocab.TIMES_OF_DAY)
_PARTS = tuple((part, schedule.minutes(start), schedule.minutes(until) if until != "24:00" else 24 * 60)
               for part, (start, until) in vocab.PARTS_OF_DAY.items())


def part_of_day(start: str) -> str | None:
    """The part of the day ("morning" ...) a local "HH:MM" start falls in; None before 05:00."""
    minute = schedule.minutes(start)
    return next((part for part, begin, end in _PARTS if begin <= minute < end), None)


def listing_slots(listing: Listing) -> tuple[str, ...]:
    """The slots its sessions start in, by local weekday and start (monthly ones too)."""
    found = set()
    for session in listing.sessions:
        part = part_of_day(session.start)
        if part:
            found.add(f"{session.weekday}_{part}")
    return tuple(slot for slot in SLOTS if slot in found)


def query_slots(query: SearchQuery) -> tuple[str, ...]:
    """The slots a search asks for: its parts of the day on its days (every day without `day`);
    () without `time`, when `day` alone filters by weekday."""
    if not query.times:
        return ()
    return tuple(f"{day}_{part}" for day in query.days or vocab.WEEKDAYS for part in query.times)


def is_remote(listing: Listing) -> bool:
    """Online or by phone, with a service area: reachable wherever that area covers."""
    return bool(set(listing.formats) & set(vocab.REMOTE_FORMATS)) and bool(listing.service_area)


class Backend(Protocol):
    """Store and search listings; every implementation passes the same contract tests."""

    def load(self, listings: Iterable[Listing]) -> LoadReport:
        """Replace the whole index with `listings`, atomically; on failure the old one serves."""

    def search(self, query: SearchQuery) -> Matches:
        """Matches for a query: total, facets, and the requested page in order."""

    def get(self, listing_id: str) -> Listing | None:
        """One listing by id, or None."""

    def count(self) -> int:
        """Listings in the index; raises BackendUnavailable when there is no index."""

    def listings(self) -> Iterable[Listing]:
        """Every listing in the index, in id order (feeds, exports)."""

    def info(self) -> dict:
        """What /readyz reports: listing count, demo count, when the index was built."""
