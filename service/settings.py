"""Configuration, read once by create_app from the environment or a mapping (tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

# The repository (or installed tree) root: data/ sits beside service/.
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know about its environment."""

    backend: str = "sqlite"
    sqlite_path: str = str(ROOT / "var" / "linkage.sqlite")
    search_url: str | None = None
    # A CA bundle for clusters whose https certificate a private authority signed.
    search_ca_certs: str | None = None
    index: str = "linkage-listings"
    # A load whose failed documents exceed this share is refused and the old index kept.
    max_failed_ratio: str = "0.01"
    # Replicas per shard for new engine indices: 0 on one node, 1 on a 3-node cluster.
    index_replicas: str = "0"
    geocoder: str = "offline"
    gazetteer_dir: str = str(ROOT / "data" / "gazetteer")
    # Per-source caches of the last good import (default: beside the index).
    sources_dir: str | None = None
    # Where HTTP geocoders keep answers, so no address is looked up twice.
    geocode_cache: str = str(ROOT / "var" / "geocode-cache.sqlite")
    # /readyz warns when the index is older than this (hours): feeds have stopped refreshing.
    max_index_age_hours: str = "48"
    # Listings last checked longer ago than this are marked stale in results.
    stale_after_days: str = "180"
    admin_token: str | None = None
    # Referrals live apart from the listings file, which every import replaces.
    referrals_path: str = str(ROOT / "var" / "referrals.sqlite")
    # What `linkage check-links` found, kept apart from the index so imports do not erase it.
    link_checks_path: str = str(ROOT / "var" / "link-checks.sqlite")
    # Anonymous feedback is rate-limited per address; a Redis URL shares counts between workers.
    feedback_rate_limit: str = "20/minute"
    # Search and the rest of the API, per embed key (or per address without one).
    api_rate_limit: str = "300/minute"
    ratelimit_storage: str = "memory://"
    # Reverse proxies in front that set X-Forwarded-For/-Proto (nginx, an ingress): 0 when
    # clients connect directly. Without it, rate limits would count every client as the proxy.
    proxy_hops: str = "0"
    # The address people reach the service at, for handout links, QR codes and the embed
    # snippet. Unset, each answer uses the address its request came to (so `make run
    # PORT=9000` hands out working links); set it in production behind a proxy.
    public_url: str | None = None

    def public_base(self, request_root: str | None = None) -> str:
        """The public address without a trailing slash: the setting, else the request's own
        root, else where `linkage serve` listens (HOST and PORT)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if request_root:
            return request_root.rstrip("/")
        return f"http://{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"

    def sources_directory(self) -> Path:
        """Where each source's last good import is kept: beside the SQLite file, or per alias."""
        if self.sources_dir:
            return Path(self.sources_dir)
        if self.backend == "sqlite":
            return Path(f"{self.sqlite_path}.sources")
        return ROOT / "var" / f"sources-{self.index}"

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        """Settings from LINKAGE_* variables, defaults for the rest."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            name = f"LINKAGE_{field.name.upper()}"
            if environ.get(name):
                values[field.name] = environ[name]
        return cls(**values)

    @classmethod
    def from_mapping(cls, mapping) -> "Settings":
        """Settings from a mapping of field names (tests pass these instead of patching)."""
        known = {f.name for f in fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**mapping)
