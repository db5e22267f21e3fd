"""The embedded backend: one SQLite file with FTS5 for text and an R*Tree for places.

Layout: `listings` holds one row per listing with its stored JSON and the fields filters
need as bit masks (formats, goals, ...) so every filter is arithmetic on one row;
`geo` (R*Tree) narrows a radius search to a bounding box; `fts` (FTS5) ranks text;
`sessions` holds each session as minutes since Monday 00:00 local time, so "soonest" can
order candidates by a cheap lower bound before exact times are computed with zoneinfo.
Distances are exact great-circle distances: the radius test compares the dot product of
unit vectors with cos(radius / R), which is the same circle with no trigonometry per row.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from .. import ranking, schedule, vocab
from ..models import Listing, SearchQuery
from ..schemas import dump_listing, listing_from_trusted
from . import timed
from .base import BackendUnavailable, LoadReport, Matches, is_remote, listing_terms, query_words

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE listings (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
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
    demo INTEGER NOT NULL
);
CREATE INDEX listings_remote ON listings(remote) WHERE remote = 1;
CREATE TABLE sessions (rid INTEGER NOT NULL, start_mow INTEGER NOT NULL, duration INTEGER NOT NULL);
CREATE INDEX sessions_rid ON sessions(rid);
CREATE VIRTUAL TABLE geo USING rtree(rid, min_lat, max_lat, min_lon, max_lon);
CREATE VIRTUAL TABLE fts USING fts5(name, program, description, terms,
    tokenize = 'unicode61 remove_diacritics 2');
"""

# Column weights for bm25: a word in the name matters most.
FTS_WEIGHTS = (4.0, 2.0, 1.0, 1.0)
FACET_FIELDS = {
    "format": ("formats", vocab.FORMATS),
    "goal": ("goals", vocab.GOALS),
}


