"""Embedding: public keys that name the sites allowed to call the API from a browser.

A key is public (it sits in the site's HTML); what it grants is CORS for its origins and
its own rate-limit bucket. Requests carry it as the `key` query parameter or the
`X-Linkage-Key` header. Same-origin use (our own pages) needs no key.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, g, request

from service.errors import ApiError

KEY_PREFIX = "pk_"
# Lookups are cached briefly per worker: a revoked key stops working within this time.
CACHE_SECONDS = 60.0
CORS_HEADERS = "Content-Type, X-Linkage-Key"
# The handout's SMS text, which a widget on a key's site fetches to show and copy.
HANDOUT_TEXT = re.compile(r"/r/[^/]+\.txt")


@dataclass(frozen=True)
class EmbedKey:
    """A public embed key and the origins it serves."""

    key: str
    name: str
    origins: tuple[str, ...]


def new_key() -> str:
    """A fresh public key."""
    return KEY_PREFIX + secrets.token_urlsafe(16)


def clean_origin(text: str) -> str:
    """`https://clinic.example/path` -> `https://clinic.example`; ValueError if not an origin."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin like https://clinic.example")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


class KeyCache:
    """Keys by value, from the store, cached for CACHE_SECONDS."""

    def __init__(self, store, clock=time.monotonic):
        self.store = store
        self.clock = clock
        self._keys: dict[str, EmbedKey] = {}
        self._origins: frozenset[str] = frozenset()
        self._loaded = -CACHE_SECONDS

    def _refresh(self) -> None:
        if self.clock() - self._loaded < CACHE_SECONDS:
            return
        keys = [EmbedKey(k["key"], k["name"], tuple(k["origins"])) for k in self.store.list_keys()]
        self._keys = {k.key: k for k in keys}
        self._origins = frozenset(o for k in keys for o in k.origins)
        self._loaded = self.clock()

    def _refresh_on_miss(self) -> None:
        # A key created a moment ago should work at once; misses re-read at most once a second.
        if self.clock() - self._loaded > 1.0:
            self._loaded = -CACHE_SECONDS
            self._refresh()

    def get(self, key: str) -> EmbedKey | None:
        """The key's record, or None."""
        self._refresh()
        if key not in self._keys:
            self._refresh_on_miss()
        return self._keys.get(key)

    def any_allows(self, origin: str) -> bool:
        """True when some key serves this origin (for preflights, which carry no key)."""
        self._refresh()
        if origin not in self._origins:
            self._refresh_on_miss()
        return origin in self._origins


def presented_key() -> str | None:
    """The embed key on this request, if any."""
    return request.args.get("key") or request.headers.get("X-Linkage-Key") or None


def rate_limit_key() -> str:
    """Rate-limit bucket: the embed key when one is presented, else the caller's address."""
    key = presented_key()
    return f"key:{key}" if key else f"ip:{request.remote_addr}"


def keyed_path(path: str) -> bool:
    """Paths a widget calls with its key: the API and the handout's SMS text."""
    return path.startswith("/v1/") or HANDOUT_TEXT.fullmatch(path) is not None


def install_cors(app: Flask, keys: KeyCache) -> None:
    """Answer CORS for the origins of the key presented (the public feed stays open to all).

    A refused key's 403 carries CORS for the asking origin, and so does the preflight of a request
    that will present a key, so the widget can read the refusal and say so: the answer grants
    nothing, since the request itself is refused before it reaches a view.
    """

    def own_origin(origin: str) -> bool:
        return origin == request.host_url.rstrip("/")

    @app.before_request
    def check_key():
        if not keyed_path(request.path):
            return None
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS":
            wants_key = "x-linkage-key" in request.headers.get("Access-Control-Request-Headers", "").lower()
            if origin and (wants_key or keys.any_allows(origin) or own_origin(origin)):
                response = app.make_default_options_response()
                response.status_code = 204
                _allow(response, origin)
                return response
            return None
        key = presented_key()
        if key is None:
            if "X-Linkage-Key" in request.headers and origin and not own_origin(origin):
                # Sent empty: its preflight was answered on the promise of a key.
                g.linkage_key_refused = True
                raise ApiError(403, "bad_key", "the embed key is empty", "key")
            return None
        found = keys.get(key)
        if found is None:
            g.linkage_key_refused = True
            raise ApiError(403, "bad_key", "unknown embed key: the site's web team needs a key from the directory's operators", "key")
        if origin and not own_origin(origin) and origin not in found.origins:
            g.linkage_key_refused = True
            raise ApiError(403, "origin_not_allowed",
                           f"this embed key is not valid for {origin}", "key")
        return None

    @app.after_request
    def add_cors(response):
        origin = request.headers.get("Origin")
        if not origin or not keyed_path(request.path) or "Access-Control-Allow-Origin" in response.headers:
            return response
        if g.get("linkage_key_refused"):
            _allow(response, origin)  # the refusal only, so the page can show why
            return response
        key = presented_key()
        if key:
            found = keys.get(key)
            if found and origin in found.origins:
                _allow(response, origin)
        return response


def _allow(response, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
