"""The backend interface every store implements (SQLite now; engines later).

Backends filter, count, facet, order and page; they return the page's hits in order.
The post-search steps in `service.ranking` then add sessions and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

from ..models import Hit, Listing, SearchQuery


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
    """What a load did."""

    loaded: int
    target: str


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

    def info(self) -> dict:
        """What /readyz reports: listing count, demo count, when the index was built."""