def bitmask(values: Iterable[str], vocabulary: tuple[str, ...]) -> int:
    """Values as a bit mask over their vocabulary (bit i = vocabulary[i])."""
    return sum(1 << vocabulary.index(v) for v in set(values) if v in vocabulary)


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """A point on the unit sphere: dot products of these give great-circle angles."""
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing a circle; whole longitudes near poles."""
    dlat = math.degrees(radius_km / ranking.EARTH_RADIUS_KM)
    cos_lat = math.cos(math.radians(lat))
    if abs(lat) + dlat >= 89.0 or cos_lat < 1e-6:
        return (max(-90.0, lat - dlat), min(90.0, lat + dlat), -180.0, 180.0)
    dlon = math.degrees(math.asin(min(1.0, math.sin(radius_km / ranking.EARTH_RADIUS_KM) / cos_lat)))
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


@dataclass(frozen=True)
class SqlQuery:
    """The SQL pieces of a search: candidate CTE, filters and their parameters."""

    with_clause: str
    where: str
    params: dict
    has_place: bool
    has_text: bool


def build_sql(query: SearchQuery) -> SqlQuery:
    """Translate a SearchQuery into SQL (pure: no connection needed)."""
    params: dict = {}
    where = ["l.active = 1"]
    masks = (
        ("formats", query.formats, vocab.FORMATS),
        ("goals", query.filter_goals, vocab.GOALS),
        ("audiences", query.audiences, vocab.AUDIENCES),
    )
    for column, values, vocabulary in masks:
        if values:
            params[column] = bitmask(values, vocabulary)
            where.append(f"(l.{column} & :{column}) != 0")
    if query.substances:
        # A group for any substance welcomes someone who names one.
        params["substances"] = bitmask(query.substances + ("any",), vocab.SUBSTANCES)
        where.append("(l.substances & :substances) != 0")
    if query.days:
        params["days"] = bitmask(query.days, vocab.WEEKDAYS)
        where.append("(l.days & :days) != 0")
    for column, values in (("kind", query.kinds), ("approach", query.approaches)):
        if values:
            names = []
            for i, value in enumerate(values):
                params[f"{column}{i}"] = value
                names.append(f":{column}{i}")
            where.append(f"l.{column} IN ({', '.join(names)})")
    if query.languages:
        alts = []
        for i, lang in enumerate(query.languages):
            params[f"lang{i}"] = f"|{lang}|"
            alts.append(f"instr(l.languages, :lang{i}) > 0")
        where.append("(" + " OR ".join(alts) + ")")
    ctes = []
    has_text = False
    if query.text:
        expression = fts_expression(query.text)
        if expression:
            has_text = True
            params["fts"] = expression
            weights = ", ".join(str(w) for w in FTS_WEIGHTS)
            ctes.append(
                f"text(rid, bm) AS (SELECT rowid, bm25(fts, {weights}) FROM fts WHERE fts MATCH :fts)"
            )
    place = query.place
    if place:
        x, y, z = unit_vector(place.lat, place.lon)
        min_lat, max_lat, min_lon, max_lon = bounding_box(place.lat, place.lon, query.radius_km)
        params.update(
            px=x, py=y, pz=z,
            cos_radius=math.cos(query.radius_km / ranking.EARTH_RADIUS_KM),
            min_lat=min_lat, max_lat=max_lat, min_lon=min_lon, max_lon=max_lon,
            area_country=f"|{place.country}|" if place.country else "|-|",
            area_state=f"|{place.state}|" if place.state else "|-|",
        )
        ctes.append(
            "cand(rid) AS ("
            "SELECT rid FROM geo WHERE max_lat >= :min_lat AND min_lat <= :max_lat "
            "AND max_lon >= :min_lon AND min_lon <= :max_lon "
            "UNION SELECT rid FROM listings WHERE remote = 1 AND "
            "(instr(service_area, :area_country) > 0 OR instr(service_area, :area_state) > 0))"
        )
        # In reach: within the radius, or online/phone with a service area covering the place.
        where.append(
            "((l.x * :px + l.y * :py + l.z * :pz) >= :cos_radius OR (l.remote = 1 AND "
            "(instr(l.service_area, :area_country) > 0 OR instr(l.service_area, :area_state) > 0)))"
        )
    with_clause = ("WITH " + ", ".join(ctes) + " ") if ctes else ""
    return SqlQuery(with_clause, " AND ".join(where), params, bool(place), has_text)


def from_clause(sql: SqlQuery) -> str:
    """FROM ... joining the candidate and text CTEs when present."""
    parts = ["listings l"]
    if sql.has_place:
        parts = ["cand", "JOIN listings l ON l.rid = cand.rid"]
    if sql.has_text:
        parts.append("JOIN text t ON t.rid = l.rid")
    return " ".join(parts)


def facet_sql() -> str:
    """SELECT list computing the total and every facet count in one pass."""
    columns = ["COUNT(*)"]
    for column, vocabulary in FACET_FIELDS.values():
        columns += [f"SUM((l.{column} & {1 << i}) != 0)" for i in range(len(vocabulary))]
    columns += [f"SUM(l.kind = '{v}')" for v in vocab.KINDS]
    columns += [f"SUM(l.approach = '{v}')" for v in vocab.APPROACHES]
    return ", ".join(columns)


def facets_from_row(row) -> tuple[int, dict]:
    """(total, facets) from the row facet_sql() produced."""
    total = row[0] or 0
    values = iter(v or 0 for v in row[1:])
    facets = ranking.empty_facets()
    for name, (_, vocabulary) in FACET_FIELDS.items():
        for value in vocabulary:
            facets[name][value] = next(values)
    for value in vocab.KINDS:
        facets["kind"][value] = next(values)
    for value in vocab.APPROACHES:
        facets["approach"][value] = next(values)
    return total, facets


def dot_sql(sql: SqlQuery) -> str:
    """Expression for the cosine of the angle to the searched place (1 = same spot)."""
    return "(l.x * :px + l.y * :py + l.z * :pz)" if sql.has_place else "NULL"


def best_key_sql(sql: SqlQuery) -> str:
    """ORDER BY for sort=best without a Python pass: a monotone form of ranking.best_score.

    Without text, the score falls with distance, so ordering by a clamped cosine gives the
    same order: everything within the decay offset ties, online options count as
    `remote_equivalent_km` away. With text, the exact score is computed. Ties go to the
    nearer listing, then to the lower id (as ranking.order_key).
    """
    cos_offset = math.cos(ranking.RANKING["distance_offset_km"] / ranking.EARTH_RADIUS_KM)
    cos_remote = math.cos(ranking.RANKING["remote_equivalent_km"] / ranking.EARTH_RADIUS_KM)
    if not sql.has_place:
        nearness, nearer = "1.0", "l.rid"  # no place: nothing is nearer; rid follows id order
    else:
        covered = ("(l.remote = 1 AND (instr(l.service_area, :area_country) > 0 "
                   "OR instr(l.service_area, :area_state) > 0))")
        cosine = (f"MIN({cos_offset!r}, MAX(COALESCE({dot_sql(sql)}, -1.0), "
                  f"CASE WHEN {covered} THEN {cos_remote!r} ELSE -1.0 END))")
        nearer = f"{dot_sql(sql)} DESC"
        if not sql.has_text:
            return f"{cosine} DESC, {nearer}, l.id"
        nearness = f"py_distance_weight({cosine})"
    if not sql.has_text:
        return "l.id"
    return f"({nearness} * py_text_weight(-t.bm)) DESC, {nearer}, l.id"


def _py_distance_weight(cosine: float) -> float:
    return ranking.distance_weight(ranking.EARTH_RADIUS_KM * math.acos(max(-1.0, min(1.0, cosine))))


class SQLiteBackend:
    """Listings in one SQLite file, replaced atomically on load."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._local = threading.local()

    # -- connections -----------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """A read-only connection to the current file, reopened after a swap."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise BackendUnavailable(f"no index at {self.path.name}: run `linkage index`") from None
        identity = (stat.st_ino, stat.st_mtime_ns)
        cached = getattr(self._local, "conn", None)
        if cached is not None and self._local.identity == identity:
            return cached
        if cached is not None:
            cached.close()
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        conn.create_function("py_distance_weight", 1, _py_distance_weight, deterministic=True)
        conn.create_function("py_text_weight", 1, ranking.text_weight, deterministic=True)
        self._local.conn, self._local.identity = conn, identity
        self._local.zones = None
        return conn

    def _execute(self, sql: str, params=()):
        try:
            return self._connection().execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise BackendUnavailable(f"index unreadable: {exc}") from exc

    # -- loading ---------------------------------------------------------------------

    def load(self, listings: Iterable[Listing]) -> LoadReport:
        """Write a new file beside the current one, then swap it in with os.replace."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
        staging.unlink(missing_ok=True)
        try:
            loaded = self._write(staging, sorted(listings, key=lambda item: item.id))
            os.replace(staging, self.path)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        return LoadReport(loaded=loaded, target=self.path.name)

    @staticmethod
    def _write(target: Path, listings: list[Listing]) -> int:
        conn = sqlite3.connect(target)
        try:
            # A staging file needs no crash safety: a crash leaves the old file serving.
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.executescript(SCHEMA)
            seen: set[str] = set()
            zones: set[str] = set()
            demo = 0
            for rid, listing in enumerate(listings, start=1):
                if listing.id in seen:
                    raise ValueError(f"duplicate listing id {listing.id!r}")
                seen.add(listing.id)
                zones.add(listing.timezone)
                demo += listing.is_demo
                _insert(conn, rid, listing)
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
        row = self._execute("SELECT doc FROM listings WHERE id = ?", (listing_id,)).fetchone()
        return listing_from_trusted(json.loads(row[0])) if row else None

    def count(self) -> int:
        """Listings in the index."""
        return self._execute("SELECT COUNT(*) FROM listings").fetchone()[0]

    def info(self) -> dict:
        """Build time and counts, from the file's meta table."""
        meta = dict(self._execute("SELECT key, value FROM meta").fetchall())
        return {
            "backend": "sqlite",
            "built_at": meta.get("built_at"),
            "listing_count": int(meta.get("listing_count", 0)),
            "demo_count": int(meta.get("demo_count", 0)),
        }

    def _zones(self) -> list[str]:
        self._connection()
        if self._local.zones is None:
            row = self._execute("SELECT value FROM meta WHERE key = 'timezones'").fetchone()
            self._local.zones = json.loads(row[0]) if row else []
        return self._local.zones

    def _listings(self, rids: list[int]) -> dict[int, Listing]:
        if not rids:
            return {}
        marks = ",".join("?" * len(rids))
        rows = self._execute(f"SELECT rid, doc FROM listings WHERE rid IN ({marks})", rids)
        return {rid: listing_from_trusted(json.loads(doc)) for rid, doc in rows}

    def search(self, query: SearchQuery) -> Matches:
        """Filter, count, facet, order and page in SQL; exact times in Python when needed."""
        sql = build_sql(query)
        if query.needs_schedule:
            return timed.within_time(self._timed_candidates(query, sql, timed.bound_limit(query)), query)
        head = sql.with_clause + f"SELECT {{}} FROM {from_clause(sql)} WHERE {sql.where}"
        total, facets = facets_from_row(self._execute(head.format(facet_sql()), sql.params).fetchone())
        limit, offset = query.per_page, (query.page - 1) * query.per_page
        if query.sort == "soonest":
            batches = self._batches(self._timed_rows(query, sql))
            hits = timed.soonest_hits(batches, query, offset + limit)[offset:]
            return Matches(total=total, hits=tuple(hits), facets=facets)
        columns = f"l.rid, {'t.bm' if sql.has_text else '0.0'}, NULL"
        if query.sort == "best":
            order = best_key_sql(sql)
        else:
            order = f"{dot_sql(sql)} DESC, l.id" if sql.has_place else "l.id"
        rows = self._execute(
            f"{head.format(columns)} ORDER BY {order} LIMIT {limit} OFFSET {offset}", sql.params
        ).fetchall()
        hits = [c.hit(query) for batch in self._batches(iter(rows)) for c in batch]
        return Matches(total=total, hits=tuple(hits), facets=facets)

    def _batches(self, rows, size: int = 64):
        """(rid, bm25, lower bound) rows as batches of Candidates, listings read per batch."""
        while True:
            batch = [row for _, row in zip(range(size), rows)]
            if not batch:
                return
            listings = self._listings([row[0] for row in batch])
            yield [timed.Candidate(listings[rid], bound, -(bm or 0.0)) for rid, bm, bound in batch]

    def _lower_bound_sql(self, query: SearchQuery) -> tuple[str, dict]:
        """SQL for a lower bound on minutes until each listing's next start (NULL: unscheduled)."""
        params = {}
        cases = []
        for i, tz_name in enumerate(self._zones()):
            params[f"tz{i}"] = tz_name
            params[f"now{i}"] = schedule.local_minute_of_week(query.at, tz_name)
            cases.append(f"WHEN :tz{i} THEN :now{i}")
        now = f"(CASE l.timezone {' '.join(cases)} END)" if cases else "0"
        week = schedule.MINUTES_PER_WEEK
        since = f"(((({now}) - s.start_mow) % {week}) + {week}) % {week}"
        until = f"(((s.start_mow - ({now})) % {week}) + {week}) % {week}"
        bound = (
            f"CASE WHEN l.open_24_7 THEN 0 ELSE (SELECT MIN(CASE WHEN {since} < s.duration "
            f"THEN -{since} ELSE {until} END) FROM sessions s WHERE s.rid = l.rid) END"
        )
        return bound, params

    def _timed_rows(self, query: SearchQuery, sql: SqlQuery, limit: float = math.inf):
        """(rid, bm25, lower bound) rows in ascending bound order (unscheduled last), optionally capped."""
        bound, bound_params = self._lower_bound_sql(query)
        cap = "" if limit == math.inf else f" WHERE lb <= {int(limit)}"
        return self._execute(
            f"{sql.with_clause}SELECT rid, bm, lb FROM (SELECT l.rid AS rid, l.id AS id, "
            f"{'t.bm' if sql.has_text else '0.0'} AS bm, {bound} AS lb FROM {from_clause(sql)} "
            f"WHERE {sql.where}){cap} ORDER BY lb IS NULL, lb, id",
            {**sql.params, **bound_params},
        )

    def _timed_candidates(self, query: SearchQuery, sql: SqlQuery, limit: float):
        """Candidates whose lower bound is within `limit` minutes."""
        for batch in self._batches(self._timed_rows(query, sql, limit)):
            yield from batch


