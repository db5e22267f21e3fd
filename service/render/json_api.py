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
from service.recent import Recent
from service.render.reasons import reason_text, reason_writer
from service.search.params import SEARCH_ADDS, query_echo


def occurrence_document(occurrence: Occurrence, viewer_tz: str | None, as_text: bool = True) -> dict:
    """One session: times with offsets in the listing's zone, and in the viewer's when given.
    With `as_text=False` the times stay datetimes, for `json_bytes(..., datetimes=True)` to
    write (the same text, in C)."""
    viewer = ZoneInfo(viewer_tz) if viewer_tz else None
    start, end = occurrence.start, occurrence.end
    viewer_start = start.astimezone(viewer) if viewer else None
    viewer_end = end.astimezone(viewer) if viewer else None
    if as_text:
        start, end = start.isoformat(), end.isoformat()
        viewer_start = viewer_start.isoformat() if viewer else None
        viewer_end = viewer_end.isoformat() if viewer else None
    return {
        "start": start,
        "end": end,
        "viewer_start": viewer_start,
        "viewer_end": viewer_end,
        "in_progress": occurrence.in_progress,
    }


# From this year on every IANA zone's offset is whole minutes (Monrovia's -0:44:30 ended in
# 1972), which is all orjson writes of an offset; before it, a time's offset may have seconds
# (local mean time) that only isoformat writes.
WHOLE_MINUTE_OFFSETS_FROM = 1980


def stale_since(document: dict, stale_before: str | None) -> dict | None:
    """{"verified_at": date} when a listing was last checked before `stale_before` (ISO date)."""
    checked = document.get("verified_at") or document.get("updated_at")
    if stale_before is None or checked is None or checked[:10] >= stale_before:
        return None
    return {"verified_at": checked[:10]}


def item_document(hit: RankedHit, viewer_tz: str | None, stale_before: str | None = None,
                  dead_links: tuple[dict, ...] = (), write_reason=reason_text, times_as_text: bool = True) -> dict:
    """A listing with what the search adds: distance, next sessions, open now, why (in words),
    staleness, and the links the last link check found dead. `write_reason` writes one
    reason in words (`reason_text`, or a `reason_writer` that remembers them); session times
    are ISO text, or datetimes with `times_as_text=False` (see `occurrence_document`)."""
    document = dict(hit.document) if hit.document is not None else dump_listing(hit.listing)
    document.update(search_adds(hit, document, viewer_tz, stale_before, dead_links, write_reason, times_as_text))
    return document


def search_adds(hit: RankedHit, stored: dict, viewer_tz: str | None, stale_before: str | None,
                dead_links: tuple[dict, ...], write_reason, times_as_text: bool) -> dict:
    """What a search adds to the stored listing `stored`, in the order an item has it."""
    return {
        "stale": stale_since(stored, stale_before),
        "dead_links": links_in_use(stored.get("contact") or {}, dead_links),
        "distance_km": hit.distance_km,
        "next_sessions": [occurrence_document(o, viewer_tz, times_as_text) for o in hit.next_sessions],
        "open_now": hit.open_now,
        "why": [write_reason(reason) for reason in hit.why],
        "for_everyone": hit.for_everyone,
    }


