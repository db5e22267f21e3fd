"""Zero-downtime re-indexing on the engine: alias swap, rollback, refused and killed loads."""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from service import create_app
from service.backends.engine import queries
from service.backends.engine.backend import ABANDONED_AFTER, STAMP_FORMAT, EngineBackend, LoadFailed, make_transport
from tests.conftest import DEMO, ENGINE_KIND, FIXED_NOW, ROOT, delete_alias_indices, engine_url

pytestmark = pytest.mark.engine


@pytest.fixture()
def fresh(request, demo_listings):
    """An engine backend under an alias of its own, loaded once with the demo data."""
    alias = f"linkage-reindex-{os.getpid()}-{request.node.name.lower()[:30]}"
    backend = EngineBackend(make_transport(ENGINE_KIND, engine_url()), alias=alias)
    backend.load(demo_listings)
    yield backend
    delete_alias_indices(backend)


class Searcher(threading.Thread):
    """Searches through the app in a loop, counting answers that are not 200."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.stop = threading.Event()
        self.ok = 0
        self.failed = []

    def run(self):
        while not self.stop.is_set():
            response = self.client.get("/v1/search?near=2000&sort=soonest")
            if response.status_code == 200 and response.get_json()["total"] > 0:
                self.ok += 1
            else:
                self.failed.append(response.status_code)


def test_load_swaps_alias_keeps_previous_and_rolls_back(fresh, demo_listings):
    first = fresh._current()
    fewer = demo_listings[:100]
    report = fresh.load(fewer)
    assert fresh._current() == report.target != first
    assert fresh.count() == 100
    assert set(fresh._indices()) == {first, report.target}
    third = fresh.load(demo_listings[:50])
    assert set(fresh._indices()) == {report.target, third.target}  # the oldest is gone
    assert fresh.rollback() == report.target
    assert fresh.count() == 100


def test_a_listing_changed_under_its_id_shows_as_changed_after_a_reload(fresh, demo_listings, gazetteer):
    """The backend reuses listings it rebuilt from earlier hits (`_BuiltListings`): a reload
    that changes a listing under the same id must still show the new one, through the same
    backend and app, page and listing alike."""
    from dataclasses import replace

    app = create_app({"api_rate_limit": "1000000/minute"}, backend=fresh, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    client = app.test_client()
    url = "/v1/search?near=2000&sort=distance&per_page=5"
    first = client.get(url).get_json()["items"]
    assert first
    target = first[0]["id"]
    renamed = [replace(x, name=x.name + " (renamed)", open_24_7=not x.open_24_7) if x.id == target else x
               for x in demo_listings]
    fresh.load(renamed)
    again = client.get(url).get_json()["items"]
    shown = next(item for item in again if item["id"] == target)
    expected = next(x for x in renamed if x.id == target)
    assert shown["name"] == expected.name == first[0]["name"] + " (renamed)"
    assert shown["open_24_7"] is expected.open_24_7 is not first[0]["open_24_7"]
    # Every other item as it was (what the reload did not change reads the same).
    assert [i for i in again if i["id"] != target] == [i for i in first if i["id"] != target]


def test_a_bulk_load_s_threads_keep_their_connections(fresh, caplog):
    """Two bulk threads, two kept connections: none opened and dropped per batch (urllib3
    warns "Connection pool is full" when it has to drop one)."""
    import logging

    from bench import synth
    from service.backends.engine.backend import BULK_CHUNK, BULK_THREADS
    from tests.conftest import GAZETTEER

    listings = synth.listings(BULK_CHUNK * BULK_THREADS * 2 + 1, synth.load_towns(GAZETTEER), validate_every=500)
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        assert fresh.load(listings).loaded == len(listings)
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_failed_documents_are_reported_and_too_many_refuse_the_swap(fresh, demo_listings, gazetteer):
    before = fresh._current()
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=fresh, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    searcher = Searcher(app)
    searcher.start()
    bad_ids = {x.id for x in demo_listings[::90]}  # 6 of 459: over 1 %

    def sometimes_bad(listing):
        document = queries.document(listing)
        if listing.id in bad_ids:
            document["location"] = {"lat": 123.0, "lon": 500.0}  # the engine rejects this point
        return document

    broken = EngineBackend(fresh.transport, alias=fresh.alias, document=sometimes_bad)
    try:
        with pytest.raises(LoadFailed) as refused:
            broken.load(demo_listings)
    finally:
        time.sleep(0.5)
        searcher.stop.set()
        searcher.join(10)
    assert {listing_id for listing_id, _ in refused.value.failures} == bad_ids
    assert all(reason for _, reason in refused.value.failures)
    assert fresh._current() == before and fresh._indices() == [before]
    assert searcher.ok > 0 and searcher.failed == []

    lenient = EngineBackend(fresh.transport, alias=fresh.alias, document=sometimes_bad, max_failed_ratio=0.05)
    report = lenient.load(demo_listings)
    assert report.loaded == len(demo_listings) - len(bad_ids)
    assert {listing_id for listing_id, _ in report.failures} == bad_ids
    assert fresh._current() == report.target


def test_killed_loader_leaves_the_old_index_serving(fresh, demo_listings, gazetteer, tmp_path):
    records = json.loads(DEMO.read_text(encoding="utf-8"))
    # Enough copies that bulk loading takes a few seconds.
    many = [{**r, "id": f"{r['id']}-{n}"} for n in range(40) for r in records]
    feed = tmp_path / "big.json"
    feed.write_text(json.dumps(many), encoding="utf-8")
    before = fresh._current()
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=fresh, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    searcher = Searcher(app)
    searcher.start()
    loader = subprocess.Popen(
        [sys.executable, "-m", "indexers", "index", "--backend", ENGINE_KIND, "--search-url", engine_url(),
         str(feed)], cwd=ROOT, env={**os.environ, "LINKAGE_INDEX": fresh.alias,
                                   "LINKAGE_SOURCES_DIR": str(tmp_path / "sources")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(fresh._indices()) < 2 and loader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert loader.poll() is None, "the loader finished before it could be killed"
        time.sleep(0.5)
        loader.kill()
        loader.wait(10)
    finally:
        searcher.stop.set()
        searcher.join(10)
    assert fresh._current() == before
    assert fresh.count() == len(demo_listings)
    assert searcher.ok > 0 and searcher.failed == []
    leftover = set(fresh._indices()) - {before}
    assert len(leftover) == 1
    # The next load keeps what the killed one left (it might be an import still running)...
    report = fresh.load(demo_listings[:10])
    assert set(fresh._indices()) == {before, report.target} | leftover
    # ...and a load once it is ABANDONED_AFTER old deletes it.
    later = EngineBackend(fresh.transport, alias=fresh.alias,
                          wall_clock=lambda: datetime.now(timezone.utc) + ABANDONED_AFTER + timedelta(minutes=1))
    final = later.load(demo_listings[:5])
    assert set(fresh._indices()) == {report.target, final.target}


def test_an_import_leaves_a_concurrent_import_s_unfinished_index_alone(fresh, demo_listings):
    """Two imports at once: the one that finishes first must not delete the other's index."""
    before = fresh._current()
    other = f"{fresh.alias}-{datetime.now(timezone.utc).strftime(STAMP_FORMAT)}"
    fresh.transport.request("PUT", f"/{other}", queries.index_body({"complete": False}))
    report = fresh.load(demo_listings[:10])
    assert set(fresh._indices()) == {before, report.target, other}
    assert fresh.rollback() == before  # never onto an index that is still loading
    # Finished indices are cleaned up as before: the next load keeps the one it replaces
    # (the rolled-back-to `before`) and drops the other finished one.
    third = fresh.load(demo_listings[:5])
    assert set(fresh._indices()) == {before, third.target, other}


