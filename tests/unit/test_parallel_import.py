"""A large feed read on several processes (`indexers.parallel`) gives what reading it in one
process gives: the same listings, rejections, warnings and counts, in the same order, and
the same index. The one-process path is the reference (`pipeline.prepare`, itself held to
marshmallow by test_import_fast_paths); runs are made small here so real feeds of a few
hundred meetings are split into many, with records that need geocoding, records that fail,
and an id repeated in a later run among them.
"""

from __future__ import annotations

import json
import os

import pytest

from bench import synth
from bench.import_sides import compare_indexes
from indexers import parallel, sources
from indexers.imports import SourceCache, SourceSpec, import_sources, read_source
from indexers.records import ReadOptions
from service.backends.sqlite.backend import SQLiteBackend
from service.search.places import OfflineGazetteer
from tests.conftest import GAZETTEER, ROOT

REAL_FEEDS = ROOT / "tests" / "fixtures" / "feeds" / "meeting-guide"
REAL_ZONES = {"eating-disorders-anonymous.json": "America/Los_Angeles",
              "edmonton-ca-aa.json": "America/Edmonton", "sussex-county-de-aa.json": "America/New_York"}
# Its meetings give addresses and no coordinates (checked by hand).
NO_COORDINATES = {"edmonton-ca-aa.json"}
RUN = 37  # meetings a run: a prime, so runs end mid-way through everything


@pytest.fixture
def small_runs(monkeypatch):
    """Runs of RUN meetings, and every feed large enough to be shared out."""
    monkeypatch.setattr(parallel, "PART_SIZE", RUN)
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)


@pytest.fixture
def damaged_feed(tmp_path):
    """A synthetic Meeting Guide feed of 400 meetings with, on purpose: meetings the reader
    rejects, warnings, meetings without coordinates (geocoded from their postcode), and a
    slug repeated 200 meetings later, and a name with a lone surrogate."""
    meetings = synth.meeting_guide_feed(400, synth.load_towns(GAZETTEER))
    meetings[3]["time"] = "25:99"
    meetings[50]["timezone"] = "Mars/Base"
    meetings[77]["updated"] = "not a date"
    meetings[90]["name"] = "x" * 300
    meetings[120]["email"] = "not-an-email"
    for number in (10, 150, 333):
        del meetings[number]["latitude"], meetings[number]["longitude"]
        meetings[number].update(formatted_address="", address="", city="", state="NSW", postal_code="2000")
    meetings[260]["slug"] = meetings[60]["slug"]
    # Text orjson will not write or read: a lone surrogate (the stdlib writes it, escaped).
    meetings[300]["name"] += " \ud800"
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(meetings), encoding="utf-8")
    return path


def _spec(path) -> SourceSpec:
    # The real feeds' meetings name no time zone: each would be rejected for it.
    zone = REAL_ZONES.get(path.name)
    return SourceSpec(location=str(path), format="meeting-guide",
                      options=ReadOptions(source_name="mg", program="Alcoholics Anonymous", timezone=zone))


def _feeds(damaged_feed):
    return [damaged_feed, *sorted(REAL_FEEDS.glob("*.json"))]


def _shown(prepared) -> tuple:
    return (prepared.read, prepared.rejected, prepared.geocoded,
            [r.as_json() for r in prepared.rejections], [w.as_json() for w in prepared.warnings])


def test_every_feed_reads_the_same_on_two_processes(small_runs, damaged_feed, monkeypatch):
    rebuilt = []
    keep = parallel.listing_from_document
    monkeypatch.setattr(parallel, "listing_from_document", lambda text: rebuilt.append(1) or keep(text))
    geocoder = OfflineGazetteer(GAZETTEER)
    for path in _feeds(damaged_feed):
        alone = read_source(_spec(path), geocoder, workers=1)
        assert not rebuilt, "one process sends nothing back"
        shared = read_source(_spec(path), geocoder, workers=2)
        assert len(alone.listings) > 100, path.name
        if path.name in NO_COORDINATES:  # every meeting is geocoded in the importing process
            assert not rebuilt and shared.geocoded == len(shared.listings), path.name
        else:
            assert rebuilt, f"{path.name}: no listing came back from a worker"
        rebuilt.clear()
        assert shared.listings == alone.listings, path.name
        assert [x.id for x in shared.listings] == [x.id for x in alone.listings]
        assert _shown(shared) == _shown(alone), path.name


