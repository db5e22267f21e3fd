"""Importing feeds end to end: reports, incremental refresh, dedupe, URLs, refresh config."""

import json
import os
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.backends.sqlite.backend import SQLiteBackend
from tests.conftest import DEMO, ROOT

RECORDS = json.loads(DEMO.read_text(encoding="utf-8"))


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "indexers", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=180)


def feed(tmp_path, name, records):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def with_ids(prefix, records):
    return [{**r, "id": f"{prefix}:{r['id'].split(':', 1)[1]}"} for r in records]


def test_reimporting_a_source_replaces_only_that_source(tmp_path):
    db = tmp_path / "index.sqlite"
    a = with_ids("alpha", RECORDS[:4])
    b = with_ids("beta", RECORDS[10:12])
    assert run("index", "--sqlite-path", str(db), str(feed(tmp_path, "alpha", a))).returncode == 0
    assert run("index", "--sqlite-path", str(db), str(feed(tmp_path, "beta", b))).returncode == 0
    backend = SQLiteBackend(db)
    assert backend.count() == 6
    changed = [{**a[0], "name": "Renamed meeting"}, a[1], a[2]]  # a[3] gone
    result = run("index", "--sqlite-path", str(db), str(feed(tmp_path, "alpha", changed)))
    assert result.returncode == 0, result.stderr
    assert "loaded 3" in result.stdout and "removed 1" in result.stdout
    ids = {x.id for x in backend.listings()}
    assert ids == {x["id"] for x in changed} | {x["id"] for x in b}
    assert backend.get(a[0]["id"]).name == "Renamed meeting"


def test_a_broken_feed_keeps_the_sources_previous_listings(tmp_path):
    db = tmp_path / "index.sqlite"
    good = feed(tmp_path, "alpha", with_ids("alpha", RECORDS[:4]))
    assert run("index", "--sqlite-path", str(db), str(good)).returncode == 0
    broken = tmp_path / "alpha.json"
    broken.write_bytes(b"\xff\xfe not json")
    result = run("index", "--sqlite-path", str(db), str(broken))
    assert result.returncode == 1 and "not UTF-8" in result.stderr
    assert {x.id for x in SQLiteBackend(db).listings()} == {x["id"] for x in with_ids("alpha", RECORDS[:4])}


def test_the_same_meeting_from_two_feeds_is_merged_keeping_both_sources(tmp_path):
    db = tmp_path / "index.sqlite"
    group = next(r for r in RECORDS if r["kind"] == "group" and r["location"] and r["sessions"])
    first = {**group, "id": "one:meeting", "source": {"name": "Feed one", "url": None, "licence": None}}
    nearby = {**group["location"], "lat": group["location"]["lat"] + 0.0003}  # about 33 m north
    second = {**group, "id": "two:meeting", "name": group["name"] + " group", "location": nearby,
              "source": {"name": "Feed two", "url": None, "licence": None}}
    elsewhere = {**second, "id": "two:other", "location": {**nearby, "lat": nearby["lat"] + 0.01}}
    result = run("index", "--sqlite-path", str(db), str(feed(tmp_path, "one", [first])),
                 str(feed(tmp_path, "two", [second, elsewhere])))
    assert result.returncode == 0, result.stderr
    assert "merged as duplicates 1" in result.stdout
    backend = SQLiteBackend(db)
    assert {x.id for x in backend.listings()} == {"one:meeting", "two:other"}
    assert [s.name for s in backend.get("one:meeting").also_from] == ["Feed two"]