def search_document(query: SearchQuery, matches: Matches, items: tuple[RankedHit, ...],
                    stale_before: str | None = None, dead_links: dict | None = None,
                    fields: frozenset[str] | None = None, for_json_bytes: bool = False) -> dict:
    """The body of GET /v1/search (`dead_links`: listing id -> its dead links); with `fields`,
    each item keeps only those top-level fields (the envelope stays whole). `for_json_bytes`:
    the document is only for `json_bytes(..., datetimes=True)`, which may then write the
    session times itself (when it writes them as isoformat does)."""
    write_reason = reason_writer()
    dead_links = dead_links or {}
    times_as_text = not (for_json_bytes and query.at.year >= WHOLE_MINUTE_OFFSETS_FROM)
    documents = [item_document(hit, query.viewer_tz, stale_before, dead_links.get(item_id, ()), write_reason,
                               times_as_text)
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


class StoredFragments:
    """Each stored listing's JSON text, written once: a search page's items are mostly their
    stored listings, which are the same bytes on every page that shows them.

    Kept per listing id with the stored document it was written from, and used only while a
    hit carries that very document (the SQLite backend shares its decoded documents, and a
    new index or an evicted document brings a new one). None for a document whose JSON
    `json_bytes` would not leave to orjson, or that already holds a key the search adds.
    """

    def __init__(self, entries: int):
        self._texts = Recent(entries)  # listing id -> (the document, its text)

    def get(self, listing_id: str, document: dict) -> bytes | None:
        """The listing's JSON object text (`{...}`), or None when it cannot be spliced."""
        found = self._texts.get(listing_id)
        if found is not None and found[0] is document:
            return found[1]
        text = _stored_text(document)
        self._texts.put(listing_id, (document, text))
        return text


# As many as the SQLite backend keeps decoded (its DOCUMENT_CACHE_SIZE): a text outliving
# its document is never used again. A listing's text is about 2 kB.
STORED_FRAGMENTS = StoredFragments(4096)


def _stored_text(document: dict) -> bytes | None:
    """`json_bytes(document)` when orjson writes it (else None), and when the object can take
    the search's fields after its own (none of them already in it)."""
    if any(key in document for key in SEARCH_ADDS) or not document:
        return None
    try:
        # The options of `json_bytes(..., datetimes=True)`, which writes a search body.
        text = orjson.dumps(document, default=_default, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return None if _stdlib_would_differ(text) else text


def search_body(query: SearchQuery, matches: Matches, items: tuple[RankedHit, ...], stale_before: str | None,
                dead_links: dict, warnings: list[str]) -> tuple[bytes, dict] | None:
    """The body of GET /v1/search (with `warnings` added to the query's), byte for byte what
    `json_bytes(search_document(...), datetimes=True)` writes, with each stored listing's text
    from `STORED_FRAGMENTS`; and the items' sessions (`{"items": [{"next_sessions": ...}]}`)
    for `http_cache`. None when a part cannot be written so (then use `search_document`).

    JSON objects join as text: `{stored}` and `{adds}` make `{stored,adds}`, which is how
    orjson writes the merged dict (keys in order, no spaces). The checks `json_bytes` makes
    of a whole body are made of each part written here: what they look for ("0.0000", a
    digit, "e-" and a digit) cannot straddle the punctuation that joins the parts.
    """
    if query.at.year < WHOLE_MINUTE_OFFSETS_FROM:
        return None
    write_reason = reason_writer()
    option = orjson.OPT_PASSTHROUGH_SUBCLASS
    adds_list = []
    adds_texts = []
    texts = []
    try:
        for hit, item_id in zip(items, listing_ids(items)):
            if hit.document is None:
                return None
            stored = STORED_FRAGMENTS.get(item_id, hit.document)
            if stored is None:
                return None
            adds = search_adds(hit, hit.document, query.viewer_tz, stale_before, dead_links.get(item_id, ()),
                               write_reason, False)
            adds_text = orjson.dumps(adds, default=_default, option=option)
            adds_list.append(adds)
            adds_texts.append(adds_text)
            texts.append(stored[:-1] + b"," + adds_text[1:])
        head = orjson.dumps({"query": query_echo(query), "warnings": [*query.warnings, *warnings],
                             "total": matches.total, "page": query.page, "per_page": query.per_page},
                            default=_default, option=option)
        facets = orjson.dumps(matches.facets, default=_default, option=option)
    except (TypeError, orjson.JSONEncodeError):
        return None
    # The stored texts were checked when written; the rest is checked here (joined at "}{").
    if _stdlib_would_differ(head) or _stdlib_would_differ(facets) or _stdlib_would_differ(b"".join(adds_texts)):
        return None
    body = b"".join((head[:-1], b',"items":[', b",".join(texts), b'],"facets":', facets, b"}"))
    return body, {"items": adds_list}


def _stdlib_would_differ(text: bytes) -> bool:
    """Whether orjson's text may differ from the stdlib encoder's (see `json_bytes`)."""
    return b"0.0000" in text or _NEGATIVE_EXPONENT.search(text) is not None


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


def json_bytes(data, datetimes: bool = False) -> bytes:
    """`json_text` as UTF-8 bytes, written by orjson when it writes exactly what the stdlib
    encoder writes (`ensure_ascii=False`, no spaces), else by the stdlib encoder.

    Datetimes are written as their isoformat(); by orjson itself with `datetimes=True`, which
    is the same text but for an offset with seconds (orjson writes minutes): only for data
    whose datetimes have whole-minute offsets.
    """
    option = orjson.OPT_PASSTHROUGH_SUBCLASS | (0 if datetimes else orjson.OPT_PASSTHROUGH_DATETIME)
    try:
        # Subclasses of str, int, dict and list go to `_default`, and so to the stdlib encoder.
        body = orjson.dumps(data, default=_default, option=option)
    except (TypeError, orjson.JSONEncodeError):
        return _stdlib_bytes(data)
    if _stdlib_would_differ(body):
        return _stdlib_bytes(data)
    return body


def json_response(data, status: int = 200, datetimes: bool = False) -> Response:
    """An application/json response of `json_bytes(data, datetimes)` (what `render.to_json` serves)."""
    return Response(json_bytes(data, datetimes), status=status, mimetype="application/json")


def _stdlib_bytes(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_default).encode("utf-8")


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
