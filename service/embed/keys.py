"""Embedding: public keys that name the sites allowed to call the API from a browser.

A key is public (it sits in the site's HTML); what it grants is CORS for its origins
(`service.embed.cors`) and rate-limit buckets of its own, one per visitor's address; it is
accepted only with the Origin it was registered for. Requests carry it as the `key` query
parameter or the `X-Linkage-Key` header. Same-origin use (our own pages) needs no key.
Keys are kept by `service.embed.store`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import request

KEY_PREFIX = "pk_"
# Lookups are cached briefly per worker: a revoked key stops working within this time.
CACHE_SECONDS = 60.0


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
    """Keys by value, from a key store (`service.embed.store`), cached for CACHE_SECONDS."""

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
    args = request.args
    # `in` first: MultiDict.get of a missing name raises and catches an exception inside.
    return (args["key"] if "key" in args else None) or request.headers.get("X-Linkage-Key") or None


def rate_limit_key() -> str:
    """Rate-limit bucket: the caller's address, under the embed key when one is presented.

    A key is public (it sits in the site's HTML), so a bucket per key alone could be emptied
    by anyone who copies it, and the site's visitors would be refused; per key and address,
    each visitor has an allowance of their own."""
    key = presented_key()
    return f"key:{key}:ip:{request.remote_addr}" if key else f"ip:{request.remote_addr}"
