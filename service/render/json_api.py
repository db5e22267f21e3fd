"""The JSON API's documents: a search answer, one listing with what the search adds, and
deterministic JSON text. Reasons are written in words here (`service.render.reasons`)."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from service.backends.contract import Matches
from service.domain.models import Occurrence, RankedHit, SearchQuery
from service.domain.schemas import dump_listing
from service.domain.text import links_in_use
from service.render.reasons import reason_text
from service.search.params import query_echo


def occurrence_document(occurrence: Occurrence, viewer_tz: str | None) -> dict:
    """One session: times with offsets in the listing's zone, and in the viewer's when given."""
    viewer = ZoneInfo(viewer_tz) if viewer_tz else None
    return {
        "start": occurrence.start.isoformat(),
        "end": occurrence.end.isoformat(),
        "viewer_start": occurrence.start.astimezone(viewer).isoformat() if viewer else None,
        "viewer_end": occurrence.end.astimezone(viewer).isoformat() if viewer else None,
        "in_progress": occurrence.in_progress,
    }


def stale_since(document: dict, stale_before: str | None) -> dict | None:
    """{"verified_at": date} when a listing was last checked before `stale_before` (ISO date)."""
    checked = document.get("verified_at") or document.get("updated_at")
    if stale_before is None or checked is None or checked[:10] >= stale_before:
        return None
    return {"verified_at": checked[:10]}


def item_document(hit: RankedHit, viewer_tz: str | None, stale_before: str | None = None,
                  dead_links: tuple[dict, ...] = ()) -> dict:
    """A listing with what the search adds: distance, next sessions, open now, why (in words),
    staleness, and the links the last link check found dead."""
    document = dict(hit.document) if hit.document is not None else dump_listing(hit.listing)
    document["stale"] = stale_since(document, stale_before)
    document["dead_links"] = links_in_use(document.get("contact") or {}, dead_links)
    document["distance_km"] = hit.distance_km
    document["next_sessions"] = [occurrence_document(o, viewer_tz) for o in hit.next_sessions]
    document["open_now"] = hit.open_now
    document["why"] = [reason_text(reason) for reason in hit.why]
    document["for_everyone"] = hit.for_everyone
    return document


def search_document(query: SearchQuery, matches: Matches, items: tuple[RankedHit, ...],
                    stale_before: str | None = None, dead_links: dict | None = None) -> dict:
    """The body of GET /v1/search (`dead_links`: listing id -> its dead links)."""
    return {
        "query": query_echo(query),
        "warnings": list(query.warnings),
        "total": matches.total,
        "page": query.page,
        "per_page": query.per_page,
        "items": [item_document(hit, query.viewer_tz, stale_before, (dead_links or {}).get(item_id, ()))
                  for hit, item_id in zip(items, listing_ids(items))],
        "facets": matches.facets,
    }


def listing_ids(items) -> list[str]:
    """The ids of ranked hits, whether they carry the stored document or the listing."""
    return [hit.document["id"] if hit.document is not None else hit.listing.id for hit in items]


def json_text(data) -> str:
    """Deterministic JSON text: the same data always gives the same body."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_default)


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
