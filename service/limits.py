"""Rate limits that hold for a whole server: where the counts live, and allowances per client.

`install_request_limits` counts requests to the API, feedback and stored referrals in the
storage `limits` builds from LINKAGE_RATELIMIT_STORAGE. A `memory://` store counts per worker
process, so three gunicorn workers would allow three times the limit. The embedded default
is therefore a SQLite file beside the referrals (`linkage-sqlite:///path`, the
`SQLiteStorage` below, registered with `limits` under its own scheme), which every worker of
one server opens; a Redis or Valkey URL (`redis://host:6379`,
needs the `redis` package) shares the counts between servers as well.

`Allowances` counts other things per client in the same storage: handout renders and stored
referrals (see views/referrals.py).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from service.errors import ApiError

SCHEME = "linkage-sqlite"
# Expired counters are deleted by one increment in this many, so the file stays small
# without a sweep on every request.
PURGE_EVERY = 500


def sqlite_uri(path: str | os.PathLike) -> str:
    """The `limits` storage URI of a SQLite counts file at `path`."""
    return f"{SCHEME}://{quote(str(Path(path).resolve()))}"


def default_storage_path(referrals_path: str | os.PathLike) -> Path:
    """Where the embedded default keeps its counts: beside the referrals file."""
    path = Path(referrals_path)
    return path.with_name(path.stem + "-limits.sqlite")


class SQLiteStorage(Storage):
    """Fixed-window counters in one SQLite file, shared by every process that opens it.

    Each increment is one atomic upsert (SQLite's write lock orders the workers), so the
    count a worker reads back includes every other worker's hits. Counters are rows of
    (key, count, expires); a row past its expiry counts as zero and is reused or purged.
    """

    STORAGE_SCHEME = [SCHEME]
    SCHEMA = "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        parts = urlsplit(uri or "")
        if parts.netloc or not parts.path.startswith("/"):
            raise ValueError(f"{uri!r}: a SQLite rate-limit store is named {SCHEME}:///absolute/path/file.sqlite")
        self.path = Path(unquote(parts.path))
        self._local = threading.local()
        self._increments = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        """What a storage failure raises (`limits` may wrap it)."""
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        # One connection per process and thread: gunicorn forks workers after the app is
        # built, and a SQLite connection must not cross a fork or be shared by threads.
        owner = (os.getpid(), threading.get_ident())
        if getattr(self._local, "owner", None) != owner:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            # Counts lost to a power cut only forgive a few requests; the file stays sound.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(self.SCHEMA)
            self._local.conn, self._local.owner = conn, owner
        return self._local.conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's count (a fresh window of `expiry` seconds when none runs); the new count."""
        now = time.time()
        conn = self._conn()
        count = conn.execute(
            "INSERT INTO counters (key, count, expires) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN counters.expires <= ?4 THEN excluded.count ELSE counters.count + excluded.count END, "
            "expires = CASE WHEN counters.expires <= ?4 THEN excluded.expires ELSE counters.expires END "
            "RETURNING count", (key, amount, now + expiry, now)).fetchone()[0]
        self._increments += 1
        if self._increments % PURGE_EVERY == 0:
            conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return count

    def get(self, key: str) -> int:
        """The key's count in its current window (0 when none runs)."""
        row = self._conn().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (now when none runs)."""
        now = time.time()
        row = self._conn().execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, now)).fetchone()
        return row[0] if row else now

    def check(self) -> bool:
        """True when the file can be read."""
        try:
            self._conn().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        """Forget every count; how many counters there were."""
        return self._conn().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))


class Allowances:
    """Allowances per client counted in the rate limiter's storage, so every worker (and,
    with Redis, every server) draws on the same ones."""

    def __init__(self, storage: Storage):
        self.limiter = FixedWindowRateLimiter(storage)

    def take(self, limits_text: str, name: str, client: str, cost: int = 1) -> str | None:
        """Count one use of allowance `name` by `client` against each of `limits_text`
        ("20/minute;200/day"); the first limit already used up, as words ("20 per 1 minute"),
        or None when the use is allowed (and counted)."""
        # A use never costs more than a whole limit, or a small limit would refuse it always.
        items = [(item, min(cost, item.amount)) for item in parse_many(limits_text)]
        for item, share in items:
            if not self.limiter.test(item, name, client, cost=share):
                return str(item)
        for item, share in items:
            if not self.limiter.hit(item, name, client, cost=share):
                return str(item)  # another worker took the last one meanwhile
        return None


@dataclass(frozen=True)
class RequestLimit:
    """A limit on requests: each of `items` ("300/minute;5000/day", parsed) counted per
    `key()` (the client's bucket) under `scope` (what is being limited)."""

    items: tuple[RateLimitItem, ...]
    scope: str
    key: Callable[[], str]

    @classmethod
    def of(cls, limits_text: str, scope: str, key: Callable[[], str]) -> "RequestLimit":
        """A limit from its text, as the LINKAGE_*_RATE_LIMIT settings write it."""
        return cls(tuple(parse_many(limits_text)), scope, key)


def client_address() -> str:
    """The client's address (as ProxyFix left it, behind trusted proxies)."""
    return request.remote_addr or "127.0.0.1"


def install_request_limits(app: Flask, storage: Storage, by_blueprint: dict[str, RequestLimit],
                           by_endpoint: dict[str, RequestLimit]) -> None:
    """Count each request to a limited endpoint (its own limit, else its blueprint's) before
    anything else runs, and refuse it with a 429 naming the limit once one is used up.

    Every limit of the rule is counted, refused requests too, so a client that keeps
    hammering stays refused until the window ends. The rules are looked up in two dicts per
    request: the counting in `storage` is the only work.
    """
    limiter = FixedWindowRateLimiter(storage)

    def check_request_limits() -> None:
        rule = by_endpoint.get(request.endpoint) or by_blueprint.get(request.blueprint)
        if rule is None:
            return
        bucket = rule.key()
        used_up = [item for item in rule.items if not limiter.hit(item, rule.scope, bucket)]
        if used_up:
            raise ApiError(429, "rate_limited", f"Too many requests: the limit is {used_up[0]}; "
                           "please wait a little and try again")

    # Before every other before-request step: a refused request costs no key check or search.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request_limits)
