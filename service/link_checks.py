"""Link-check results: what `linkage check-links` (indexers.links) found, and what pages read.

One SQLite file, replaced whole by each run (save_checks) and read by the web app
(dead_links) a page of listing ids at a time. A link is shown as dead only once it has
failed on checks at least CONFIRM_DEAD_AFTER apart.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

log = logging.getLogger("linkage")

# A dead link is shown only after failing on checks this far apart: one bad night at a
# clinic's host should not flag its page to every clinician.
CONFIRM_DEAD_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class LinkCheck:
    """One URL as recorded: which listings use it and how it last answered."""

    url: str
    listing_ids: tuple[str, ...]
    status: str
    http_status: int | None
    reason: str
    first_failed_at: str | None
    last_checked_at: str


def _instant(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def confirmed_dead(check: LinkCheck) -> bool:
    """Dead at its last check, and failing since at least CONFIRM_DEAD_AFTER before it."""
    if check.status != "dead" or not check.first_failed_at:
        return False
    return _instant(check.last_checked_at) - _instant(check.first_failed_at) >= CONFIRM_DEAD_AFTER


SCHEMA = """
CREATE TABLE link_checks (
    url TEXT PRIMARY KEY,
    listing_ids TEXT NOT NULL,          -- JSON array, for reports
    status TEXT NOT NULL CHECK (status IN ('ok', 'dead', 'unsure')),
    http_status INTEGER,
    reason TEXT NOT NULL,
    first_failed_at TEXT,
    last_checked_at TEXT NOT NULL
);
-- The web app asks by listing id, a page of results at a time.
CREATE TABLE link_listings (
    listing_id TEXT NOT NULL,
    url TEXT NOT NULL REFERENCES link_checks(url),
    PRIMARY KEY (listing_id, url)
);
"""
COLUMN_NAMES = ("url", "listing_ids", "status", "http_status", "reason", "first_failed_at", "last_checked_at")
COLUMNS = ", ".join(COLUMN_NAMES)
# A new file left behind by a killed run is removed by a later save after this long.
LEFTOVER_AGE_S = 3600


def _row_to_check(row) -> LinkCheck:
    url, listing_ids, status, http_status, reason, first_failed_at, last_checked_at = row
    return LinkCheck(url, tuple(json.loads(listing_ids)), status, http_status, reason,
                     first_failed_at, last_checked_at)


def save_checks(path: str | Path, checks: Iterable[LinkCheck]) -> None:
    """Write the checks to a new file beside `path` and swap it in.

    Readers see the old file or the new one, never a journal or half a file; a run killed
    while writing leaves `path` as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}."
    for leftover in path.parent.glob(glob.escape(prefix) + "*.new*"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > LEFTOVER_AGE_S:
                leftover.unlink()
    new = path.with_name(f"{prefix}{uuid.uuid4().hex}.new")
    try:
        conn = sqlite3.connect(new)
        try:
            with conn:
                conn.executescript(SCHEMA)
                for check in checks:
                    conn.execute(
                        f"INSERT INTO link_checks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (check.url, json.dumps(list(check.listing_ids)), check.status, check.http_status,
                         check.reason, check.first_failed_at, check.last_checked_at),
                    )
                    conn.executemany("INSERT INTO link_listings (listing_id, url) VALUES (?, ?)",
                                     [(listing_id, check.url) for listing_id in check.listing_ids])
        finally:
            conn.close()
        if path.exists():
            shutil.copymode(path, new)  # the web app's user may read it through its group
        os.replace(new, path)
    except BaseException:
        new.unlink(missing_ok=True)
        raise


def _read_only(path: Path) -> sqlite3.Connection | None:
    """A read-only connection, or None when no run has recorded anything yet."""
    if not path.exists():
        return None
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def load_checks(path: str | Path) -> list[LinkCheck]:
    """Every recorded check, by URL; empty before the first run (sqlite3.Error or ValueError
    for a damaged file)."""
    conn = _read_only(Path(path))
    if conn is None:
        return []
    try:
        rows = conn.execute(f"SELECT {COLUMNS} FROM link_checks ORDER BY url").fetchall()
    finally:
        conn.close()
    return [_row_to_check(row) for row in rows]


def dead_links(path: str | Path, listing_ids: Iterable[str]) -> dict[str, list[LinkCheck]]:
    """The confirmed dead links of each of these listings (listings with none are left out),
    by listing id, each listing's by URL.

    Read from the file once per version of it (`_dead_by_listing`): every search asks, for
    a page of ids, and opening the file and asking it was about a tenth of a search request.
    Never raises on a damaged file: it logs a warning and flags nothing, so pages keep serving.
    """
    wanted = set(listing_ids)
    if not wanted:
        return {}
    every = _dead_by_listing(Path(path))
    return {listing_id: list(every[listing_id]) for listing_id in sorted(wanted) if listing_id in every}


# Path -> (the file's identity when read, its confirmed dead links by listing id). A run
# replaces the file whole (save_checks), so a new run is a new inode, size and times.
_read: dict[str, tuple[tuple, dict[str, tuple[LinkCheck, ...]]]] = {}


def _dead_by_listing(path: Path) -> dict[str, tuple[LinkCheck, ...]]:
    """Every confirmed dead link in the file at `path`, by listing id, as of the file's
    current version: read again only when the file is another one (or changed in place)."""
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return {}  # no run has recorded anything yet
    identity = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
    known = _read.get(str(path))
    if known is not None and known[0] == identity:
        return known[1]
    found: dict[str, list[LinkCheck]] = {}
    try:
        conn = _read_only(path)
        if conn is None:
            return {}
        try:
            rows = conn.execute(
                f"SELECT l.listing_id, {', '.join('c.' + name for name in COLUMN_NAMES)} "
                f"FROM link_listings l JOIN link_checks c ON c.url = l.url "
                f"WHERE c.status = 'dead' AND c.first_failed_at IS NOT NULL "
                f"ORDER BY l.listing_id, c.url").fetchall()
        finally:
            conn.close()
        for listing_id, *row in rows:
            check = _row_to_check(row)
            if confirmed_dead(check):
                found.setdefault(listing_id, []).append(check)
    except (sqlite3.Error, ValueError) as exc:  # ValueError: a bad JSON list or timestamp
        # Said once per version of the file, not on every search while it stays damaged.
        log.warning("cannot read link checks from %s, flagging no dead links: %s", path, exc)
        found = {}
    dead = {listing_id: tuple(checks) for listing_id, checks in found.items()}
    _read[str(path)] = (identity, dead)  # one assignment: threads see the old entry or this one
    return dead
