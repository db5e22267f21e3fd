"""Where referrals and outcome counts live: a SQLite file, or engine indices.

The listings file is replaced whole on every import, so referrals cannot live in it: the
embedded store is a second SQLite file beside it. On an engine, referrals are documents in
`linkage-referrals` and outcomes in `linkage-referral-outcomes`. Embed keys share the file (or
the prefix) but have their own store: `service.embed.store`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from service.backends.contract import BackendUnavailable
from service.referrals.model import Referral


def referral_to_dict(referral: Referral) -> dict:
    """A referral as JSON-ready data."""
    return {
        "code": referral.code,
        "created_at": referral.created_at.isoformat(),
        "expires_at": referral.expires_at.isoformat(),
        "goal": referral.goal,
        "language": referral.language,
        "seven_day_goal": referral.seven_day_goal,
        "timezone": referral.timezone,
        "items": list(referral.items),
        "place": referral.place,
    }


def referral_from_dict(data: dict) -> Referral:
    """A referral from stored data."""
    return Referral(
        code=data["code"],
        created_at=datetime.fromisoformat(data["created_at"]),
        expires_at=datetime.fromisoformat(data["expires_at"]),
        goal=data.get("goal"),
        language=data.get("language") or "en",
        items=tuple(data["items"]),
        place=data.get("place"),
        seven_day_goal=data.get("seven_day_goal"),
        timezone=data.get("timezone"),
    )


def _outcome_row(code, listing_id, outcome, snapshot: dict, at: datetime) -> dict:
    return {
        "code": code,
        "listing_id": listing_id,
        "outcome": outcome,
        "program": snapshot.get("program") or snapshot.get("kind"),
        "formats": list(snapshot.get("formats") or []),
        "at": at.isoformat(),
    }


def _erase_old_notes(conn: sqlite3.Connection) -> None:
    """Referrals made before notes stopped being stored lose theirs, and the file keeps no copy.

    Free text about a client was once kept in the `note` of a referral's body; it is removed
    in place (secure_delete zeroes the old pages) and the write-ahead log is checkpointed
    and truncated, so neither the file nor its log holds the text afterwards.
    """
    found = conn.execute("SELECT COUNT(*) FROM referrals WHERE json_type(body, '$.note') IS NOT NULL").fetchone()[0]
    if not found:
        return
    with conn:
        conn.execute("UPDATE referrals SET body = json_remove(body, '$.note') WHERE json_type(body, '$.note') IS NOT NULL")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")


class StateFile:
    """The SQLite file referrals live in (embed keys share it), opened once per thread with
    its rules and the caller's tables."""

    def __init__(self, path: Path, schema: str, holder: str, prepare=None):
        self.path = path
        self.schema = schema
        self.holder = holder  # who is unavailable, in the error
        self.prepare = prepare
        # sqlite3 connections are not shared between threads: one per worker thread.
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the tables made) on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                # Deleted rows are overwritten with zeros, not left readable in free pages.
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(self.schema)
                if self.prepare is not None:
                    self.prepare(conn)
            except sqlite3.Error as exc:
                raise BackendUnavailable(f"{self.holder} unavailable: {exc}") from exc
            self._local.conn = conn
        return conn


