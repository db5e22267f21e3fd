"""`linkage backup DIR` and `linkage restore DIR`: data written, backed up, changed or deleted,
restored, and read back as it was written.

SQLite (no engine needed): real files, copied with SQLite's online backup API while a store
holds them open. Engine: a one-node cluster of our own (deploy/search-engine/cluster, with
`path.repo` set to this test's directory), snapshot and restore; skipped when it cannot start.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest

from indexers.cli import main
from service.backends.engine.backend import EngineBackend, make_transport
from service.backends.sqlite.backend import SQLiteBackend
from service.embed.store import EngineKeyStore, SQLiteKeyStore
from service.referrals.model import Referral
from service.referrals.store import EngineReferralStore, SQLiteReferralStore
from tests.conftest import FIXED_NOW, ROOT

CLUSTER = ROOT / "deploy" / "search-engine" / "cluster"
PORT = os.environ.get("LINKAGE_BACKUP_ENGINE_PORT", "9241")


def referral(code: str, listing) -> Referral:
    """A referral of one listing, as the app stores one."""
    item = {"id": listing.id, "name": listing.name, "formats": list(listing.formats), "program": None}
    return Referral(code=code, created_at=FIXED_NOW, expires_at=FIXED_NOW + timedelta(days=30), goal=None,
                    language="en", items=(item,))


def linkage(monkeypatch, capsys, *argv: str, **env: str) -> tuple[int, str]:
    """Run the `linkage` command with LINKAGE_* settings; its exit status and all it printed."""
    for name, value in env.items():
        monkeypatch.setenv(f"LINKAGE_{name.upper()}", value)
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out + out.err


# -- SQLite ------------------------------------------------------------------------------------

@pytest.fixture()
def sqlite_deployment(tmp_path, demo_listings):
    """A SQLite deployment's files: the listings index, two referrals, an outcome, an embed key."""
    paths = {"sqlite_path": str(tmp_path / "var" / "linkage.sqlite"),
             "referrals_path": str(tmp_path / "var" / "referrals.sqlite")}
    SQLiteBackend(paths["sqlite_path"]).load(demo_listings[:40])
    referrals = SQLiteReferralStore(paths["referrals_path"])
    first, second = referral("AAAAAAAAAAAAAAA", demo_listings[0]), referral("BBBBBBBBBBBBBBB", demo_listings[1])
    referrals.save(first)
    referrals.save(second)
    referrals.add_outcome(first, demo_listings[0].id, "attended", FIXED_NOW)
    keys = SQLiteKeyStore(paths["referrals_path"])
    keys.add_key("pk_test_one", "Clinic one", ["https://clinic.example"])
    return paths, referrals, keys, (first, second)


def test_sqlite_backup_and_restore_give_back_what_was_written(sqlite_deployment, tmp_path, monkeypatch, capsys,
                                                              demo_listings):
    paths, referrals, keys, (first, second) = sqlite_deployment
    backup_dir = tmp_path / "backup"
    status, said = linkage(monkeypatch, capsys, "backup", str(backup_dir), backend="sqlite", **paths)
    assert status == 0, said

    # After the backup: one referral deleted, one made, the key revoked, the index rebuilt smaller.
    with referrals._conn() as conn:
        conn.execute("DELETE FROM referrals WHERE code = ?", (first.code,))
    referrals.save(referral("CCCCCCCCCCCCCCC", demo_listings[2]))
    assert keys.revoke_key("pk_test_one")
    SQLiteBackend(paths["sqlite_path"]).load(demo_listings[:5])

    status, said = linkage(monkeypatch, capsys, "restore", str(backup_dir), backend="sqlite", **paths)
    assert status == 0, said
    # Read through the stores that were open all along, and through new ones.
    for store, key_store in ((referrals, keys), (SQLiteReferralStore(paths["referrals_path"]),
                                                 SQLiteKeyStore(paths["referrals_path"]))):
        assert store.get(first.code) == first
        assert store.get(second.code) == second
        assert store.get("CCCCCCCCCCCCCCC") is None
        assert store.referral_count() == 2
        assert [row["listing_id"] for row in store.outcome_rows()] == [demo_listings[0].id]
        assert key_store.list_keys() == [{"key": "pk_test_one", "name": "Clinic one",
                                          "origins": ["https://clinic.example"]}]
    restored = SQLiteBackend(paths["sqlite_path"])
    assert sorted(listing.id for listing in restored.listings()) == sorted(l.id for l in demo_listings[:40])
    assert restored.get(demo_listings[0].id) == demo_listings[0]