def _insert(conn: sqlite3.Connection, rid: int, listing: Listing) -> None:
    """Write one listing's rows in every table."""
    doc = json.dumps(dump_listing(listing), ensure_ascii=False, separators=(",", ":"))
    location = listing.location
    x = y = z = None
    if location:
        x, y, z = unit_vector(location.lat, location.lon)
    remote = is_remote(listing)
    conn.execute(
        "INSERT INTO listings VALUES (:rid, :id, :doc, :kind, :approach, :formats, :goals,"
        " :substances, :audiences, :days, :languages, :service_area, :x, :y, :z, :remote,"
        " :open_24_7, :timezone, :active, :demo)",
        {
            "rid": rid,
            "id": listing.id,
            "doc": doc,
            "kind": listing.kind,
            "approach": listing.approach,
            "formats": bitmask(listing.formats, vocab.FORMATS),
            "goals": bitmask(listing.goals, vocab.GOALS),
            "substances": bitmask(listing.substances, vocab.SUBSTANCES),
            "audiences": bitmask(listing.audiences, vocab.AUDIENCES),
            "days": bitmask((s.weekday for s in listing.sessions), vocab.WEEKDAYS),
            "languages": "|" + "|".join(listing.languages) + "|",
            "service_area": "|" + "|".join(listing.service_area) + "|",
            "x": x, "y": y, "z": z,
            "remote": int(remote),
            "open_24_7": int(listing.open_24_7),
            "timezone": listing.timezone,
            "active": int(listing.status == "active"),
            "demo": int(listing.is_demo),
        },
    )
    if location:
        conn.execute(
            "INSERT INTO geo VALUES (?, ?, ?, ?, ?)",
            (rid, location.lat, location.lat, location.lon, location.lon),
        )
    conn.executemany(
        "INSERT INTO sessions VALUES (?, ?, ?)",
        [(rid, schedule.minute_of_week(s), schedule.duration_minutes(s)) for s in listing.sessions],
    )
    conn.execute(
        "INSERT INTO fts(rowid, name, program, description, terms) VALUES (?, ?, ?, ?, ?)",
        (rid, listing.name, listing.program or "", listing.description, listing_terms(listing)),
    )


__all__ = ["SQLiteBackend", "build_sql", "bitmask", "fts_expression"]
