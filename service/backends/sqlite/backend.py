"""The embedded backend: one SQLite file with FTS5 for text and an R*Tree for places.

Layout: `listings` holds one row per listing with the fields filters need as bit masks
(formats, goals, ...) so every filter is arithmetic on one narrow row; `docs` holds the
stored listing, read only for the page;
`geo` (R*Tree over grid cells) narrows a radius search to a bounding box; `fts` (FTS5)
ranks text;
`sessions` holds each session as minutes since Monday 00:00 local time, so "soonest" can
order candidates by a cheap lower bound before exact times are computed with zoneinfo, and
`time` can be judged on the searcher's clock (time_of_day.session_in_windows) in bulk.
Distances are exact great-circle distances: the radius test compares the dot product of
unit vectors with cos(radius / R), which is the same circle with no trigonometry per row.
"""

from __future__ import annotations

import functools
import glob
import json
import math
import os
import pickle
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from service.domain import geo
from service.domain import ordering

from service.domain import schedule

from service.domain import vocab
from service.domain.models import Hit, Listing, SearchQuery, Session
from service.domain.schemas import listing_document, listing_from_trusted
from service.backends import timed
from service.backends.sqlite import columns
from service.backends.sqlite.insert_rows import insert_batch, staging_connection
from service.backends.contract import WARM_UP, BackendUnavailable, LoadReport, Matches
from service.backends.filters import coverage_areas, is_remote
from service.backends.words import listing_terms, query_words
from service.backends.sqlite.columns import bitmask, unit_vector

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE listings (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    approach TEXT NOT NULL,
    formats INTEGER NOT NULL,
    goals INTEGER NOT NULL,
    substances INTEGER NOT NULL,
    audiences INTEGER NOT NULL,
    days INTEGER NOT NULL,
    languages TEXT NOT NULL,
    service_area TEXT NOT NULL,
    x REAL, y REAL, z REAL,
    remote INTEGER NOT NULL,
    open_24_7 INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    active INTEGER NOT NULL,
    demo INTEGER NOT NULL,
    cell INTEGER,
    monthly INTEGER NOT NULL
);
CREATE INDEX listings_remote ON listings(remote) WHERE remote = 1;
-- The stored listing lives apart, so scans over the filter columns stay on a few pages.
CREATE TABLE docs (rid INTEGER PRIMARY KEY, doc TEXT NOT NULL);
-- monthly: 0 for a weekly session, else its rule (vocab.MONTHLY_RULES, counted from 1).
CREATE TABLE sessions (rid INTEGER NOT NULL, start_mow INTEGER NOT NULL, duration INTEGER NOT NULL,
    monthly INTEGER NOT NULL);
CREATE INDEX sessions_rid ON sessions(rid);
-- One R*Tree entry per grid cell that holds listings, spanning its listings: a box query
-- returns a few hundred cells, not tens of thousands of rows.
CREATE VIRTUAL TABLE geo USING rtree(cell, min_lat, max_lat, min_lon, max_lon);
CREATE VIRTUAL TABLE fts USING fts5(name, program, description, terms,
    tokenize = 'unicode61 remove_diacritics 2');
"""

# Answers to recent text queries kept per worker (see SQLiteBackend._text_rows).
TEXT_CACHE_SIZE = 32
# Candidate rows of recent places kept per worker (see SQLiteBackend._area): at 1,000,000
# listings an entry is two bool masks of 1 MB, a city's rows (about 1.7 MB) and, once a
# search without words asks, those within reach with their cosines (about 3.2 MB), so at
# most about 115 MB; at 100,000 a tenth of that.
AREA_CACHE_SIZE = 16
# Stored listings of recent pages kept decoded per worker (see SQLiteBackend._documents):
# a few MB, and the listings near busy places come back page after page.
DOCUMENT_CACHE_SIZE = 4096
# Rows whose soonest rank the first round of _settle_soonest settles (at least a page's), each
# later round twice as many: a page is usually settled in one or two rounds, and when thousands
# of bounds tie (services opening at 9:00 in a zone whose clocks change) a dozen rounds reach
# them all.
SETTLE_BATCH = 64
# Column weights for bm25: a word in the name matters most.
FTS_WEIGHTS = (4.0, 2.0, 1.0, 1.0)


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing a circle; whole longitudes near poles."""
    dlat = math.degrees(radius_km / geo.EARTH_RADIUS_KM)
    cos_lat = math.cos(math.radians(lat))
    if abs(lat) + dlat >= 89.0 or cos_lat < 1e-6:
        return (max(-90.0, lat - dlat), min(90.0, lat + dlat), -180.0, 180.0)
    dlon = math.degrees(math.asin(min(1.0, math.sin(radius_km / geo.EARTH_RADIUS_KM) / cos_lat)))
    if lon - dlon < -180 or lon + dlon > 180:
        # The box would wrap the antimeridian; search every longitude instead.
        return (lat - dlat, lat + dlat, -180.0, 180.0)
    return (lat - dlat, lat + dlat, lon - dlon, lon + dlon)


