"""Facet counts: how many matched listings have each format, goal, kind and approach."""

from __future__ import annotations

from service.domain import vocab


def empty_facets() -> dict:
    """Facet counts with every vocabulary value at zero, so the shape never changes."""
    return {
        "format": dict.fromkeys(vocab.FORMATS, 0),
        "goal": dict.fromkeys(vocab.GOALS, 0),
        "kind": dict.fromkeys(vocab.KINDS, 0),
        "approach": dict.fromkeys(vocab.APPROACHES, 0),
    }


def facet_counts(listings, facets: dict | None = None) -> dict:
    """Counts by format, goal, kind and approach over the matched listings (added to
    `facets`, counts of others, when given)."""
    facets = empty_facets() if facets is None else facets
    for listing in listings:
        for value in listing.formats:
            facets["format"][value] += 1
        for value in listing.goals:
            facets["goal"][value] += 1
        facets["kind"][listing.kind] += 1
        facets["approach"][listing.approach] += 1
    return facets
