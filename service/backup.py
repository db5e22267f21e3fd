"""Backups of a deployment's state, and restoring them.

What cannot be rebuilt from the feeds is the referral store: referrals, their outcome counts
and the embed keys (one SQLite file, or `{prefix}-*` indices on the engine). The listings
index can be re-imported, but it goes into the backup too, so a restored server serves at once.

- SQLite: each file is copied with SQLite's online backup API (`sqlite3.Connection.backup`),
  a consistent copy while workers keep reading and writing. A restore writes the referral file
  back through the same API (workers' open connections then see the restored rows) and installs
  the listings index the way an import does: a new file renamed over the old one.
- Engine: a snapshot to a directory repository (`type: fs`). The directory must be listed in
  `path.repo` on every node, and on a cluster be one shared directory (NFS) that every node
  mounts at the same path. A restore brings back the state indices as they were and points the
  listings alias at the restored index in one `_aliases` call.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from service.backends.contract import BackendUnavailable

MANIFEST = "linkage-backup.json"
REFERRALS_FILE = "referrals.sqlite"
LISTINGS_FILE = "listings.sqlite"
REPOSITORY = "linkage-backup"
# A snapshot or restore of a small deployment takes seconds; a big one may take minutes.
SNAPSHOT_TIMEOUT_S = 600.0


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message says why."""


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the online backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_sqlite(referrals_path: str | Path, listings_path: str | Path, directory: str | Path,
                  now: datetime | None = None) -> dict:
    """Copy the referral store and the listings index into `directory` (new or empty);
    returns the manifest written beside them."""
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupError(f"{directory} is not an empty directory: back up into a new one")
    files = {}
    for name, source in ((REFERRALS_FILE, Path(referrals_path)), (LISTINGS_FILE, Path(listings_path))):
        if source.is_file():
            files[name] = str(source)
    if not files:
        raise BackupError(f"nothing to back up: neither {referrals_path} nor {listings_path} exists")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        for name, source in files.items():
            _copy_sqlite(Path(source), directory / name)
            _fsync(directory / name)
    except sqlite3.Error as exc:
        raise BackupError(f"could not copy {source}: {exc}") from exc
    manifest = {"kind": "sqlite", "created_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
                "files": sorted(files)}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _fsync(directory)
    return manifest


def read_manifest(directory: str | Path, kind: str) -> dict:
    """The manifest of a backup of `kind` in `directory`, or a BackupError saying what is wrong."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{directory} holds no Linkage backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != kind:
        found = manifest.get("kind") if isinstance(manifest, dict) else None
        raise BackupError(f"{directory} holds a backup of kind {found!r}, not {kind!r}")
    return manifest


def restore_sqlite(directory: str | Path, referrals_path: str | Path, listings_path: str | Path) -> list[str]:
    """Put a SQLite backup back; returns the files restored."""
    directory = Path(directory)
    manifest = read_manifest(directory, "sqlite")
    restored = []
    for name in manifest.get("files", []):
        source = directory / name
        if name not in (REFERRALS_FILE, LISTINGS_FILE) or not source.is_file():
            raise BackupError(f"{source} is named in the manifest but missing or unknown")
        try:
            if name == REFERRALS_FILE:
                Path(referrals_path).parent.mkdir(parents=True, exist_ok=True)
                _copy_sqlite(source, Path(referrals_path))
                restored.append(str(referrals_path))
            else:
                target = Path(listings_path)
                target.parent.mkdir(parents=True, exist_ok=True)
                staging = target.with_name(f"{target.name}.restore-{os.getpid()}")
                try:
                    _copy_sqlite(source, staging)
                    _fsync(staging)
                    os.replace(staging, target)
                finally:
                    staging.unlink(missing_ok=True)
                _fsync(target.parent)
                restored.append(str(target))
        except sqlite3.Error as exc:
            raise BackupError(f"could not restore {source}: {exc}") from exc
    return restored


# -- engine ----------------------------------------------------------------------------------

def state_indices(prefix: str) -> tuple[str, ...]:
    """The indices holding a deployment's referrals, outcomes and embed keys."""
    return (f"{prefix}-referrals", f"{prefix}-referral-outcomes", f"{prefix}-embed-keys")


def _register(transport, directory: Path, readonly: bool) -> None:
    from service.backends.engine.backend import ADMIN_TIMEOUT_S, EngineError

    try:
        transport.request("PUT", f"/_snapshot/{REPOSITORY}", {
            "type": "fs", "settings": {"location": str(directory), "readonly": readonly}}, timeout=ADMIN_TIMEOUT_S)
    except (EngineError, BackendUnavailable) as exc:
        raise BackupError(f"the engine refused {directory} as a snapshot repository ({exc}); it must be in "
                          "path.repo on every node (deploy/search-engine/README.md)") from None