def fts_expression(text: str) -> str | None:
    """A safe FTS5 query: every word must match (or its synonym); the last may be a prefix."""
    words = query_words(text)
    if not words:
        return None
    clauses = []
    for i, word in enumerate(words):
        options = [f'"{word}"']
        if i == len(words) - 1 and len(word) >= 3:
            options.append(f'"{word}"*')
        synonym = vocab.SUBSTANCE_SYNONYMS.get(word)
        if synonym:
            options.extend(f'"{part}"' for part in synonym.split("_"))
        clauses.append("(" + " OR ".join(options) + ")")
    return " AND ".join(clauses)


# The layout of the index file, kept in its PRAGMA user_version. Bump it whenever SCHEMA or
# what the reader expects changes, so an older file is refused with a message saying what to do
# rather than failing a query halfway ("no such column").
# 3: the listings' (weekday, part of day) slots; 4: without them (`time` reads sessions);
# 5: each session's monthly rule (columns.monthly_raised).
INDEX_FORMAT = 5
# Formats read as well as written: format 4 lacks only the sessions' monthly rules, which make
# soonest searches quicker and change no answer, so an index built before an upgrade keeps
# serving (read as if every session were weekly: columns.read_columns) until the next refresh.
READABLE_FORMATS = (4, INDEX_FORMAT)

# Connections inherited from a parent process: kept referenced so they are never closed here.
_INHERITED_CONNECTIONS: list[sqlite3.Connection] = []

# A damaged file is looked for where it costs least: once per file and process, when the file
# is first opened (at warm-up in a preloading master, whose workers inherit the verdict, and
# after every swap). quick_check reads every page and checks each b-tree's structure, without
# integrity_check's cross-check of indexes against tables: 85 ms for a 49 MB index here.
# The argument bounds the problems it lists, not the pages it reads.
QUICK_CHECK_PROBLEMS = 3
# SQLite's primary result codes for a failure that may pass (SQLITE_BUSY, SQLITE_NOMEM,
# SQLITE_IOERR, SQLITE_CANTOPEN): the file is tried again on the next read, not refused.
_PASSING_ERRORS = frozenset({5, 7, 10, 14})
# A staging file older than this is a leftover of a killed load, removed by the next load.
LEFTOVER_AGE_SECONDS = 3600


def _unversioned_format(conn: sqlite3.Connection) -> int:
    """The format of a file written before formats were recorded (user_version 0), from its
    layout: 4 with the grid cell and no slots, 5 with the sessions' monthly rules too; else 0."""
    try:
        conn.execute("SELECT cell, monthly FROM listings LIMIT 0")
    except sqlite3.DatabaseError:
        return 0
    try:
        conn.execute("SELECT slots FROM listings LIMIT 0")
    except sqlite3.DatabaseError:
        return 5 if columns.has_session_rules(conn) else 4
    return 0


