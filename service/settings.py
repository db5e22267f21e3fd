"""Configuration, read once by create_app from the environment or a mapping (tests).

Each setting has its real type (a count is an int, a share a float): text from the
environment, a mapping or a command line is converted once, when the Settings is made, and a
value that does not convert stops the start with the variable's name, instead of failing
later at the first request that reads it.
"""

from __future__ import annotations

import math
import os
import typing
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

# A handout PDF's share of LINKAGE_RENDER_RATE_LIMIT: about a second of CPU, where the page,
# the text and the calendar take milliseconds (60/minute allows 12 PDFs a minute).
PDF_RENDER_COST = 5

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
    max_failed_ratio: float = 0.01
    # Replicas per shard for new engine indices: 0 on one node, 1 on a 3-node cluster.
    index_replicas: int = 0
    geocoder: str = "offline"
    gazetteer_dir: str = str(ROOT / "data" / "gazetteer")
    # Processes an import reads a large feed with (indexers.parallel); 0: one per core.
    import_workers: int = 0
    # Per-source caches of the last good import (default: beside the index).
    sources_dir: str | None = None
    # Where HTTP geocoders keep answers, so no address is looked up twice.
    geocode_cache: str = str(ROOT / "var" / "geocode-cache.sqlite")
    # /readyz warns when the index is older than this (hours): feeds have stopped refreshing.
    max_index_age_hours: float = 48.0
    # Listings last checked longer ago than this are marked stale in results.
    stale_after_days: int = 180
    admin_token: str | None = None
    # Referrals live apart from the listings file, which every import replaces.
    referrals_path: str = str(ROOT / "var" / "referrals.sqlite")
    # What `linkage check-links` found, kept apart from the index so imports do not erase it.
    link_checks_path: str = str(ROOT / "var" / "link-checks.sqlite")
    # Anonymous feedback is rate-limited per address.
    feedback_rate_limit: str = "20/minute"
    # Search and the rest of the API, per address (and per embed key and address with a key).
    api_rate_limit: str = "300/minute"
    # Where rate-limit counts live (a `limits` storage URI). Unset: a SQLite file beside the
    # referrals, shared by every worker of this server (service.limits); `redis://host:6379`
    # shares them between servers too. `memory://` counts per worker process.
    ratelimit_storage: str | None = None
    # Handout renders (a cache miss: the first fetch of a format) per client address; repeats
    # are served from the render cache and not counted. A PDF costs about a second of CPU,
    # the other formats a few milliseconds: a PDF counts as PDF_RENDER_COST renders.
    render_rate_limit: str = "60/minute;1000/day"
    # Rendered handouts are kept (service.referrals.render_cache) up to this many bytes in
    # total and this many hours each; the oldest go first. 0 bytes keeps none.
    render_cache_bytes: int = 256 * 1024 * 1024
    render_cache_hours: float = 24.0
    # Answers kept in memory per worker (service.http_cache), each for its own max-age; 0: none.
    response_cache: int = 2048
    # Unset: a SQLite file beside the referrals, shared by the server's workers.
    render_cache_path: str | None = None
    # Referrals one client address may store, and how many the store holds in all (expired
    # ones are purged when it is full): a 429 and a 507 beyond them.
    referral_client_limit: str = "120/minute;2000/day"
    referral_store_max: int = 500_000
    # Reverse proxies in front that set X-Forwarded-For/-Proto (nginx, an ingress): 0 when
    # clients connect directly. Without it, rate limits would count every client as the proxy.
    proxy_hops: int = 0
    # The address people reach the service at, for handout links, QR codes and the embed
    # snippet. Unset, each answer uses the address its request came to (so `make run
    # PORT=9000` hands out working links); set it in production behind a proxy.
    public_url: str | None = None

    def __post_init__(self):
        # Frozen, so the converted values are set past the dataclass's guard.
        for name, kind in _field_types(type(self)).items():
            object.__setattr__(self, name, _convert(name, kind, getattr(self, name)))
        for name in ("feedback_rate_limit", "api_rate_limit", "render_rate_limit", "referral_client_limit"):
            _check_limits(name, getattr(self, name))

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
        """Settings from LINKAGE_* variables (an empty one counts as unset), defaults for the
        rest; SettingsError names the first variable whose value does not convert."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            name = variable(field.name)
            if environ.get(name):
                values[field.name] = environ[name]
        return cls(**values)

    @classmethod
    def from_mapping(cls, mapping) -> "Settings":
        """Settings from a mapping of field names (tests pass these instead of patching): typed
        values, or text as the environment would give it, converted the same way."""
        known = {f.name for f in fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**mapping)



class SettingsError(ValueError):
    """A setting's value is not of its kind; the message names the LINKAGE_* variable."""


def variable(name: str) -> str:
    """The environment variable of a setting: `proxy_hops` -> `LINKAGE_PROXY_HOPS`."""
    return f"LINKAGE_{name.upper()}"


@cache
def _field_types(cls) -> dict[str, object]:
    """Each field's declared type (annotations are text under `from __future__ import annotations`)."""
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in fields(cls)}


def _convert(name: str, kind, value):
    """`value` as a `kind` (int, float, str, or one of them or None), or SettingsError."""
    if value is None:
        if type(None) in typing.get_args(kind):
            return None
        raise SettingsError(f"{variable(name)} must be set")
    kind = next((k for k in typing.get_args(kind) if k is not type(None)), kind)
    if kind is int:
        return _whole_number(name, value)
    if kind is float:
        return _number(name, value)
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise SettingsError(f"{variable(name)} must be text, got {value!r}")


def _whole_number(name: str, value) -> int:
    """A count (replicas, proxy hops, days): 0 or more, from an int or its digits."""
    # bool is an int to Python, but True replicas is a mistake, not a count.
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        try:
            number = int(value.strip()) if isinstance(value, str) else None
        except ValueError:
            number = None
    if number is None or number < 0:
        raise SettingsError(f"{variable(name)} must be a whole number, got {value!r}")
    return number


def _number(name: str, value) -> float:
    """A share or a duration: a finite number, 0 or more, from an int, a float or its text."""
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
    if number is None or not math.isfinite(number) or number < 0:
        raise SettingsError(f"{variable(name)} must be a number, 0 or more, got {value!r}")
    return number


def _check_limits(name: str, value: str) -> None:
    """Rate limits in the `limits` notation ("20/minute;200/day"), or SettingsError naming the variable."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise SettingsError(f"{variable(name)} must be limits such as 20/minute;200/day, got {value!r}") from None
