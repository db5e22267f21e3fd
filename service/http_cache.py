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

An in-process response cache (`ResponseCache`, a bounded LRU per worker) keeps the final
bytes of those answers for as long as their max-age, keyed by the full URL, the headers that
change the body or its encoding (Accept-Encoding, Accept-Language) and the identity (inode,
mtime) of the index file and of the link-check file, so a new index (`linkage index` swaps the
file) or a link check is never answered from before it. Answers to typed words (`q`) are
not kept, and are `private` to shared caches: words stay out of logs and caches alike. A hit
skips the view, not the request's other steps (rate limit, key check, CORS and security headers still run).
LINKAGE_RESPONSE_CACHE sets its entries per worker (default `CACHE_ENTRIES`; 0 turns it off).
It runs only over a backend read from a file (SQLite): an engine's index has no identity
here to key on.

`register(app)` must run after `install_compression(app)` (Flask runs after-request
functions last-registered first): the ETag is then set over the identity body and
Flask-Compress gives each encoding its own (`"<etag>:br"`) and answers If-None-Match for it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Flask, Response, current_app, g, request

# Seconds. Short for "now" answers: see the module docstring.
NOW_MAX_AGE = 60
PINNED_MAX_AGE = 300
PROGRAMS_MAX_AGE = 3600

CACHED_ENDPOINTS = ("api.search", "api.listing", "api.program_explainers")
CACHE_ENTRIES = 2048
# The headers this module and compression set; the rest each request's own hooks add again.
KEPT_HEADERS = ("Content-Type", "Content-Encoding", "Vary", "ETag")


def body_etag(body: bytes) -> str:
    """A strong validator: 128 bits of SHA-256 over the exact bytes.

    SHA-256 rather than BLAKE2b: processors of the last years hash it in hardware (SHA
    extensions), at over twice BLAKE2b's speed in software; a search body is 40 kB."""
    return hashlib.sha256(body).hexdigest()[:32]


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
                    # Text in a parsed body; datetimes in the view's own document.
                    when = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
                    if utc_now < when < earliest:
                        earliest = when
    return earliest


def keep_document(document: dict) -> None:
    """Hand the view's document (the body before encoding) to `cache_headers`, which then
    reads the next change from it instead of decoding the body again."""
    g.linkage_served_document = document


def max_age_for(endpoint: str, pinned: bool, body: bytes, now: datetime, document: dict | None = None) -> int:
    """Seconds a client or shared cache may keep this answer (see the module docstring);
    `document` is the body before encoding, when the view kept it."""
    if endpoint == "api.program_explainers":
        return PROGRAMS_MAX_AGE
    if pinned:
        return PINNED_MAX_AGE
    until = (next_change(json.loads(body) if document is None else document, now) - now).total_seconds()
    return max(0, min(NOW_MAX_AGE, math.floor(until)))


def cache_headers(response: Response) -> Response:
    """Add ETag and Cache-Control to a 200 from a cached endpoint; 304 on a matching
    If-None-Match."""
    if (g.get("linkage_cached_response") or request.method not in ("GET", "HEAD")
            or request.endpoint not in CACHED_ENDPOINTS or response.status_code != 200 or response.direct_passthrough
            or "Cache-Control" in response.headers):
        return response
    body = response.get_data()
    etag = body_etag(body)
    now = current_app.extensions["linkage"].clock()
    max_age = max_age_for(request.endpoint, "at" in request.args, body, now, g.get("linkage_served_document"))
    response.set_etag(etag)
    # The embed key decides whether an answer is given at all: a browser must not reuse one
    # fetched with a valid key for a request with another (or none).
    response.vary.add("X-Linkage-Key")
    # Typed words are kept out of shared caches, as they are out of the logs.
    scope = "private" if has_words() else "public"
    response.headers["Cache-Control"] = f"{scope}, max-age={max_age}"
    if etag in request.if_none_match:
        response.status_code = 304
        response.set_data(b"")
        # A 304 carries no body, so no length of one either.
        response.headers.pop("Content-Length", None)
    return response


def has_words() -> bool:
    """Whether the request carries typed words (`q`): neither shared caches nor this
    process's response cache keep such answers (privacy: words are not logged either)."""
    args = request.args
    return "q" in args and bool(args["q"])  # `in` first: see embed.keys.presented_key


def file_identity(path) -> tuple[int, int] | None:
    """(inode, mtime) of a file, None when absent: a swapped or rewritten file gives a new pair."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


class ResponseCache:
    """A bounded LRU of final responses (status 200), each kept until its max-age runs out."""

    def __init__(self, entries: int):
        self.entries = entries
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self) -> tuple | None:
        """This request's key, or None when it is not cacheable here."""
        if request.method != "GET" or request.endpoint not in CACHED_ENDPOINTS or has_words():
            return None
        linkage = current_app.extensions["linkage"]
        index = getattr(linkage.backend, "path", None)
        if not isinstance(index, (str, Path)):
            return None
        return (request.full_path, request.headers.get("Accept-Encoding", ""),
                request.headers.get("Accept-Language", ""), file_identity(index),
                file_identity(linkage.settings.link_checks_path))

    def get(self, key: tuple, now: datetime):
        """(expires, headers, body) for `key` if still fresh at `now`, else None."""
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] <= now:
                if found is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple, expires: datetime, headers: list, body: bytes) -> None:
        """Keep a response until `expires`; the least recently used goes when full."""
        with self._lock:
            self._items[key] = (expires, headers, body)
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every response."""
        with self._lock:
            self._items.clear()


def install_response_cache(app: Flask, cache: ResponseCache) -> None:
    """Answer repeated requests from `cache`: looked up before the view (after the rate limit
    and key checks, registered earlier), stored after every other after-request step."""

    def answer_from_cache():
        key = cache.key()
        g.linkage_cache_key = key
        if key is None:
            return None
        now = current_app.extensions["linkage"].clock()
        found = cache.get(key, now)
        if found is None:
            return None
        expires, headers, body = found
        g.linkage_cached_response = True
        response = Response(body, status=200, headers=headers)
        left = max(0, math.floor((expires - now).total_seconds()))
        response.headers["Cache-Control"] = f"public, max-age={left}"
        etag, _weak = response.get_etag()
        if etag and etag in request.if_none_match:
            response.status_code = 304
            response.set_data(b"")
            response.headers.pop("Content-Length", None)
        return response

    def store_in_cache(response: Response) -> Response:
        key = g.get("linkage_cache_key")
        if key is None or g.get("linkage_cached_response") or response.status_code != 200:
            return response
        value = response.headers.get("Cache-Control", "")
        if not value.startswith("public, max-age="):
            return response
        seconds = int(value.removeprefix("public, max-age="))
        if seconds <= 0:
            return response
        headers = [(name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers]
        expires = current_app.extensions["linkage"].clock() + timedelta(seconds=seconds)
        cache.put(key, expires, headers, response.get_data())
        return response

    app.before_request(answer_from_cache)
    # After-request functions run last-registered first: at the front of the list this one
    # runs after compression, and so keeps the bytes sent.
    app.after_request_funcs.setdefault(None, []).insert(0, store_in_cache)


def register(app: Flask, entries: int = CACHE_ENTRIES) -> None:
    """Install the caching headers and, when `entries` > 0 (LINKAGE_RESPONSE_CACHE), a response
    cache of that many answers; call after install_compression (see the module docstring)."""
    app.after_request(cache_headers)
    if entries > 0:
        cache = ResponseCache(entries)
        install_response_cache(app, cache)
        app.extensions["linkage_response_cache"] = cache
