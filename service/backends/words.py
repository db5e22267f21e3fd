"""The words both stores match `q` against: how `q` is split, and what else a listing is
found by beyond its name and description (its `terms` text field in either store)."""

from __future__ import annotations

import functools
import re

from service.domain import vocab
from service.domain.models import Listing

# Words of `q` beyond this many are ignored: a query is a few words, not a paragraph.
MAX_WORDS = 12


def query_words(text: str | None) -> list[str]:
    """The words of `q`, split the same way for every store."""
    return re.findall(r"\w+", (text or "").casefold())[:MAX_WORDS]


def listing_terms(listing: Listing) -> str:
    """Words a listing should be found by beyond its name and description: its vocabulary's
    labels, then its place's locality, state and postcode."""
    words = _vocabulary_words(listing.approach, listing.kind,
                              listing.formats + listing.audiences + listing.goals, listing.substances)
    location = listing.location
    if location:
        words += tuple(w for w in (location.locality, location.state, location.postcode) if w)
    return " ".join(words)


@functools.lru_cache(maxsize=4096)
def _vocabulary_words(approach: str, kind: str, labelled: tuple[str, ...], substances: tuple[str, ...]) -> tuple[str, ...]:
    """The labels of a listing's vocabulary values, the blank ones left out. Remembered:
    an import writes them for every listing, and listings share a few combinations."""
    words = [vocab.label(approach), kind, *(vocab.label(v) for v in labelled),
             *(s.replace("_", " ") for s in substances)]
    return tuple(w for w in words if w)
