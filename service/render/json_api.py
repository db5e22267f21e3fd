"""The JSON API's documents: a search answer, one listing with what the search adds, and
deterministic JSON text. Reasons are written in words here (`service.render.reasons`).

JSON text is written by orjson (a tenth of the stdlib encoder's time on a search page), and
by the stdlib encoder for anything orjson would write differently or refuses (integers
beyond 64 bits, non-string keys, NaN): the bytes are the same either way.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
from flask import Response

from service.backends.contract import Matches
from service.domain.models import Occurrence, RankedHit, SearchQuery
from service.domain.schemas import dump_listing
from service.domain.text import links_in_use
from service.render.reasons import reason_text, reason_writer
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
                  dead_links: tuple[dict, ...] = (), write_reason=reason_text) -> dict:
    """A listing with what the search adds: distance, next sessions, open now, why (in words),
    staleness, and the links the last link check found dead. `write_reason` writes one
    reason in words (`reason_text`, or a `reason_writer` that remembers them)."""
    document = dict(hit.document) if hit.document is not None else dump_listing(hit.listing)
    document["stale"] = stale_since(document, stale_before)
    document["dead_links"] = links_in_use(document.get("contact") or {}, dead_links)
    document["distance_km"] = hit.distance_km
    document["next_sessions"] = [occurrence_document(o, viewer_tz) for o in hit.next_sessions]
    document["open_now"] = hit.open_now
    document["why"] = [write_reason(reason) for reason in hit.why]
    document["for_everyone"] = hit.for_everyone
    return document


def search_document(query: SearchQuery, matches: Matches, items: tuple[RankedHit, ...],
                    stale_before: str | None = None, dead_links: dict | None = None,
                    fields: frozenset[str] | None = None) -> dict:
    """The body of GET /v1/search (`dead_links`: listing id -> its dead links); with `fields`,
    each item keeps only those top-level fields (the envelope stays whole)."""
    write_reason = reason_writer()
    dead_links = dead_links or {}
    documents = [item_document(hit, query.viewer_tz, stale_before, dead_links.get(item_id, ()), write_reason)
                 for hit, item_id in zip(items, listing_ids(items))]
    if fields is not None:
        documents = [{key: value for key, value in document.items() if key in fields} for document in documents]
    return {
        "query": query_echo(query),
        "warnings": list(query.warnings),
        "total": matches.total,
        "page": query.page,
        "per_page": query.per_page,
        "items": documents,
        "facets": matches.facets,
    }


def listing_ids(items) -> list[str]:
    """The ids of ranked hits, whether they carry the stored document or the listing."""
    return [hit.document["id"] if hit.document is not None else hit.listing.id for hit in items]


# Where orjson writes a float unlike Python's repr: below 1e-4 (0.00001 for 1e-05; 1.5e-7
# for 1.5e-07). Seen in a body (or a string that merely looks so), the stdlib writes it.
# NaN and infinities, which the stdlib writes as the invalid NaN and Infinity, orjson
# writes as null.
# (A pattern that starts with the literal "e-" lets the regex engine skip ahead to each one:
# fifteen times faster over a search body than one starting with a digit class.)
_NEGATIVE_EXPONENT = re.compile(rb"e-(?<=[0-9]e-)[0-9]")


def json_text(data) -> str:
    """Deterministic JSON text: the same data always gives the same body."""
    return json_bytes(data).decode("utf-8")


def json_bytes(data) -> bytes:
    """`json_text` as UTF-8 bytes, written by orjson when it writes exactly what the stdlib
    encoder writes (`ensure_ascii=False`, no spaces), else by the stdlib encoder."""
    try:
        # Datetimes go through `_default` (isoformat) as with the stdlib encoder, not orjson's
        # own writing of them; subclasses of str, int, dict and list likewise.
        body = orjson.dumps(data, default=_default,
                            option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS)
    except (TypeError, orjson.JSONEncodeError):
        return _stdlib_bytes(data)
    if b"0.0000" in body or _NEGATIVE_EXPONENT.search(body):
        return _stdlib_bytes(data)
    return body


def json_response(data, status: int = 200) -> Response:
    """An application/json response of `json_bytes(data)` (what `render.to_json` serves)."""
    return Response(json_bytes(data), status=status, mimetype="application/json")


def _stdlib_bytes(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_default).encode("utf-8")


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
