"""The `linkage` command: index reports bad records and loads good ones; serve answers HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from indexers.commands.index import source_name_for
from tests.conftest import DEMO, ROOT


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "indexers", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_index_reports_bad_records_by_position_and_field_and_loads_the_rest(tmp_path):
    records = json.loads(DEMO.read_text(encoding="utf-8"))[:6]
    records[1] = {**records[1], "sessions": [{"weekday": "blursday", "start": "19:00", "end": "20:00"}]}
    records[3] = {**records[3], "location": {**(records[3]["location"] or {}), "lat": 123.0, "lon": 151.0},
                  "formats": ["in_person"]}
    records[4] = {**records[4], "name": "x" * 1_000_000}
    records.append("not an object")
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(records), encoding="utf-8")
    db = tmp_path / "index.sqlite"
    result = run_cli("index", "--sqlite-path", str(db), "--max-reject", "0.9", str(feed))
    assert result.returncode == 0, result.stderr
    # Each record as its maintainer finds it: position, then the feed's own id and name.
    assert f"feed.json: record 2 (id {records[1]['id']}, {records[1]['name']!r}): sessions.0.weekday:" in result.stderr
    assert f"feed.json: record 4 (id {records[3]['id']}, {records[3]['name']!r}): location.lat:" in result.stderr
    assert f"feed.json: record 5 (id {records[4]['id']}, 'xxxx" in result.stderr  # the name, cut short
    assert "): name:" in result.stderr
    assert "feed.json: record 7: _record: not a JSON object" in result.stderr
    assert len(max(result.stderr.splitlines(), key=len)) < 400  # the huge value is not echoed
    assert "read 7, loaded 3, rejected 4, geocoded 0, merged as duplicates 0, removed 0" in result.stdout
    # Too many rejections for the default limit: the source keeps its previous listings.
    strict = run_cli("index", "--sqlite-path", str(db), str(feed))
    assert strict.returncode == 1 and "over the 5% allowed" in strict.stderr


def test_index_with_nothing_valid_fails_and_keeps_the_old_index(tmp_path):
    db = tmp_path / "index.sqlite"
    assert run_cli("index", "--sqlite-path", str(db), str(DEMO)).returncode == 0
    before = db.stat().st_mtime_ns
    broken = tmp_path / "broken.json"
    broken.write_text("[{\"id\": 1}", encoding="utf-8")
    result = run_cli("index", "--sqlite-path", str(db), str(broken))
    assert result.returncode == 1 and "invalid JSON" in result.stderr, result.stderr
    assert db.stat().st_mtime_ns == before


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_over_http(tmp_path):
    db = tmp_path / "index.sqlite"
    assert run_cli("index", "--sqlite-path", str(db), str(DEMO)).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "indexers", "serve", "--port", str(port), "--workers", "1"],
        cwd=ROOT, env={**os.environ, "LINKAGE_SQLITE_PATH": str(db)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("linkage serve did not start")
                time.sleep(0.2)
        with urllib.request.urlopen(base + "/v1/search?near=2000&goal=moderation&format=online") as response:
            body = json.load(response)
        assert body["total"] > 0
        assert all("moderation" in i["goals"] and "online" in i["formats"] for i in body["items"])
        with urllib.request.urlopen(base + "/readyz") as response:
            assert json.load(response)["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_makefile_and_ci_wire_the_two_commands():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrun:" in makefile and "\ntest:" in makefile
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec make test")
    assert Path(ROOT / "README.md").read_text().index("make run") < 400


@pytest.mark.parametrize("location, given, several, expected", [
    ("feeds/sussex.json", None, False, "sussex"),
    ("feeds/sussex.json", "Sussex AA", False, "Sussex AA"),
    ("feeds/sussex.json", "AA", True, "AA-sussex"),
    ("https://aa.example.org/meetings.json", None, False, "meetings"),
    # A search on a BMLT root server: the path ends in the interface's name, the query says
    # what was asked; the server is what a maintainer recognises.
    ("https://bmlt.example.org/main_server/client_interface/json/?switcher=GetSearchResults&services=4",
     None, False, "bmlt.example.org"),
    ("https://bmlt.example.org/main_server/", None, False, "bmlt.example.org"),
    ("https://bmlt.example.org/", None, False, "bmlt.example.org"),
])
def test_a_source_is_named_after_its_file_or_its_server(location, given, several, expected):
    assert source_name_for(location, given, several) == expected