class SQLiteReferralStore:
    """Referrals and outcomes in one SQLite file (WAL: many readers, one writer)."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS referrals (code TEXT PRIMARY KEY, expires_at TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS referrals_expiry ON referrals(expires_at);
    CREATE TABLE IF NOT EXISTS outcomes (
        code TEXT NOT NULL, listing_id TEXT NOT NULL, outcome TEXT NOT NULL,
        program TEXT, formats TEXT NOT NULL, at TEXT NOT NULL);
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn = StateFile(self.path, self.SCHEMA, "referral store", prepare=_erase_old_notes).connection

    def save(self, referral: Referral) -> None:
        """Store a new referral."""
        with self._conn() as conn:
            conn.execute("INSERT INTO referrals VALUES (?, ?, ?)", (
                referral.code, referral.expires_at.isoformat(), json.dumps(referral_to_dict(referral))))

    def get(self, code: str) -> Referral | None:
        """A referral by code, or None."""
        row = self._conn().execute("SELECT body FROM referrals WHERE code = ?", (code,)).fetchone()
        return referral_from_dict(json.loads(row[0])) if row else None

    def add_outcome(self, referral: Referral, listing_id: str, outcome: str, at: datetime) -> None:
        """Count one anonymous outcome for one listing of a referral."""
        snapshot = next(item for item in referral.items if item["id"] == listing_id)
        row = _outcome_row(referral.code, listing_id, outcome, snapshot, at)
        with self._conn() as conn:
            conn.execute("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?)", (
                row["code"], row["listing_id"], row["outcome"], row["program"], json.dumps(row["formats"]),
                row["at"]))

    def outcome_rows(self) -> list[dict]:
        """Every outcome (for totals)."""
        rows = self._conn().execute("SELECT listing_id, outcome, program, formats FROM outcomes").fetchall()
        return [{"listing_id": r[0], "outcome": r[1], "program": r[2], "formats": json.loads(r[3])} for r in rows]

    def referral_count(self) -> int:
        """Referrals stored (unexpired and not yet purged)."""
        return self._conn().execute("SELECT COUNT(*) FROM referrals").fetchone()[0]

    def purge(self, now: datetime) -> int:
        """Delete expired referrals (their outcome counts stay); returns how many."""
        with self._conn() as conn:
            return conn.execute("DELETE FROM referrals WHERE expires_at <= ?", (now.isoformat(),)).rowcount


class EngineReferralStore:
    """Referrals and outcomes as documents in two engine indices."""

    MAPPINGS = {
        "referrals": {"dynamic": "strict", "properties": {
            "code": {"type": "keyword"}, "expires_at": {"type": "date"},
            "body": {"type": "object", "enabled": False}}},
        "outcomes": {"dynamic": "strict", "properties": {
            "code": {"type": "keyword"}, "listing_id": {"type": "keyword"}, "outcome": {"type": "keyword"},
            "program": {"type": "keyword"}, "formats": {"type": "keyword"}, "at": {"type": "date"}}},
    }

    def __init__(self, transport, prefix: str = "linkage"):
        self.transport = transport
        # Other state of the same deployment (embed keys) is named with the same prefix.
        self.prefix = prefix
        self.referrals = f"{prefix}-referrals"
        self.outcomes = f"{prefix}-referral-outcomes"
        self._ready = False

    def _ensure(self) -> None:
        from service.backends.engine.backend import ADMIN_TIMEOUT_S, EngineError

        if self._ready:
            return
        for index, key in ((self.referrals, "referrals"), (self.outcomes, "outcomes")):
            try:
                self.transport.request("PUT", f"/{index}", {
                    "settings": {"number_of_shards": 1}, "mappings": self.MAPPINGS[key]}, timeout=ADMIN_TIMEOUT_S)
            except EngineError as exc:
                if exc.status != 400 or "already_exists" not in str(exc.body):
                    raise
        # Referrals made when notes were still stored lose them (see _erase_old_notes); a
        # force merge then drops the deleted document versions that still held the text.
        erased = self.transport.request("POST", f"/{self.referrals}/_update_by_query", {"script": {
            "lang": "painless",
            "source": "if (ctx._source.body.containsKey('note')) { ctx._source.body.remove('note') } "
                      "else { ctx.op = 'noop' }"}}, params={"refresh": "true", "conflicts": "proceed"},
            timeout=ADMIN_TIMEOUT_S)
        if erased.get("updated"):
            self.transport.request("POST", f"/{self.referrals}/_forcemerge",
                                   params={"only_expunge_deletes": "true"}, timeout=ADMIN_TIMEOUT_S)
        self._ready = True

    def save(self, referral: Referral) -> None:
        """Store a new referral (visible to reads at once)."""
        self._ensure()
        self.transport.request("PUT", f"/{self.referrals}/_doc/{quote(referral.code)}", {
            "code": referral.code, "expires_at": referral.expires_at.isoformat(),
            "body": referral_to_dict(referral)}, params={"refresh": "true", "op_type": "create"})

    def get(self, code: str) -> Referral | None:
        """A referral by code, or None."""
        from service.backends.engine.backend import EngineError

        self._ensure()
        try:
            found = self.transport.request("GET", f"/{self.referrals}/_doc/{quote(code)}")
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise
        return referral_from_dict(found["_source"]["body"]) if found.get("found") else None

    def add_outcome(self, referral: Referral, listing_id: str, outcome: str, at: datetime) -> None:
        """Count one anonymous outcome."""
        self._ensure()
        snapshot = next(item for item in referral.items if item["id"] == listing_id)
        self.transport.request("POST", f"/{self.outcomes}/_doc",
                               _outcome_row(referral.code, listing_id, outcome, snapshot, at),
                               params={"refresh": "true"})

    def outcome_rows(self) -> list[dict]:
        """Every outcome (search_after pages)."""
        self._ensure()
        rows, after = [], None
        while True:
            body = {"size": 1000, "sort": [{"at": "asc"}, {"listing_id": "asc"}], "query": {"match_all": {}}}
            if after:
                body["search_after"] = after
            hits = self.transport.request("POST", f"/{self.outcomes}/_search", body)["hits"]["hits"]
            if not hits:
                return rows
            rows.extend(hit["_source"] for hit in hits)
            after = hits[-1]["sort"]

    def referral_count(self) -> int:
        """Referrals stored."""
        self._ensure()
        return self.transport.request("GET", f"/{self.referrals}/_count")["count"]

    def purge(self, now: datetime) -> int:
        """Delete expired referrals; returns how many."""
        self._ensure()
        result = self.transport.request("POST", f"/{self.referrals}/_delete_by_query", {
            "query": {"range": {"expires_at": {"lte": now.isoformat()}}}}, params={"refresh": "true"})
        return result.get("deleted", 0)


def totals(rows: list[dict]) -> dict:
    """Outcome totals by outcome, program and format (a listing with two formats counts in both)."""
    result = {"outcomes": {}, "by_program": {}, "by_format": {}, "by_listing": {}}
    for row in rows:
        outcome = row["outcome"]
        result["outcomes"][outcome] = result["outcomes"].get(outcome, 0) + 1
        for key, value in (("by_program", row.get("program") or "other"), ("by_listing", row["listing_id"])):
            bucket = result[key].setdefault(value, {})
            bucket[outcome] = bucket.get(outcome, 0) + 1
        for fmt in row.get("formats") or []:
            bucket = result["by_format"].setdefault(fmt, {})
            bucket[outcome] = bucket.get(outcome, 0) + 1
    for key in ("by_program", "by_format", "by_listing"):
        result[key] = dict(sorted(result[key].items()))
    return result
