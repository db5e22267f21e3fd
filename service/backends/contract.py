"""The backend interface every store implements (SQLite, and the search engines).

Backends filter (`filters.FILTERS`), count, facet, order and page; they return the page's
hits in order. The post-search steps in `service.search.scoring` then add sessions and
reasons. Abilities only some backends have are declared in `abilities`, not discovered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Protocol

from service.domain.models import Hit, Listing, SearchQuery

# Optional abilities, which a backend declares in its `abilities` (callers test membership
# there, never hasattr): what each one promises the caller.
WARM_UP = "warm_up"                    # warm(): read what searches need now, before workers fork
ROLLBACK = "rollback"                  # rollback(): point back at the index the last load replaced
ENGINE_TRANSPORT = "engine_transport"  # .transport: an engine client the app's own state can share
ABILITIES = frozenset({WARM_UP, ROLLBACK, ENGINE_TRANSPORT})


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


class Backend(Protocol):
    """Store and search listings; every implementation passes the same contract tests."""

    # The optional abilities (from ABILITIES) this backend has, beyond the methods below.
    abilities: ClassVar[frozenset[str]]

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
