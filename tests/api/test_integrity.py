"""The SQLite index's health: a damaged file, a path that is not a file, a swapped-out file.

Every index here is a real SQLite file written by the backend; damage is real bytes
overwritten in the file, and what a process holds open is read from /proc/self/fd.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from service import create_app, warm_up
from service.backends.contract import BackendUnavailable
from service.backends.sqlite.backend import SQLiteBackend
from tests.conftest import DEMO, FIXED_NOW, ROOT


def build(path: Path, listings) -> SQLiteBackend:
    """A real index of `listings` at `path`."""
    backend = SQLiteBackend(path)
    backend.load(listings)
    return backend


def damage_a_middle_page(path: Path, table: str = "docs") -> int:
    """Overwrite the middle page of `table` in the file with garbage, as a failing disk
    would; returns the page number. The table's pages come from SQLite's own dbstat."""
    conn = sqlite3.connect(path)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [row[0] for row in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (table,))]
    finally:
        conn.close()
    assert len(pages) >= 3, f"{table} spans too few pages to have a middle one"
    page = pages[len(pages) // 2]
    with open(path, "r+b") as fh:
        fh.seek((page - 1) * page_size)  # pages are numbered from 1
        fh.write(bytes(range(256)) * (page_size // 256))
    return page


def app_over(backend, tmp_path):
    """The app over `backend`, with its own referral store, a fixed clock."""
    return create_app({"referrals_path": str(tmp_path / "referrals.sqlite"),
                       "link_checks_path": str(tmp_path / "link-checks.sqlite"),
                       "api_rate_limit": "1000000/minute"},
                      backend=backend, clock=lambda: FIXED_NOW)


def assert_unavailable(response):
    """A 503 in the API's error envelope."""
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "backend_unavailable"


# -- 1. a file damaged in the middle ------------------------------------------------------


def test_an_index_damaged_in_the_middle_is_not_ready_and_every_read_says_503(tmp_path, demo_listings):
    backend = build(tmp_path / "linkage.sqlite", demo_listings)
    damage_a_middle_page(backend.path)
    client = app_over(SQLiteBackend(backend.path), tmp_path).test_client()

    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "unavailable"
    assert "damaged" in body["reason"] and "linkage.sqlite" in body["reason"]
    assert str(tmp_path) not in body["reason"]  # the file's name, not where the server keeps it
    assert_unavailable(client.get("/v1/search?near=2000"))
    assert_unavailable(client.get("/v1/search?q=meeting"))
    assert_unavailable(client.get("/v1/feeds/meeting-guide.json"))
    assert_unavailable(client.get(f"/v1/listings/{demo_listings[0].id}"))


def test_a_damaged_file_swapped_in_under_a_serving_app_is_caught(tmp_path, demo_listings):
    live = tmp_path / "linkage.sqlite"
    build(live, demo_listings)
    client = app_over(SQLiteBackend(live), tmp_path).test_client()
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/feeds/meeting-guide.json").status_code == 200

    spare = tmp_path / "spare.sqlite"
    shutil.copyfile(live, spare)
    damage_a_middle_page(spare)
    os.replace(spare, live)  # what a swap does

    ready = client.get("/readyz")
    assert ready.status_code == 503 and "damaged" in ready.get_json()["reason"]
    assert_unavailable(client.get("/v1/feeds/meeting-guide.json"))

    build(live, demo_listings)  # the next good import heals it
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/feeds/meeting-guide.json").status_code == 200


def test_damage_quick_check_cannot_see_still_gives_503_not_500(tmp_path, demo_listings):
    """A stored listing's own bytes overwritten leave every b-tree sound, so the check at
    open passes; the feed, which reads every stored listing, still answers in the envelope."""
    path = tmp_path / "linkage.sqlite"
    build(path, demo_listings)
    client = app_over(SQLiteBackend(path), tmp_path).test_client()
    assert client.get("/readyz").status_code == 200
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT doc FROM docs ORDER BY rid LIMIT 1 OFFSET 200").fetchone()[0].encode()
    conn.close()
    content = path.read_bytes()
    assert content.count(stored) == 1
    with open(path, "r+b") as fh:
        fh.seek(content.index(stored))
        fh.write(b"#")  # the document's opening brace
    assert_unavailable(client.get("/v1/feeds/meeting-guide.json"))


def test_a_meta_table_holding_garbage_is_not_ready_rather_than_a_500(tmp_path, demo_listings):
    path = tmp_path / "linkage.sqlite"
    build(path, demo_listings[:5])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = 'yesterday-ish' WHERE key = 'built_at'")
    conn.commit()
    conn.close()
    ready = app_over(SQLiteBackend(path), tmp_path).test_client().get("/readyz")
    assert ready.status_code == 503
    assert "damaged" in ready.get_json()["reason"]


# -- 5. a path that is not a file ---------------------------------------------------------