def test_sqlite_backup_refuses_a_directory_already_used(sqlite_deployment, tmp_path, monkeypatch, capsys):
    paths = sqlite_deployment[0]
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("x", encoding="utf-8")
    status, said = linkage(monkeypatch, capsys, "backup", str(used), backend="sqlite", **paths)
    assert status == 1 and "not an empty directory" in said


def test_restore_from_a_directory_without_a_backup_says_so(sqlite_deployment, tmp_path, monkeypatch, capsys):
    paths = sqlite_deployment[0]
    status, said = linkage(monkeypatch, capsys, "restore", str(tmp_path), backend="sqlite", **paths)
    assert status == 1 and "holds no Linkage backup" in said and "Traceback" not in said


# -- engine ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def snapshot_node(tmp_path_factory):
    """A one-node cluster of our own whose path.repo is a fresh directory; (url, that directory)."""
    repo = tmp_path_factory.mktemp("snapshots")
    started = subprocess.run([str(CLUSTER), "start", "--nodes", "1", "--port", PORT, "--repo", str(repo)],
                             capture_output=True, text=True, timeout=300)
    try:
        if started.returncode != 0:
            pytest.skip("no engine node for snapshots (deploy/search-engine/cluster start): "
                        + started.stderr.strip()[-800:])
        yield started.stdout.split()[0], repo
    finally:
        subprocess.run([str(CLUSTER), "stop", "--port", PORT], capture_output=True, timeout=300)


@pytest.mark.engine
def test_engine_snapshot_and_restore_give_back_what_was_written(snapshot_node, monkeypatch, capsys, demo_listings):
    url, repo = snapshot_node
    transport = make_transport("opensearch", url)
    backend = EngineBackend(transport, alias="bk-listings")
    kept = backend.load(demo_listings[:40]).target
    referrals, keys = EngineReferralStore(transport, prefix="bk"), EngineKeyStore(transport, prefix="bk")
    first, second = referral("AAAAAAAAAAAAAAA", demo_listings[0]), referral("BBBBBBBBBBBBBBB", demo_listings[1])
    referrals.save(first)
    referrals.save(second)
    referrals.add_outcome(first, demo_listings[0].id, "attended", FIXED_NOW)
    keys.add_key("pk_test_one", "Clinic one", ["https://clinic.example"])
    env = {"backend": "opensearch", "search_url": url, "index": "bk-listings"}

    status, said = linkage(monkeypatch, capsys, "backup", str(repo), **env)
    assert status == 0, said

    # After the snapshot: a new index behind the alias, every state index deleted.
    backend.load(demo_listings[:5])
    for name in ("bk-referrals", "bk-referral-outcomes", "bk-embed-keys"):
        transport.request("DELETE", f"/{name}")

    status, said = linkage(monkeypatch, capsys, "restore", str(repo), **env)
    assert status == 0, said
    assert sorted(transport.request("GET", "/_alias/bk-listings")) == [kept]
    assert sorted(listing.id for listing in backend.listings()) == sorted(l.id for l in demo_listings[:40])
    referrals, keys = EngineReferralStore(transport, prefix="bk"), EngineKeyStore(transport, prefix="bk")
    assert referrals.get(first.code) == first
    assert referrals.get(second.code) == second
    assert [row["listing_id"] for row in referrals.outcome_rows()] == [demo_listings[0].id]
    assert keys.list_keys() == [{"key": "pk_test_one", "name": "Clinic one", "origins": ["https://clinic.example"]}]


@pytest.mark.engine
def test_engine_backup_outside_path_repo_is_a_clear_error(snapshot_node, tmp_path, monkeypatch, capsys,
                                                          demo_listings):
    url, _ = snapshot_node
    EngineBackend(make_transport("opensearch", url), alias="bk-listings").load(demo_listings[:3])
    status, said = linkage(monkeypatch, capsys, "backup", str(tmp_path / "elsewhere"),
                           backend="opensearch", search_url=url, index="bk-listings")
    assert status == 1 and "path.repo" in said and "Traceback" not in said
