"""Where public embed keys live: a table in the referrals' SQLite file, or an engine index.

Keys were once kept by the referral store; they stay where it put them (the `embed_keys`
table of LINKAGE_REFERRALS_PATH, the `{prefix}-embed-keys` index), so a deployment keeps its
keys without moving any data. A key is a dict: `key`, `name` and `origins` (a list).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from service.referrals.store import StateFile


class SQLiteKeyStore:
    """Embed keys in the `embed_keys` table of a SQLite file (the one referrals use)."""

    SCHEMA = "CREATE TABLE IF NOT EXISTS embed_keys (key TEXT PRIMARY KEY, name TEXT NOT NULL, origins TEXT NOT NULL);"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn = StateFile(self.path, self.SCHEMA, "embed key store").connection

    def add_key(self, key: str, name: str, origins: list[str]) -> None:
        """Store a public embed key."""
        with self._conn() as conn:
            conn.execute("INSERT INTO embed_keys VALUES (?, ?, ?)", (key, name, json.dumps(origins)))

    def list_keys(self) -> list[dict]:
        """Every embed key, by name."""
        rows = self._conn().execute("SELECT key, name, origins FROM embed_keys ORDER BY name, key").fetchall()
        return [{"key": k, "name": n, "origins": json.loads(o)} for k, n, o in rows]

    def revoke_key(self, key: str) -> bool:
        """Delete an embed key; True if it existed."""
        with self._conn() as conn:
            return conn.execute("DELETE FROM embed_keys WHERE key = ?", (key,)).rowcount > 0


class EngineKeyStore:
    """Embed keys as documents in the `{prefix}-embed-keys` index, one per key."""

    MAPPING = {"dynamic": "strict", "properties": {
        "key": {"type": "keyword"}, "name": {"type": "keyword"}, "origins": {"type": "keyword"}}}

    def __init__(self, transport, prefix: str = "linkage"):
        self.transport = transport
        self.index = f"{prefix}-embed-keys"
        self._ready = False

    def _ensure(self) -> None:
        # Imported here: the engine client is loaded only by deployments that use an engine.
        from service.backends.engine.backend import ADMIN_TIMEOUT_S, EngineError

        if self._ready:
            return
        try:
            self.transport.request("PUT", f"/{self.index}", {
                "settings": {"number_of_shards": 1}, "mappings": self.MAPPING}, timeout=ADMIN_TIMEOUT_S)
        except EngineError as exc:
            if exc.status != 400 or "already_exists" not in str(exc.body):
                raise
        self._ready = True

    def add_key(self, key: str, name: str, origins: list[str]) -> None:
        """Store a public embed key (visible to reads at once)."""
        self._ensure()
        self.transport.request("PUT", f"/{self.index}/_doc/{quote(key)}", {"key": key, "name": name, "origins": origins},
                               params={"refresh": "true", "op_type": "create"})

    def list_keys(self) -> list[dict]:
        """Every embed key, by name."""
        self._ensure()
        hits = self.transport.request("POST", f"/{self.index}/_search", {"size": 1000, "sort": [{"name": "asc"}]})
        return [hit["_source"] for hit in hits["hits"]["hits"]]

    def revoke_key(self, key: str) -> bool:
        """Delete an embed key; True if it existed."""
        from service.backends.engine.backend import EngineError

        self._ensure()
        try:
            self.transport.request("DELETE", f"/{self.index}/_doc/{quote(key)}", params={"refresh": "true"})
        except EngineError as exc:
            if exc.status == 404:
                return False
            raise
        return True