def test_an_index_path_that_is_a_directory_fails_warm_up_naming_the_path(tmp_path):
    folder = tmp_path / "linkage.sqlite"
    folder.mkdir()
    app = create_app({"sqlite_path": str(folder), "referrals_path": str(tmp_path / "referrals.sqlite"),
                      "link_checks_path": str(tmp_path / "link-checks.sqlite")})
    with pytest.raises(BackendUnavailable) as caught:
        warm_up(app)
    assert str(folder) in str(caught.value) and "is a directory" in str(caught.value)
    assert "disk I/O error" not in str(caught.value)

    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert "is a directory" in ready.get_json()["reason"]


def test_linkage_serve_on_a_directory_stops_with_the_path_and_the_problem(tmp_path):
    folder = tmp_path / "linkage.sqlite"
    folder.mkdir()
    env = {**os.environ, "LINKAGE_SQLITE_PATH": str(folder),
           "LINKAGE_REFERRALS_PATH": str(tmp_path / "referrals.sqlite"),
           "LINKAGE_LINK_CHECKS_PATH": str(tmp_path / "link-checks.sqlite")}
    server = subprocess.run([sys.executable, "-m", "indexers", "serve", "--port", "0", "--workers", "1"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert server.returncode != 0
    assert f"the index path {folder} is a directory" in server.stderr


# -- 4. the swapped-out file is let go --------------------------------------------------


def open_inodes() -> set[tuple[int, int]]:
    """(device, inode) of every file this process holds open."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the directory listing's own descriptor, already closed
        held.add((found.st_dev, found.st_ino))
    return held


def identity(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_dev, found.st_ino


def test_a_swapped_out_index_is_closed_in_every_thread(tmp_path, demo_listings):
    path = tmp_path / "linkage.sqlite"
    backend = build(path, demo_listings[:40])
    old = identity(path)
    # Threads that read the old file and then sit idle, as a threaded server's do.
    readers = [threading.Thread(target=backend.count) for _ in range(3)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    idle = threading.Event()
    parked = threading.Thread(target=lambda: (backend.count(), idle.wait(60)))
    parked.start()
    try:
        assert backend.count() == 40
        assert old in open_inodes()
        backend.load(demo_listings[:60])
        assert backend.count() == 60
        assert identity(path) != old
        assert old not in open_inodes(), "the swapped-out index is still held open"
    finally:
        idle.set()
        parked.join()


def test_warming_holds_no_file_open_and_a_forked_worker_lets_the_old_one_go(tmp_path, demo_listings):
    """A preloading master warms the columns and forks; it keeps no descriptor for workers
    to inherit, and a worker that saw the index swapped holds only the new file."""
    path = tmp_path / "linkage.sqlite"
    backend = build(path, demo_listings[:40])
    backend.warm()
    old = identity(path)
    assert old not in open_inodes(), "warming left the index open in the master"
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the worker
        try:
            os.close(read)
            answers = [backend.count()]
            backend.load(demo_listings[:60])
            answers.append(backend.count())
            answers.append(int(old in open_inodes()))
            os.write(write, ",".join(map(str, answers)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    assert answer == "40,60,0"


def held_by(pid: int) -> set[tuple[int, int]]:
    """(device, inode) of every file process `pid` holds open."""
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        held.add((found.st_dev, found.st_ino))
    return held


def children(pid: int) -> list[int]:
    """The processes `pid` started (gunicorn's workers)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def wait_ready(base: str, server) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail("linkage serve did not become ready")
        time.sleep(0.2)


def test_gunicorns_master_and_worker_let_a_swapped_out_index_go(tmp_path):
    db = tmp_path / "linkage.sqlite"
    index = [sys.executable, "-m", "indexers", "index", "--sqlite-path", str(db), str(DEMO)]
    assert subprocess.run(index, cwd=ROOT, capture_output=True, timeout=180).returncode == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "indexers", "serve", "--port", str(port), "--workers", "1"], cwd=ROOT,
        env={**os.environ, "LINKAGE_SQLITE_PATH": str(db), "LINKAGE_REFERRALS_PATH": str(tmp_path / "r.sqlite"),
             "LINKAGE_LINK_CHECKS_PATH": str(tmp_path / "l.sqlite")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        with urllib.request.urlopen(base + "/v1/search?near=2000", timeout=30) as response:
            assert response.status == 200
        old = identity(db)
        assert old in held_by(children(server.pid)[0])  # the worker reads the file it serves

        assert subprocess.run(index, cwd=ROOT, capture_output=True, timeout=180).returncode == 0
        assert identity(db) != old
        wait_ready(base, server)  # the worker's next read is on the new file
        for pid in [server.pid, *children(server.pid)]:
            assert old not in held_by(pid), f"process {pid} still holds the swapped-out index"
    finally:
        server.terminate()
        server.wait(timeout=30)