def test_index_command_loads_the_engine_and_rolls_back(fresh, tmp_path, demo_listings):
    env = {**os.environ, "LINKAGE_INDEX": fresh.alias, "LINKAGE_SOURCES_DIR": str(tmp_path / "sources")}
    before = fresh._current()
    small = tmp_path / "small.json"
    records = json.loads(DEMO.read_text(encoding="utf-8"))[:30]
    small.write_text(json.dumps([{**r, "id": r["id"].replace("demo:", "small:")} for r in records]),
                     encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "indexers", "index", "--backend", ENGINE_KIND, "--search-url", engine_url(),
         str(small)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # A new source joins the listings already served (seeded from the index itself).
    assert "loaded 30" in result.stdout and fresh.count() == len(demo_listings) + 30
    result = subprocess.run(
        [sys.executable, "-m", "indexers", "index", "--backend", ENGINE_KIND, "--search-url", engine_url(),
         "--rollback"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert fresh._current() == before and fresh.count() == len(demo_listings)


def test_imports_leave_other_aliases_with_the_same_prefix_alone(fresh, demo_listings):
    neighbour = EngineBackend(fresh.transport, alias=f"{fresh.alias}-staging")
    try:
        neighbour.load(demo_listings[:5])
        fresh.load(demo_listings[:7])
        fresh.load(demo_listings[:9])
        assert neighbour.count() == 5 and len(neighbour._indices()) == 1
        assert all("staging" not in name for name in fresh._indices())
    finally:
        delete_alias_indices(neighbour)


def test_rollback_without_a_previous_index_is_a_clean_error(demo_listings, tmp_path):
    alias = f"linkage-norollback-{os.getpid()}"
    backend = EngineBackend(make_transport(ENGINE_KIND, engine_url()), alias=alias)
    backend.load(demo_listings[:3])
    try:
        result = subprocess.run(
            [sys.executable, "-m", "indexers", "index", "--backend", ENGINE_KIND, "--search-url", engine_url(),
             "--rollback"], cwd=ROOT, env={**os.environ, "LINKAGE_INDEX": alias,
                                           "LINKAGE_SOURCES_DIR": str(tmp_path / "sources")},
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert "rollback failed: no previous index" in result.stderr and "Traceback" not in result.stderr
    finally:
        delete_alias_indices(backend)
