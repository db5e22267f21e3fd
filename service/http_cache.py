"""HTTP caching for the read API: strong ETags, 304s, and a max-age no answer outlives.

GET /v1/search, /v1/listings/{id} and /v1/programs get a strong ETag over the body and
`Cache-Control: public, max-age=N`; a request whose If-None-Match names the ETag is answered
304 with no body.

How long an answer stays right:
- /v1/programs depends only on `lang` and the code: `PROGRAMS_MAX_AGE`.
- A search or listing pinned with `at` does not depend on "now"; only a new index or a link
  check changes it: `PINNED_MAX_AGE`.
- Without `at` the answer is for "now" and changes when a session on it starts or ends
  (`open_now`, `in_progress`, the next sessions shown), and at UTC midnight (the staleness
  date moves). N is the seconds until the earliest of those, rounded down, and never more
  than `NOW_MAX_AGE`: listings not on the page can also start a session and enter an
  "open now" or "soonest" answer, which this page cannot see, so the cap bounds that too.

`register(app)` must run after `install_compression(app)` (Flask runs after-request
functions last-registered first): the ETag is then set over the identity body and
Flask-Compress gives each encoding its own (`"<etag>:br"`) and answers If-None-Match for it.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta, timezone

from flask import Flask, Response, current_app, request

# Seconds. Short for "now" answers: see the module docstring.
NOW_MAX_AGE = 60
PINNED_MAX_AGE = 300
PROGRAMS_MAX_AGE = 3600

CACHED_ENDPOINTS = ("api.search", "api.listing", "api.program_explainers")


def body_etag(body: bytes) -> str:
    """A strong validator: 128 bits of BLAKE2b over the exact bytes."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def next_change(document: dict, now: datetime) -> datetime:
    """The earliest moment after `now` at which a "now" answer in `document` (a search body
    with `items`, or one listing) would read differently: a start or end of a session it
    shows, or the next UTC midnight (the staleness date)."""
    utc_now = now.astimezone(timezone.utc)
    earliest = datetime.combine(utc_now.date() + timedelta(days=1), datetime.min.time(), timezone.utc)
    items = document.get("items") if "items" in document else [document]
    for item in items or ():
        for session in item.get("next_sessions") or ():
            for moment in (session.get("start"), session.get("end")):
                if moment:
                    when = datetime.fromisoformat(moment)
                    if utc_now < when < earliest:
                        earliest = when
    return earliest


def max_age_for(endpoint: str, pinned: bool, body: bytes, now: datetime) -> int:
    """Seconds a client or shared cache may keep this answer (see the module docstring)."""
    if endpoint == "api.program_explainers":
        return PROGRAMS_MAX_AGE
    if pinned:
        return PINNED_MAX_AGE
    until = (next_change(json.loads(body), now) - now).total_seconds()
    return max(0, min(NOW_MAX_AGE, math.floor(until)))


def cache_headers(response: Response) -> Response:
    """Add ETag and Cache-Control to a 200 from a cached endpoint; 304 on a matching
    If-None-Match."""
    if (request.method not in ("GET", "HEAD") or request.endpoint not in CACHED_ENDPOINTS
            or response.status_code != 200 or response.direct_passthrough
            or "Cache-Control" in response.headers):
        return response
    body = response.get_data()
    etag = body_etag(body)
    now = current_app.extensions["linkage"].clock()
    max_age = max_age_for(request.endpoint, "at" in request.args, body, now)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    if etag in request.if_none_match:
        response.status_code = 304
        response.set_data(b"")
        # A 304 carries no body, so no length of one either.
        response.headers.pop("Content-Length", None)
    return response


def register(app: Flask) -> None:
    """Install the caching headers; call after install_compression (see the module docstring)."""
    app.after_request(cache_headers)
