"""Rendered handouts, kept so each format of a referral is rendered once per server.

A handout PDF costs a few hundred milliseconds of CPU (more in a cold process); the same handout is fetched again and again
(the client's phone, the clinic's printer, a flood). What a rendering shows depends only on
what `render.handout.rendering_key` hashes (the handout as built for the request, the
renderer's own files), so a stored body under that key is the body a render would give now.

The cache is one SQLite file beside the referrals (every worker of a server opens it; each
write is one transaction, so a reader sees a whole body or none). It is bounded in bytes and
evicted by age: entries older than `max_age_s` go, and when the total passes `max_bytes`
the oldest go first. On an engine backend the cache is still this local file: each server
renders a handout once. A copy with a clinician's note never comes here (views/referrals.py).

While one worker renders a key, others asking for it wait for that body (up to
`CLAIM_SECONDS`) instead of rendering the same PDF at the same time.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

# How long others wait for a render in progress before rendering themselves.
CLAIM_SECONDS = 15.0
POLL_SECONDS = 0.05


def default_cache_path(referrals_path: str | os.PathLike) -> Path:
    """Where the embedded default keeps rendered handouts: beside the referrals file."""
    path = Path(referrals_path)
    return path.with_name(path.stem + "-renders.sqlite")


class RenderCache:
    """Rendered handout bodies by key, in a SQLite file shared by a server's workers."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS renders (key TEXT PRIMARY KEY, made REAL NOT NULL, size INTEGER NOT NULL,
                                        body BLOB NOT NULL);
    CREATE INDEX IF NOT EXISTS renders_made ON renders(made);
    CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, until REAL NOT NULL);
    """

    def __init__(self, path: str | os.PathLike, max_bytes: int, max_age_s: float, clock=time.time):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.clock = clock
        self._local = threading.local()

    @property
    def enabled(self) -> bool:
        """False when configured to keep nothing (LINKAGE_RENDER_CACHE_BYTES=0)."""
        return self.max_bytes > 0

    def _conn(self) -> sqlite3.Connection:
        # Per process and thread: workers fork after the app is built.
        owner = (os.getpid(), threading.get_ident())
        if getattr(self._local, "owner", None) != owner:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            # Evicted handouts are overwritten with zeros, as deleted referrals are.
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            # A lost render after a power cut is only rendered again.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(self.SCHEMA)
            self._local.conn, self._local.owner = conn, owner
        return self._local.conn

    def get(self, key: str) -> bytes | None:
        """The stored body under `key` if it is younger than the maximum age, else None."""
        if not self.enabled:
            return None
        row = self._conn().execute("SELECT body FROM renders WHERE key = ? AND made > ?",
                                   (key, self.clock() - self.max_age_s)).fetchone()
        return bytes(row[0]) if row else None

    def put(self, key: str, body: bytes) -> None:
        """Keep `body` under `key` (one transaction), then evict by age to stay within bounds."""
        if not self.enabled:
            return
        if len(body) > self.max_bytes:
            self.release(key)  # too big to keep: whoever waits for it renders it
            return
        now = self.clock()
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT OR REPLACE INTO renders VALUES (?, ?, ?, ?)", (key, now, len(body), body))
            conn.execute("DELETE FROM claims WHERE key = ?", (key,))
            conn.execute("DELETE FROM renders WHERE made <= ?", (now - self.max_age_s,))
            total = conn.execute("SELECT COALESCE(SUM(size), 0) FROM renders").fetchone()[0]
            if total > self.max_bytes:
                # The oldest first, until the rest fits.
                kept, cut = 0, None
                for made, size in conn.execute("SELECT made, size FROM renders ORDER BY made DESC, key DESC"):
                    if kept + size > self.max_bytes:
                        cut = made
                        break
                    kept += size
                if cut is not None:
                    conn.execute("DELETE FROM renders WHERE made <= ? AND key != ?", (cut, key))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def total_bytes(self) -> int:
        """Bytes of rendered bodies kept now."""
        return self._conn().execute("SELECT COALESCE(SUM(size), 0) FROM renders").fetchone()[0]

    def claim(self, key: str) -> bool:
        """True when this caller should render `key` (nobody else is rendering it)."""
        if not self.enabled:
            return True
        now = self.clock()
        conn = self._conn()
        conn.execute("DELETE FROM claims WHERE until <= ?", (now,))
        taken = conn.execute("INSERT OR IGNORE INTO claims VALUES (?, ?)", (key, now + CLAIM_SECONDS)).rowcount
        return taken == 1

    def release(self, key: str) -> None:
        """Give up a claim without a body (the render failed): the next asker renders."""
        if self.enabled:
            self._conn().execute("DELETE FROM claims WHERE key = ?", (key,))

    def wait_for(self, key: str) -> bytes | None:
        """The body another worker is rendering under `key`, once stored; None when its claim
        lapsed or was released without one."""
        deadline = time.monotonic() + CLAIM_SECONDS
        while time.monotonic() < deadline:
            body = self.get(key)
            if body is not None:
                return body
            claimed = self._conn().execute("SELECT 1 FROM claims WHERE key = ? AND until > ?",
                                           (key, self.clock())).fetchone()
            if not claimed:
                return self.get(key)
            time.sleep(POLL_SECONDS)
        return None

    def fetch(self, key: str, render, allow) -> tuple[bytes, bool]:
        """The body under `key`: kept, awaited from another worker's render, or made here by
        `render()` after `allow()` (which raises to refuse a render; repeats never call it).
        Returns (body, True when rendered here)."""
        body = self.get(key)
        if body is not None:
            return body, False
        if not self.claim(key):
            body = self.wait_for(key)
            if body is not None:
                return body, False
            self.claim(key)
        try:
            allow()
            body = render()
        except BaseException:
            self.release(key)
            raise
        self.put(key, body)
        return body, True
