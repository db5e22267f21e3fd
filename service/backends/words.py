"""The words both stores match `q` against: how `q` is split, and what else a listing is
found by beyond its name and description (its `terms` text field in either store)."""

from __future__ import annotations

import re

from service.domain import vocab
from service.domain.models import Listing

# Words of `q` beyond this many are ignored: a query is a few words, not a paragraph.
MAX_WORDS = 12


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