def test_what_the_damaged_feed_holds_is_reported_as_one_process_reports_it(small_runs, damaged_feed):
    # Expected from the damage done in `damaged_feed`, worked out by hand.
    prepared = read_source(_spec(damaged_feed), OfflineGazetteer(GAZETTEER), workers=2)
    assert prepared.read == 400
    assert prepared.geocoded == 3  # meetings 11, 151 and 334: in runs 1, 5 and 10 of 37
    duplicate = [r for r in prepared.rejections if r.problem.startswith("duplicate id")]
    assert len(duplicate) == 1
    assert duplicate[0].position == "record 261" and duplicate[0].field == "slug"
    assert duplicate[0].problem == "duplicate id: damaged.json record 61 has it too"
    assert duplicate[0].record_id == "erskine-park-61"  # the reader's slug, sent back by the worker
    rejected = {r.position for r in prepared.rejections}
    assert {"record 4", "record 51", "record 91", "record 261", "record 301"} <= rejected
    surrogate = [r for r in prepared.rejections if r.position == "record 301"]
    assert [(r.field, r.problem) for r in surrogate] == [
        ("name", "contains a lone surrogate (a character code no text can hold)")]
    assert "\ufffd" in surrogate[0].value and "\ud800" not in surrogate[0].as_json()
    assert {"record 78", "record 121"} <= {w.position for w in prepared.warnings}
    assert len(prepared.listings) == 400 - prepared.rejected


def test_an_import_writes_the_same_index_on_two_processes(small_runs, damaged_feed, tmp_path):
    reports, targets = [], []
    for workers in (1, 2):
        target = tmp_path / f"workers-{workers}.sqlite"
        sussex = SourceSpec(location=str(REAL_FEEDS / "sussex-county-de-aa.json"), format="meeting-guide",
                            options=ReadOptions(source_name="sussex", program="Alcoholics Anonymous",
                                                timezone="America/New_York"))
        summary = import_sources([_spec(damaged_feed), sussex], SQLiteBackend(target), OfflineGazetteer(GAZETTEER),
                                 SourceCache(tmp_path / f"cache-{workers}"), workers=workers)
        targets.append(target)
        reports.append((summary.line(), [vars(o) for o in summary.outcomes],
                        [r.as_json() for r in summary.rejections], [w.as_json() for w in summary.warnings]))
    assert compare_indexes(*targets) == []
    assert reports[0] == reports[1]
    # Not two empty imports: both feeds loaded (Sussex County has 123 meetings), the lone
    # surrogate rejected rather than failing the load.
    assert reports[0][1][0]["loaded"] > 350 and reports[0][1][1]["loaded"] > 100


def test_formats_read_whole_are_not_split():
    feed = sources.fetch(str(ROOT / "data" / "demo" / "listings.json"))
    assert sources.split(feed, "native", ReadOptions(source_name="demo"), 10) is None
    assert sources.split(feed, "auto", ReadOptions(source_name="demo"), 10) is None


def test_a_feed_split_in_runs_numbers_its_records_as_the_whole_feed(damaged_feed):
    feed = sources.fetch(str(damaged_feed))
    parts = sources.split(feed, "meeting-guide", ReadOptions(source_name="mg"), RUN)
    assert [len(p.entries) for p in parts] == [RUN] * 10 + [400 - 10 * RUN]
    positions = [r.position for part in parts for r in sources.read_part(part)]
    assert positions == [f"record {n}" for n in range(1, 401)]


def _killed(number):
    """A worker's run that never ends: the process is gone, as if killed."""
    os._exit(3)


def test_a_worker_killed_midway_leaves_the_feed_read_in_one_process(small_runs, damaged_feed, monkeypatch,
                                                                    caplog):
    alone = read_source(_spec(damaged_feed), OfflineGazetteer(GAZETTEER), workers=1)
    monkeypatch.setattr(parallel, "_prepare_run", _killed)
    shared = read_source(_spec(damaged_feed), OfflineGazetteer(GAZETTEER), workers=2)
    assert "ended unexpectedly" in caplog.text and "damaged.json" in caplog.text
    assert shared.listings == alone.listings and _shown(shared) == _shown(alone)


_KILLED_IMPORT = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from indexers import imports, parallel
from indexers.records import ReadOptions

def slow(number):  # a worker's run that takes a minute
    time.sleep(60)

parallel._prepare_run = slow
parallel.PART_SIZE, parallel.PARALLEL_FROM = 37, 0
spec = imports.SourceSpec(sys.argv[2], ReadOptions(source_name="sussex", timezone="America/New_York"),
                          "meeting-guide")
with imports.import_lock(Path(sys.argv[3])):
    print("reading", flush=True)
    imports.read_source(spec, None, workers=2)
"""


def test_workers_end_when_the_import_is_killed_and_the_lock_is_free(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from indexers.imports import import_lock

    importer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_IMPORT, str(ROOT), str(REAL_FEEDS / "sussex-county-de-aa.json"),
         str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert importer.stdout.readline().strip() == "reading"
        time.sleep(1.5)  # the worker is forked and asleep in its first run
    finally:
        importer.send_signal(signal.SIGKILL)
        importer.wait()
        importer.stdout.close()
    # The worker held a copy of the lock's descriptor; it ends within a second of its parent.
    with import_lock(tmp_path, wait_seconds=10):
        pass
