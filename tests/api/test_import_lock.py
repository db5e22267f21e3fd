"""Two imports into one target at once, as two real `linkage index` processes.

The first reads its feed from a local web server that holds the answer until the test
lets it go, so the second starts while the first is certainly inside its import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.backends.sqlite.backend import SQLiteBackend
from tests.conftest import DEMO, ROOT

RECORDS = json.loads(DEMO.read_text(encoding="utf-8"))
EXIT_LOCKED = 75  # EX_TEMPFAIL in sysexits.h: try again later


def with_ids(prefix, records):
    return [{**r, "id": f"{prefix}:{r['id'].split(':', 1)[1]}"} for r in records]


ALPHA = with_ids("alpha", RECORDS[:4])
BETA = with_ids("beta", RECORDS[10:12])


class HeldFeed:
    """A feed served once asked, but only when released: `asked` tells the import is under way."""

    def __init__(self, records):
        self.body = json.dumps(records).encode()
        self.asked = threading.Event()
        self.released = threading.Event()


@pytest.fixture()
def held_feed():
    feed = HeldFeed(ALPHA)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            feed.asked.set()
            feed.released.wait(120)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(feed.body)))
            self.end_headers()
            self.wfile.write(feed.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield feed, f"http://127.0.0.1:{server.server_address[1]}/alpha.json"
    finally:
        feed.released.set()
        server.shutdown()


def start(*args):
    """`linkage ARGS` as a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "indexers", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


def first_import_under_way(db, feed, url):
    """The first import, holding its feed (and so its import) open until released."""
    first = start("index", "--sqlite-path", str(db), url)
    if not feed.asked.wait(120):
        first.kill()
        pytest.fail(f"the first import never asked for its feed: {first.communicate()[1][-2000:]}")
    return first


def test_a_second_import_meanwhile_stops_naming_the_first_and_changes_nothing(tmp_path, held_feed):
    feed, url = held_feed
    db = tmp_path / "linkage.sqlite"
    beta = tmp_path / "beta.json"
    beta.write_text(json.dumps(BETA), encoding="utf-8")
    first = first_import_under_way(db, feed, url)
    try:
        second = subprocess.run([sys.executable, "-m", "indexers", "index", "--sqlite-path", str(db), str(beta)],
                                cwd=ROOT, capture_output=True, text=True, timeout=180)
    finally:
        feed.released.set()
        out, err = first.communicate(timeout=180)
    assert second.returncode == EXIT_LOCKED, second.stderr
    assert f"another import is running (pid {first.pid}, since " in second.stderr
    assert first.returncode == 0, err
    assert {x.id for x in SQLiteBackend(db).listings()} == {r["id"] for r in ALPHA}


def test_with_wait_the_second_import_runs_after_the_first_and_both_feeds_stay(tmp_path, held_feed):
    feed, url = held_feed
    db = tmp_path / "linkage.sqlite"
    beta = tmp_path / "beta.json"
    beta.write_text(json.dumps(BETA), encoding="utf-8")
    first = first_import_under_way(db, feed, url)
    second = start("index", "--sqlite-path", str(db), "--wait", "600", str(beta))
    try:
        told = second.stderr.readline()  # the second says it waits before the first is let go
        assert f"for another import (pid {first.pid}, since " in told, told
    finally:
        feed.released.set()
        first_out, first_err = first.communicate(timeout=180)
        second_out, second_err = second.communicate(timeout=180)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert {x.id for x in SQLiteBackend(db).listings()} == {r["id"] for r in ALPHA + BETA}