def backup_engine(transport, alias: str, prefix: str, directory: str | Path,
                  now: datetime | None = None) -> str:
    """Snapshot the listings index behind `alias` and the state indices into the directory
    repository at `directory`; returns the snapshot's name."""
    from service.backends.engine.backend import ADMIN_TIMEOUT_S, EngineError

    directory = Path(directory).resolve()
    _register(transport, directory, readonly=False)
    try:
        current = sorted(transport.request("GET", f"/_alias/{alias}", timeout=ADMIN_TIMEOUT_S))
    except EngineError as exc:
        if exc.status != 404:
            raise
        current = []
    existing = transport.request("GET", "/_cat/indices", params={"format": "json", "h": "index"},
                                 timeout=ADMIN_TIMEOUT_S)
    names = {row["index"] for row in existing}
    indices = current[-1:] + [name for name in state_indices(prefix) if name in names]
    if not indices:
        raise BackupError(f"nothing to back up: no index behind {alias} and no {prefix}-* state indices")
    snapshot = f"linkage-{(now or datetime.now(timezone.utc)).strftime('%Y%m%d%H%M%S%f')}"
    result = transport.request("PUT", f"/_snapshot/{REPOSITORY}/{snapshot}", {
        "indices": ",".join(indices), "include_global_state": False,
        "metadata": {"alias": alias, "prefix": prefix},
    }, params={"wait_for_completion": "true"}, timeout=SNAPSHOT_TIMEOUT_S)
    state = result.get("snapshot", {}).get("state")
    if state != "SUCCESS":
        raise BackupError(f"snapshot {snapshot} ended {state}: {result.get('snapshot', {}).get('failures')}")
    return snapshot


def restore_engine(transport, alias: str, prefix: str, directory: str | Path, snapshot: str | None = None) -> str:
    """Restore a snapshot (the newest when not named) from the directory repository: the state
    indices replace the current ones, and the alias moves to the restored listings index in one
    atomic call. Returns the snapshot's name."""
    from service.backends.engine.backend import ADMIN_TIMEOUT_S, EngineError

    directory = Path(directory).resolve()
    _register(transport, directory, readonly=True)
    found = transport.request("GET", f"/_snapshot/{REPOSITORY}/_all", timeout=ADMIN_TIMEOUT_S)["snapshots"]
    done = sorted((s for s in found if s.get("state") == "SUCCESS"), key=lambda s: s["snapshot"])
    if snapshot is not None:
        done = [s for s in done if s["snapshot"] == snapshot]
    if not done:
        raise BackupError(f"no finished snapshot {snapshot or ''} in {directory}".replace("  ", " "))
    chosen = done[-1]
    listings = [name for name in chosen["indices"] if name.startswith(f"{alias}-")]
    state = [name for name in chosen["indices"] if name in state_indices(prefix)]
    existing = {row["index"] for row in transport.request(
        "GET", "/_cat/indices", params={"format": "json", "h": "index"}, timeout=ADMIN_TIMEOUT_S)}
    # The state indices are replaced whole; a listings index of the same name is the same build.
    for name in state:
        if name in existing:
            transport.request("DELETE", f"/{name}", timeout=ADMIN_TIMEOUT_S)
    wanted = state + [name for name in listings if name not in existing]
    if wanted:
        result = transport.request("POST", f"/_snapshot/{REPOSITORY}/{chosen['snapshot']}/_restore", {
            "indices": ",".join(wanted), "include_aliases": False, "include_global_state": False,
        }, params={"wait_for_completion": "true"}, timeout=SNAPSHOT_TIMEOUT_S)
        shards = result.get("snapshot", {}).get("shards", {})
        if shards.get("failed"):
            raise BackupError(f"restore of {chosen['snapshot']}: {shards['failed']} shards failed")
    if listings:
        try:
            current = sorted(transport.request("GET", f"/_alias/{alias}", timeout=ADMIN_TIMEOUT_S))
        except EngineError as exc:
            if exc.status != 404:
                raise
            current = []
        actions = [{"remove": {"index": name, "alias": alias}} for name in current if name != listings[-1]]
        actions.append({"add": {"index": listings[-1], "alias": alias}})
        transport.request("POST", "/_aliases", {"actions": actions}, timeout=ADMIN_TIMEOUT_S)
    return chosen["snapshot"]