def test_hostile_feed_is_reported_record_by_record_and_the_good_ones_load(tmp_path):
    good = RECORDS[:5]
    hostile = [
        {**RECORDS[5], "id": "hostile:script", "name": "<script>alert(1)</script> Group"},
        {**RECORDS[6], "id": "hostile:huge", "description": "x" * 1_000_000},
        {**RECORDS[7], "id": "hostile:control", "name": "Bad\x00name\x07"},
        {**RECORDS[8], "id": "hostile:coords", "location": {**(RECORDS[8]["location"] or {}), "lat": -95, "lon": 200},
         "formats": ["in_person"]},
        {**RECORDS[9], "id": "hostile:weekday", "sessions": [{"weekday": 9, "start": "19:00", "end": "20:00"}]},
        "a string, not a listing",
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(good + hostile), encoding="utf-8")
    report = tmp_path / "report.jsonl"
    db = tmp_path / "index.sqlite"
    result = run("index", "--sqlite-path", str(db), "--max-reject", "1", "--report", str(report), str(path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    by_record = {}
    for line in lines:
        assert set(line) == {"source", "position", "field", "problem", "value", "record_id", "record_name"}
        assert line["value"] is None or len(line["value"]) <= 81
        by_record.setdefault(line["position"], set()).add(line["field"])
    assert by_record["record 7"] == {"description"}
    assert by_record["record 8"] == {"name"}
    assert {"location.lat", "location.lon"} <= by_record["record 9"]
    assert by_record["record 10"] == {"sessions.0.weekday"}
    assert by_record["record 11"] == {"_record"}
    # Each report line names the record by its own id and name (plain text) as well.
    named = {line["position"]: (line["record_id"], line["record_name"]) for line in lines}
    assert named["record 9"] == ("hostile:coords", RECORDS[8]["name"])
    assert named["record 11"] == (None, None)
    backend = SQLiteBackend(db)
    # Names are plain text: the script and its tags go at import, the words stay.
    assert {x.id for x in backend.listings()} == {r["id"] for r in good} | {"hostile:script"}
    assert backend.get("hostile:script").name == "Group"
    assert "rejected 5" in result.stdout


@pytest.fixture()
def web_folder(tmp_path):
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_import_from_a_url(web_folder, tmp_path):
    folder, base = web_folder
    feed(folder, "remote", with_ids("remote", RECORDS[:3]))
    db = tmp_path / "url.sqlite"
    result = run("index", "--sqlite-path", str(db), f"{base}/remote.json")
    assert result.returncode == 0, result.stderr
    assert {x.id for x in SQLiteBackend(db).listings()} == {f"remote:{r['id'].split(':', 1)[1]}" for r in RECORDS[:3]}
    missing = run("index", "--sqlite-path", str(db), f"{base}/absent.json")
    assert missing.returncode == 1 and "could not fetch" in missing.stderr


def test_refresh_imports_every_configured_feed_and_records_success(tmp_path):
    feed(tmp_path, "alpha", with_ids("alpha", RECORDS[:2]))
    feed(tmp_path, "beta", with_ids("beta", RECORDS[2:5]))
    config = tmp_path / "sources.toml"
    config.write_text('[[source]]\nname = "alpha"\nlocation = "alpha.json"\n\n'
                      '[[source]]\nname = "beta"\nlocation = "beta.json"\nformat = "native"\n', encoding="utf-8")
    db = tmp_path / "index.sqlite"
    result = run("refresh", "--config", str(config), "--sqlite-path", str(db))
    assert result.returncode == 0, result.stderr
    loaded = {x.id for x in SQLiteBackend(db).listings()}
    assert loaded == {x["id"] for x in with_ids("alpha", RECORDS[:2]) + with_ids("beta", RECORDS[2:5])}
    state = json.loads((tmp_path / "index.sqlite.sources" / "state.json").read_text())
    assert set(state) == {"alpha", "beta"} and all(v["last_result"] == "ok" for v in state.values())
    (tmp_path / "beta.json").write_text("[", encoding="utf-8")
    failed = run("refresh", "--config", str(config), "--sqlite-path", str(db))
    assert failed.returncode == 1 and "beta: FAILED" in failed.stdout
    assert {x.id for x in SQLiteBackend(db).listings()} == loaded  # beta keeps its last good listings
    state = json.loads((tmp_path / "index.sqlite.sources" / "state.json").read_text())
    assert state["beta"]["last_result"].startswith("failed") and state["beta"]["last_success"]


def test_the_shipped_sources_file_reads(tmp_path):
    from indexers.commands.refresh import SOURCES_TOML, load_sources_toml

    specs = load_sources_toml(SOURCES_TOML)
    assert [s.name for s in specs] == ["demo"]
    assert os.path.exists(specs[0].location)