def _not_a_file(mode: int) -> str | None:
    """What a path that should be an index file is instead, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return "a directory" if stat.S_ISDIR(mode) else "a special file (a pipe, socket or device)"


class _OpenIndex:
    """One index file as this process reads it: its identity, a connection, its filter columns.

    Shared by every thread: after a swap, whichever read finishes last with the old file
    closes it, so no idle thread (and no forked worker) keeps the replaced file's space.
    """

    def __init__(self, identity: tuple[int, int], conn: sqlite3.Connection):
        self.identity = identity
        self.conn: sqlite3.Connection | None = conn
        self.pid = os.getpid()
        self.readers = 0
        self.retired = False
        self.columns: columns.Columns | None = None
        self.text_cache: OrderedDict = OrderedDict()
        self.area_cache: OrderedDict = OrderedDict()  # see SQLiteBackend._area
        self.document_cache: OrderedDict = OrderedDict()  # rid -> (Listing, stored document)
        self.lock = threading.Lock()  # reading the columns once; the text and area caches


class SQLiteBackend:
    """Listings in one SQLite file, replaced atomically on load."""

    # warm(): a preloading master reads the columns once for all its workers. No rollback:
    # the file is replaced whole. No engine for the app's own state: it goes in SQLite too.
    abilities = frozenset({WARM_UP})

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._current: _OpenIndex | None = None
        # (identity, why) of the last file refused (damaged, another format): not checked again.
        self._refused: tuple[tuple[int, int], str] | None = None
        self._lock = threading.Lock()
        self._pinned = threading.local()  # the file this thread's read is on

    # -- connections -----------------------------------------------------------------

    def _identity(self) -> tuple[int, int]:
        """(inode, mtime) of the file at the path now: a new pair means a swap."""
        try:
            found = self.path.stat()
        except FileNotFoundError:
            raise BackendUnavailable(f"no index at {self.path.name}: run `linkage index`") from None
        except OSError as exc:
            raise BackendUnavailable(f"the index {self.path.name} cannot be read: {exc.strerror}") from None
        problem = _not_a_file(found.st_mode)
        if problem:
            raise BackendUnavailable(self._path_problem(self.path.name, problem))
        return found.st_ino, found.st_mtime_ns

    @staticmethod
    def _path_problem(shown: str | Path, problem: str) -> str:
        return (f"the index path {shown} is {problem}, not an index file: set LINKAGE_SQLITE_PATH "
                "(or --sqlite-path) to the file `linkage index` writes")

    def _acquire(self) -> _OpenIndex:
        """The current file, opened (and checked) after a swap, counted as read until _release."""
        identity = self._identity()
        with self._lock:
            current = self._current
            if current is None or current.identity != identity:
                current = self._switch(identity)
            elif current.pid != os.getpid() or current.conn is None:
                # Forked since (a worker of a master that warmed up), or warmed: a SQLite
                # connection must not cross a fork, so an inherited one is left alone, neither
                # used nor closed, and this process opens its own. The columns read from the
                # same file are kept, shared with the master's pages; its verdict too.
                if current.pid != os.getpid() and current.conn is not None:
                    _INHERITED_CONNECTIONS.append(current.conn)
                current.conn, current.pid, current.readers = self._connect(), os.getpid(), 0
            current.readers += 1
            return current

    def _release(self, index: _OpenIndex) -> None:
        """One read less on `index`; the last read of a swapped-out file closes it."""
        with self._lock:
            index.readers -= 1
            if index.retired and index.readers <= 0:
                self._close(index)

    def _close(self, index: _OpenIndex) -> None:
        """Close `index`'s connection if this process opened it (one inherited is kept)."""
        if index.conn is None:
            return
        if index.pid == os.getpid():
            index.conn.close()
        else:
            _INHERITED_CONNECTIONS.append(index.conn)
        index.conn = None

    def _switch(self, identity: tuple[int, int]) -> _OpenIndex:
        """Open the file now at the path, refused when damaged or in another format; the file
        it replaces is closed now if nothing reads it, else by its last read. Under _lock."""
        old = self._current
        if old is not None:
            self._current = None
            old.retired = True
            if old.readers <= 0 or old.pid != os.getpid():
                self._close(old)
        if self._refused is not None and self._refused[0] == identity:
            raise BackendUnavailable(self._refused[1])
        conn = self._connect()
        try:
            refusal = self._check(conn)
        except BaseException:
            conn.close()
            raise
        if refusal is not None:
            conn.close()
            self._refused = (identity, refusal)  # lasting: this file is not read again
            raise BackendUnavailable(refusal)
        self._current = _OpenIndex(identity, conn)
        return self._current

    def _connect(self) -> sqlite3.Connection:
        """A read-only connection to the path (no check)."""
        try:
            return sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                   check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise BackendUnavailable(f"index {self.path.name} unreadable: {exc}") from exc

    def _check(self, conn: sqlite3.Connection) -> str | None:
        """Why the file must not be read (another format, pages SQLite's quick_check finds
        damaged), or None; a passing failure to read it (I/O, memory) raises BackendUnavailable."""
        try:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found == 0:
                found = _unversioned_format(conn)  # written before the format was recorded
            if found not in READABLE_FORMATS:
                return (f"the index {self.path.name} is in format {found}, this version of Linkage reads "
                        f"format {INDEX_FORMAT}: rebuild it with `linkage refresh` or `linkage index` (or `make run`)")
            problems = [row[0] for row in conn.execute(f"PRAGMA quick_check({QUICK_CHECK_PROBLEMS})")]
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _PASSING_ERRORS:
                raise BackendUnavailable(f"index {self.path.name} unreadable: {exc}") from exc
            problems = [str(exc)]  # "file is not a database", "database disk image is malformed"
        if problems == ["ok"]:
            return None
        found_problems = "; ".join(" ".join(p.split()) for p in problems)[:300]
        return (f"the index {self.path.name} is damaged (SQLite quick_check: {found_problems}): "
                "rebuild it with `linkage refresh` or `linkage index`")

    @contextmanager
    def _reading(self) -> Iterator[_OpenIndex]:
        """One read on one file, whatever swaps meanwhile; SQLite's errors as BackendUnavailable."""
        pinned = getattr(self._pinned, "index", None)
        if pinned is not None:  # inside a read already: the same file
            yield pinned
            return
        index = self._acquire()
        self._pinned.index = index
        try:
            yield index
        except sqlite3.DatabaseError as exc:
            raise BackendUnavailable(f"index {self.path.name} unreadable: {exc}") from exc
        finally:
            self._pinned.index = None
            self._release(index)

    def _connection(self) -> sqlite3.Connection:
        """The connection this thread's read is on, else the current file's."""
        pinned = getattr(self._pinned, "index", None)
        if pinned is not None:
            return pinned.conn
        index = self._acquire()
        self._release(index)
        return index.conn

    def warm(self) -> None:
        """Read the filter columns now (in a preloading master, before workers fork), so
        workers start ready and share those pages, then let the file go: nothing open
        crosses the fork, and a swapped-out file is not kept by the master.

        Nothing to do without an index yet, or with one /readyz reports as unusable; an
        index path that is not a file stops here, naming it."""
        try:
            self._columns()
        except BackendUnavailable as exc:
            try:
                problem = _not_a_file(self.path.stat().st_mode)
            except OSError:
                problem = None
            if problem:
                raise BackendUnavailable(self._path_problem(self.path, problem)) from exc
            return
        with self._lock:
            current = self._current
            if current is not None and current.readers <= 0:
                self._close(current)

    def _columns(self) -> columns.Columns:
        """This file's filter columns as arrays, read once per file (and shared with forks)."""
        with self._reading() as index:
            if index.columns is None:
                with index.lock:
                    if index.columns is None:
                        index.columns = columns.read_columns(index.conn)
            return index.columns

    def _execute(self, sql: str, params=()):
        """Run one statement on this read's file (the one place a search talks to SQLite)."""
        try:
            return self._connection().execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise BackendUnavailable(f"index {self.path.name} unreadable: {exc}") from exc

    def _stored(self, text: str) -> dict:
        """A stored listing's document; a damaged one says so instead of failing the request."""
        try:
            return json.loads(text)
        except ValueError:
            raise BackendUnavailable(f"the index {self.path.name} is damaged: a stored listing "
                                     "is not JSON; rebuild it with `linkage refresh`") from None

    # -- loading ---------------------------------------------------------------------

    def load(self, listings: Iterable[Listing]) -> LoadReport:
        """Write a new file beside the current one, flush it to disk, then swap it in with
        os.replace and flush the directory, so a crash leaves the old file or the new one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        # Unique per load: containers all run as pid 1, and two imports must not share a file.
        staging = self.path.with_name(f"{self.path.name}.new-{uuid.uuid4().hex}")
        staging.unlink(missing_ok=True)
        try:
            loaded = self._write(staging, sorted(listings, key=lambda item: item.id))
            _fsync(staging)
            os.replace(staging, self.path)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        _fsync(self.path.parent)
        return LoadReport(loaded=loaded, target=self.path.name)

    def _remove_leftovers(self) -> int:
        """Remove staging files a killed load left beside the index (only those older than
        LEFTOVER_AGE_SECONDS: a younger one may be another load's, still being written)."""
        removed = 0
        cutoff = time.time() - LEFTOVER_AGE_SECONDS
        for name in glob.glob(glob.escape(str(self.path)) + ".new-*"):
            leftover = Path(name)
            try:
                if leftover.lstat().st_mtime < cutoff and stat.S_ISREG(leftover.lstat().st_mode):
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # gone meanwhile
        return removed

    @staticmethod
    def _write(target: Path, listings: list[Listing]) -> int:
        conn = staging_connection(target)
        try:
            conn.executescript(SCHEMA)
            conn.execute(f"PRAGMA user_version = {INDEX_FORMAT}")
            conn.commit()
            seen: set[str] = set()
            zones: set[str] = set()
            demo = 0
            batch = _RowBatch()
            with _row_inserter(target, conn, len(listings)) as inserter:
                for rid, listing in enumerate(listings, start=1):
                    if listing.id in seen:
                        raise ValueError(f"duplicate listing id {listing.id!r}")
                    seen.add(listing.id)
                    zones.add(listing.timezone)
                    demo += listing.is_demo
                    batch.add(rid, listing)
                    if len(batch) >= WRITE_BATCH:
                        inserter.insert(batch.take())
                inserter.insert(batch.take())
            # Each cell's box spans exactly the listings in it; cells in ascending order.
            conn.executemany("INSERT INTO geo VALUES (?, ?, ?, ?, ?)",
                             [(cell, *box) for cell, box in sorted(batch.boxes.items())])
            meta = {
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "listing_count": str(len(listings)),
                "demo_count": str(demo),
                "timezones": json.dumps(sorted(zones)),
            }
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
            conn.commit()
            conn.execute("ANALYZE")
            conn.commit()
        finally:
            conn.close()
        return len(listings)

    # -- reading ---------------------------------------------------------------------

    def get(self, listing_id: str) -> Listing | None:
        """One listing by id (inactive ones too: a handout may point at them)."""
        with self._reading():
            row = self._execute(
                "SELECT d.doc FROM listings l JOIN docs d ON d.rid = l.rid WHERE l.id = ?", (listing_id,)
            ).fetchone()
            return listing_from_trusted(self._stored(row[0])) if row else None

    def listings(self) -> Iterator[Listing]:
        """Every listing, in id order (rids follow ids), all from one file."""
        # Not pinned to the thread: the caller runs between rows, and may read another file.
        index = self._acquire()
        try:
            for (doc,) in index.conn.execute("SELECT doc FROM docs ORDER BY rid"):
                yield listing_from_trusted(self._stored(doc))
        except sqlite3.DatabaseError as exc:
            raise BackendUnavailable(f"index {self.path.name} unreadable: {exc}") from exc
        finally:
            self._release(index)

    def count(self) -> int:
        """Listings in the index."""
        with self._reading():
            return self._execute("SELECT COUNT(*) FROM listings").fetchone()[0]

    def info(self) -> dict:
        """Build time and counts, from the file's meta table."""
        with self._reading():
            meta = dict(self._execute("SELECT key, value FROM meta").fetchall())
        try:
            return {
                "backend": "sqlite",
                "built_at": datetime.fromisoformat(meta["built_at"]).isoformat() if meta.get("built_at") else None,
                "listing_count": int(meta.get("listing_count", 0)),
                "demo_count": int(meta.get("demo_count", 0)),
            }
        except (TypeError, ValueError):
            raise BackendUnavailable(f"the index {self.path.name} is damaged: its meta table does not "
                                     "hold a build time and counts; rebuild it with `linkage refresh`") from None

    def _documents(self, rids: list[int]) -> dict[int, tuple[Listing, dict]]:
        """Stored listings by rid, with the stored document itself for rendering.

        Decoding a stored listing (JSON, then the Listing) costs more than reading it, and
        depends only on the file, so each worker keeps the last DOCUMENT_CACHE_SIZE decoded
        (per file, shared by its threads; a swapped file starts afresh) and reads only the
        others. The documents are shared: readers copy before adding to one.
        """
        if not rids:
            return {}
        found = {}
        with self._reading() as index:
            cache = index.document_cache
            with index.lock:
                for rid in rids:
                    pair = cache.get(rid)
                    if pair is not None:
                        cache.move_to_end(rid)
                        found[rid] = pair
            missing = [rid for rid in rids if rid not in found]
            if not missing:
                return found
            marks = ",".join("?" * len(missing))
            read = {}
            for rid, text in self._execute(f"SELECT rid, doc FROM docs WHERE rid IN ({marks})", missing):
                document = self._stored(text)
                read[rid] = (listing_from_trusted(document), document)
            with index.lock:
                cache.update(read)
                while len(cache) > DOCUMENT_CACHE_SIZE:
                    cache.popitem(last=False)
        found.update(read)
        return found

    def _listings(self, rids: list[int]) -> dict[int, Listing]:
        """Stored listings by rid."""
        return {rid: pair[0] for rid, pair in self._documents(rids).items()}

    def search(self, query: SearchQuery) -> Matches:
        """R*Tree and FTS5 narrow; numpy filters, counts, facets and orders; zoneinfo settles times."""
        with self._reading():  # every step on one file, whatever swaps meanwhile
            return self._search(query)

    def _search(self, query: SearchQuery) -> Matches:
        cols = self._columns()
        text_rows, text_scores = self._text_rows(query)
        area = self._area(query, cols)
        selection = columns.select(cols, query, area, text_rows, text_scores)
        offset = (query.page - 1) * query.per_page
        needed = offset + query.per_page
        if query.needs_schedule:
            # Only rows with a session that may pass the time filters are bounded and settled.
            near = columns.time_candidates(cols, selection, query, timed.bound_limit(query),
                                           area.sessions_by_start if area is not None else cols.sessions_by_start)
            if near is not None:
                selection = selection.subset(near)
            waits, ranks = self._waits(cols, selection, query, needed)
            keep = np.ones(len(waits), dtype=bool)
            if query.starts_within is not None:
                keep &= waits <= query.starts_within
            if query.open_now:
                keep &= waits <= 0  # in progress, starting this minute, or open 24/7
            keep = columns.kept_index(keep)
            selection, waits, ranks = selection.subset(keep), waits[keep], ranks[keep]
        if query.sort == "soonest":
            positions = (columns.soonest_order(selection, ranks, needed) if query.needs_schedule
                         else self._soonest(cols, selection, query, needed, area))[offset:]
        else:
            positions = columns.order(selection, query, needed)[offset:]
        rows = [int(r) + 1 for r in selection.rows[positions]]
        documents = self._documents(rows)
        hits = tuple(
            Hit(listing, timed.distance_to(listing, query), float(score), document)
            for (listing, document), score in zip((documents[rid] for rid in rows), selection.text[positions].tolist())
        )
        return Matches(total=len(selection.rows), hits=hits,
                       facets=selection.facets(cols))

    def _soonest(self, cols: columns.Columns, selection: columns.Selection, query: SearchQuery,
                 needed: int, area: columns.Area | None) -> np.ndarray:
        """Positions (into the selection) of its first `needed` rows in soonest order, for a
        search without time filters: from the rows that can reach them (columns.soonest_candidates,
        over the sessions of the place's area, which holds every selected row, when there is
        one), else from every selected row's bounds."""
        by_start = area.sessions_by_start if area is not None else cols.sessions_by_start
        found = columns.soonest_candidates(cols, selection, query, needed, by_start)
        if found is None:
            _, ranks = self._waits(cols, selection, query, needed)
            return columns.soonest_order(selection, ranks, needed)
        candidates = selection.subset(found.positions, counted=False)
        _, rank_bounds = columns.monthly_raised(cols, candidates.rows, found.exact, query, found.rank_bounds,
                                                found.rank_bounds)
        ranks = np.where(found.exact, rank_bounds, np.inf)
        self._settle_soonest(cols, candidates, found.exact, ranks, rank_bounds, needed, query)
        return found.positions[columns.soonest_order(candidates, ranks, needed)]

    def _waits(self, cols: columns.Columns, selection: columns.Selection, query: SearchQuery,
               needed: int) -> tuple[np.ndarray, np.ndarray]:
        """Minutes to each selected row's next start, and its soonest rank
        (ordering.soonest_minutes); inf when unscheduled; exact where it matters: the minutes
        where a time filter reads them, the ranks where they can take one of the first
        `needed` places of their audience tier (without a time filter, only they are read).

        The wall-clock bounds are already exact for most rows (see columns.bound_is_exact);
        zoneinfo is consulted only for the others that could pass the time filters or
        reach the first `needed` places of their audience tier.
        """
        # Only what this search reads: start bounds for a time filter, rank bounds for the
        # soonest order. Either is infinite exactly where the other is (rows without
        # sessions), so it stands in for the other's test of that (and is not read otherwise).
        bounds, rank_bounds = columns.lower_bounds(cols, selection.rows, query, starts=query.needs_schedule,
                                                   ranks=query.sort == "soonest")
        bounds = rank_bounds if bounds is None else bounds
        rank_bounds = bounds if rank_bounds is None else rank_bounds
        exact = columns.bound_is_exact(cols, selection.rows, query) | ~np.isfinite(bounds)
        bounds, rank_bounds = columns.monthly_raised(cols, selection.rows, exact, query, bounds, rank_bounds)
        waits = np.where(exact, bounds, np.inf)
        ranks = np.where(exact, rank_bounds, np.inf)
        if query.needs_schedule:
            self._settle(cols, selection.rows, np.flatnonzero(~exact & (bounds <= timed.bound_limit(query))), waits,
                         ranks, query)
        else:
            self._settle_soonest(cols, selection, exact, ranks, rank_bounds, needed, query)
        return waits, ranks

    def _settle_soonest(self, cols: columns.Columns, selection: columns.Selection, exact: np.ndarray,
                        ranks: np.ndarray, rank_bounds: np.ndarray, needed: int, query: SearchQuery) -> None:
        """Settle the soonest `ranks` that could take one of the first `needed` places of their
        tier (columns.unsettled), lowest bound first, a batch at a time: each rank settled can
        only lower the rank a bound must reach, so in a week when a zone's clocks change (its
        every bound inexact) a few batches settle what had been every row of the zone."""
        exact = exact.copy()
        batch_size = max(needed, SETTLE_BATCH)
        while len(todo := np.flatnonzero(columns.unsettled(selection.tier, exact, ranks, rank_bounds, needed))):
            batch = todo[np.argsort(rank_bounds[todo], kind="stable")[:batch_size]]
            self._settle(cols, selection.rows, batch, None, ranks, query)
            exact[batch] = True
            batch_size *= 2

    def _settle(self, cols: columns.Columns, rows: np.ndarray, positions: np.ndarray, waits: np.ndarray | None,
                ranks: np.ndarray, query: SearchQuery) -> None:
        """Fill in, at `positions`, each row's exact minutes to its next start (`waits`; None:
        not asked) and soonest rank (`ranks`; its wait unless sorted soonest), from zoneinfo:
        from the session columns (columns.exact_waits), but for rows with a monthly session,
        whose rule only the stored listing holds."""
        monthly = cols.monthly[rows[positions]]
        weekly = positions[~monthly]
        if len(weekly):
            soonest = query.sort == "soonest"
            found, found_ranks = columns.exact_waits(cols, rows[weekly], query.at, ranks=soonest)
            if waits is not None:
                waits[weekly] = found
            ranks[weekly] = found_ranks if soonest else found
        positions = positions[monthly]
        listings = self._listings([int(r) + 1 for r in rows[positions]])
        for position in positions:
            listing = listings[int(rows[position]) + 1]
            if waits is not None:
                wait = schedule.minutes_until(listing, query.at)
                waits[position] = np.inf if wait is None else wait
            if query.sort == "soonest":
                rank = ordering.soonest_minutes(listing, query.at)
                ranks[position] = np.inf if rank is None else rank
            else:
                ranks[position] = waits[position]

    def _box_rows(self, query: SearchQuery, cols: columns.Columns) -> np.ndarray:
        """Rows in the grid cells whose R*Tree boxes meet the search circle's bounding box."""
        min_lat, max_lat, min_lon, max_lon = bounding_box(query.place.lat, query.place.lon, query.radius_km)
        cells = self._execute(
            "SELECT cell FROM geo WHERE max_lat >= ? AND min_lat <= ? AND max_lon >= ? AND min_lon <= ?",
            (min_lat, max_lat, min_lon, max_lon),
        ).fetchall()
        return columns.rows_in_cells(cols, np.array([c[0] for c in cells], dtype=np.int64))

    def _text_rows(self, query: SearchQuery):
        """(rows, relevance) matching `q` in FTS5, or (None, None) without text.

        FTS5's bm25 costs over a microsecond a row and a common word matches a fifth of the
        directory, so each worker keeps the last few answers (per file, shared by its threads); they depend only on the
        words and the file, and a swapped file starts a fresh cache.
        """
        expression = fts_expression(query.text) if query.text else None
        if expression is None:
            return None, None

        def matching():
            weights = ", ".join(str(w) for w in FTS_WEIGHTS)
            found = self._execute(
                f"SELECT rowid, -bm25(fts, {weights}) FROM fts WHERE fts MATCH ? ORDER BY rowid", (expression,)
            ).fetchall()
            rows = np.array([r[0] for r in found], dtype=np.int64) - 1
            return rows, np.array([r[1] for r in found], dtype=np.float64)

        return self._remembered("text_cache", expression, TEXT_CACHE_SIZE, matching)

    def _area(self, query: SearchQuery, cols: columns.Columns) -> columns.Area | None:
        """The rows a search near `query.place` starts from (`columns.place_area`), or None
        without a place.

        They depend only on the place, the radius and the areas whose remote listings reach
        it, not on the filters, and finding them (R*Tree, grid cells, two masks the size of
        the index) is a fifth of a search at 1,000,000 listings; searches repeat places (a
        suburb's or postcode's centre from the gazetteer), so each worker keeps the last few.
        """
        if query.place is None:
            return None
        key = (query.place.lat, query.place.lon, query.radius_km, coverage_areas(query))
        return self._remembered("area_cache", key, AREA_CACHE_SIZE,
                                lambda: columns.place_area(cols, query, self._box_rows(query, cols)))

    def _remembered(self, cache_name: str, key, size: int, compute):
        """The current file's cache `cache_name` at `key`, else what `compute()` gives, kept
        there as the newest of at most `size` entries. Computed outside the lock; the file
        read is the one this thread's search is on."""
        with self._reading() as index:
            cache = getattr(index, cache_name)
            with index.lock:
                answer = cache.get(key)
                if answer is not None:
                    cache.move_to_end(key)
                    return answer
            answer = compute()
            with index.lock:
                cache[key] = answer
                if len(cache) > size:
                    cache.popitem(last=False)
            return answer


def _fsync(path: Path) -> None:
    """Flush a file's (or a directory's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Listings whose rows are gathered before each round of executemany: large enough that the
# per-statement cost vanishes, small enough that the rows in memory stay a few MB.
WRITE_BATCH = 5000

_INSERT_LISTING = ("INSERT INTO listings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                   " ?, ?, ?)")


# `bitmask` remembered: an import asks it five times a listing, for a few hundred
# combinations of values in all.
_bitmask = functools.lru_cache(maxsize=4096)(bitmask)


@functools.lru_cache(maxsize=4096)
def _session_numbers(session: Session) -> tuple[int, int, int]:
    """A session's row in the sessions table after its rid: start as minute of the week,
    length in minutes, monthly rule (0: weekly; else its place in vocab.MONTHLY_RULES,
    from 1). Remembered: meetings share a few hundred timetables (Monday 19:00
    to 20:30), and working them out from the text was a tenth of writing a listing."""
    rule = vocab.MONTHLY_RULES.index(session.monthly) + 1 if session.monthly else 0
    return schedule.minute_of_week(session), schedule.duration_minutes(session), rule


class _RowBatch:
    """Rows of every table for a run of listings, written together with executemany (the
    same rows, in the same order, as one INSERT per row would write)."""

    def __init__(self):
        # Grid cell -> [min lat, max lat, min lon, max lon] of the listings in it, over every
        # batch (the R*Tree's rows, written once at the end).
        self.boxes: dict[int, list[float]] = {}
        self._start_rows()

    def _start_rows(self) -> None:
        self.listings: list[tuple] = []
        self.docs: list[tuple] = []
        self.sessions: list[tuple] = []
        self.fts: list[tuple] = []

    def __len__(self) -> int:
        return len(self.listings)

    def add(self, rid: int, listing: Listing) -> None:
        """Gather one listing's rows in every table."""
        location = listing.location
        x = y = z = cell = None
        if location:
            x, y, z = unit_vector(location.lat, location.lon)
            lat, lon = location.lat, location.lon
            cell = columns.cell_of(lat, lon)
            box = self.boxes.get(cell)
            if box is None:
                self.boxes[cell] = [lat, lat, lon, lon]
            else:
                box[0], box[1], box[2], box[3] = min(box[0], lat), max(box[1], lat), min(box[2], lon), max(box[3], lon)
        sessions = listing.sessions
        self.listings.append((
            rid, listing.id, listing.kind, listing.approach,
            _bitmask(listing.formats, vocab.FORMATS),
            _bitmask(listing.goals, vocab.GOALS),
            _bitmask(listing.substances, vocab.SUBSTANCES),
            _bitmask(listing.audiences, vocab.AUDIENCES),
            _bitmask(tuple(s.weekday for s in sessions), vocab.WEEKDAYS),
            "|" + "|".join(listing.languages) + "|",
            "|" + "|".join(listing.service_area) + "|",
            x, y, z,
            int(is_remote(listing)),
            int(listing.open_24_7),
            listing.timezone,
            int(listing.status == "active"),
            int(listing.is_demo),
            cell,
            int(any(s.monthly for s in sessions)),
        ))
        self.docs.append((rid, listing_document(listing)))
        self.sessions.extend((rid, *_session_numbers(s)) for s in sessions)
        self.fts.append((rid, listing.name, listing.program or "", listing.description, listing_terms(listing)))

    def take(self) -> tuple[list[tuple], ...]:
        """The gathered rows of each table (the R*Tree's boxes aside), in `_TABLE_INSERTS`
        order; the batch starts again empty."""
        rows = (self.listings, self.docs, self.sessions, self.fts)
        self._start_rows()
        return rows


# Each table's INSERT, in the order `_RowBatch.take` gives their rows.
_TABLE_INSERTS = (
    _INSERT_LISTING,
    "INSERT INTO docs VALUES (?, ?)",
    "INSERT INTO sessions VALUES (?, ?, ?, ?)",
    "INSERT INTO fts(rowid, name, program, description, terms) VALUES (?, ?, ?, ?, ?)",
)

# Loads of at least this many listings insert their rows from a process of their own
# (`_InserterProcess`); smaller ones, where starting it would gain little, insert them here.
INSERTER_PROCESS_FROM = 20_000


def _row_inserter(target: Path, conn: sqlite3.Connection, listings: int):
    """Where a load's batches of rows go: a process of their own for a large load, else
    `conn`, here."""
    if listings >= INSERTER_PROCESS_FROM:
        return _InserterProcess(target)
    return _InlineInserter(conn)


class _InlineInserter:
    """Inserts each batch of rows at once, on the load's own connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> "_InlineInserter":
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def insert(self, rows: tuple[list[tuple], ...]) -> None:
        """Insert a batch of `_RowBatch.take`'s rows."""
        insert_batch(self.conn, _TABLE_INSERTS, rows)


class _InserterProcess:
    """Sends batches of rows to `insert_rows.py`, which inserts them in a process of its own
    while this one gathers the next batch (see that script for why), on its own connection
    to the staging file; the load goes on with the file once the block ends. (The staging
    file's schema is committed before, and the load holds no lock on it meanwhile.) A
    failure there is raised here, naming it; a failure here stops it."""

    def __init__(self, target: Path):
        # -I: the standard library only, whatever the environment says.
        self._process = subprocess.Popen([sys.executable, "-I", str(INSERT_ROWS_SCRIPT), str(target)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._send(list(_TABLE_INSERTS))

    def __enter__(self) -> "_InserterProcess":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:  # the load failed here: nothing more will come
            self._process.kill()
            self._process.wait()
            for pipe in (self._process.stdin, self._process.stdout):
                try:
                    pipe.close()
                except OSError:  # rows still buffered for a process that is gone
                    pass
            return
        self._send(None)
        self._finish()

    def insert(self, rows: tuple[list[tuple], ...]) -> None:
        """Send a batch of `_RowBatch.take`'s rows to insert."""
        self._send(rows)

    def _send(self, message) -> None:
        try:
            pickle.dump(message, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError:  # it stopped reading: it failed, and says why
            self._finish()
            raise RuntimeError("inserting the index's rows stopped without saying why") from None

    def _finish(self) -> None:
        """Wait for the script's answer; raise what went wrong there, if anything did."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        answer = self._process.stdout.read().decode("utf-8", "replace")
        self._process.stdout.close()
        status = self._process.wait()
        if status != 0 or answer != "ok":
            raise RuntimeError(f"inserting the index's rows failed: {answer or f'exit status {status}'}")


INSERT_ROWS_SCRIPT = Path(__file__).with_name("insert_rows.py")


__all__ = ["SQLiteBackend", "bounding_box", "fts_expression"]
