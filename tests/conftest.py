"""Shared fixtures: the demo data indexed once into a temporary SQLite file, a fixed clock."""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from indexers.load import read_sources
from service import create_app
from service.backends.sqlite.backend import SQLiteBackend
from service.search.places import OfflineGazetteer

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo" / "listings.json"
GAZETTEER = ROOT / "data" / "gazetteer"
# Real public feeds with licences that allow copies here (origin and licence in its README).
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
# Real feeds that may not be redistributed (the 211 Miami export): ../shared/realdata beside
# the repository, or LINKAGE_REALDATA.
REALDATA = Path(os.environ.get("LINKAGE_REALDATA") or ROOT.parent / "shared" / "realdata")


def realdata_or_skip(path: Path) -> Path:
    """A path in the real feeds that may not be redistributed; the test is skipped, saying
    where the feeds were looked for, on a clone without them."""
    if not path.exists():
        pytest.skip(f"real feed data not present: {path} (../shared/realdata beside the repository, "
                    "or LINKAGE_REALDATA; see its README for origin and licence)")
    return path
# A Thursday evening in Sydney (AEDT), so "soon" and "open now" have something to find.
FIXED_NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def gazetteer():
    """The offline gazetteer from data/gazetteer."""
    return OfflineGazetteer(GAZETTEER)


@pytest.fixture(scope="session")
def demo_listings():
    """Every demo listing, validated, with the hostile demo name put back.

    Import makes names plain text, so `demo:g0001`'s "<img src=x onerror=alert(1)> Demo group"
    loads as "Demo group". Every renderer must still escape whatever a store holds (a listing
    written by another tool, an older index), so the tests serve the name as the demo file has
    it and check that pages, widget, handouts and feeds show it as text.
    """
    result = read_sources([DEMO])
    assert not result.rejections, result.rejections[:3]
    raw_names = {entry["id"]: entry["name"] for entry in json.loads(DEMO.read_text(encoding="utf-8"))}
    hostile = {"demo:g0001"}
    assert all(raw_names[i] != listing.name for listing in result.listings if (i := listing.id) in hostile), \
        "import no longer strips markup from the demo's hostile name"
    return [replace(listing, name=raw_names[listing.id]) if listing.id in hostile else listing
            for listing in result.listings]


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory, demo_listings):
    """The demo data in a SQLite index."""
    backend = SQLiteBackend(tmp_path_factory.mktemp("index") / "linkage.sqlite")
    backend.load(demo_listings)
    return backend


ENGINE_URL = os.environ.get("LINKAGE_SEARCH_URL")
ENGINE_KIND = os.environ.get("LINKAGE_TEST_ENGINE_KIND", "opensearch")


def engine_url() -> str:
    """The engine to test against; a failure when `make test` promised one, else a skip."""
    if ENGINE_URL:
        return ENGINE_URL
    if os.environ.get("LINKAGE_TEST_ENGINE") == "required":
        pytest.fail("LINKAGE_SEARCH_URL is not set but the engine layer is required")
    pytest.skip("no search engine: run `make test` or set LINKAGE_SEARCH_URL")


def delete_alias_indices(backend) -> None:
    """Remove every index a test backend created."""
    for name in backend._indices():
        backend._delete_quietly(name)


@pytest.fixture(scope="session")
def engine_backend(demo_listings):
    """The demo data in a real OpenSearch (or Elasticsearch) node, under a per-run alias."""
    from service.backends.engine.backend import EngineBackend, make_transport

    backend = EngineBackend(make_transport(ENGINE_KIND, engine_url()), alias=f"linkage-test-{os.getpid()}")
    backend.load(demo_listings)
    yield backend
    delete_alias_indices(backend)


@pytest.fixture(scope="session")
def es_client_backend(demo_listings):
    """The same node through the official elasticsearch client (no Elasticsearch node can
    be downloaded here; the client's transport speaks plain JSON that both engines accept)."""
    from service.backends.engine.backend import EngineBackend, make_transport

    backend = EngineBackend(make_transport("elasticsearch", engine_url()), alias=f"linkage-test-es-{os.getpid()}")
    backend.load(demo_listings)
    yield backend
    delete_alias_indices(backend)


@pytest.fixture(scope="session", params=[
    "sqlite",
    pytest.param("engine", marks=pytest.mark.engine),
    pytest.param("es_client", marks=pytest.mark.engine),
])
def backend(request):
    """Every backend the contract tests run against: the same tests, the same answers."""
    return request.getfixturevalue(f"{request.param}_backend")


def referral_store_for(backend, tmp_path_factory, name: str = "store"):
    """A fresh referral store in the backend's kind of storage."""
    from service.referrals.store import EngineReferralStore, SQLiteReferralStore

    if hasattr(backend, "transport"):
        store = EngineReferralStore(backend.transport, prefix=f"{backend.alias}-{name}")
        return store
    return SQLiteReferralStore(tmp_path_factory.mktemp("referrals") / "referrals.sqlite")


def key_store_beside(store):
    """The embed key store a deployment keeps beside this referral store: in its SQLite file,
    or under its engine prefix."""
    from service.embed.store import EngineKeyStore, SQLiteKeyStore

    if hasattr(store, "transport"):
        return EngineKeyStore(store.transport, prefix=store.prefix)
    return SQLiteKeyStore(store.path)


@pytest.fixture(scope="session")
def app(backend, gazetteer, tmp_path_factory):
    """The app over the demo index with a fixed clock and its own referral and key stores."""
    store = referral_store_for(backend, tmp_path_factory)
    keys = key_store_beside(store)
    yield create_app({"admin_token": "test-token", "public_url": "https://linkage.example",
                      "link_checks_path": str(tmp_path_factory.mktemp("links") / "link-checks.sqlite"),
                      # Rate-limit counts and rendered handouts live beside the referrals.
                      "referrals_path": str(tmp_path_factory.mktemp("state") / "referrals.sqlite"),
                      "feedback_rate_limit": "1000/minute", "api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer,
                     clock=lambda: FIXED_NOW, referrals=store, keys=keys)
    drop_store(store)
    drop_store(keys)


def drop_store(store) -> None:
    """Delete an engine referral or key store's indices (SQLite stores live in tmp directories)."""
    if hasattr(store, "transport"):
        names = (store.index,) if hasattr(store, "index") else (store.referrals, store.outcomes)
        for index in names:
            store.transport.request("DELETE", f"/{index}", params={"ignore_unavailable": "true"})


@pytest.fixture()
def client(app):
    """A Flask test client."""
    return app.test_client()


@contextmanager
def serving(wsgi_app):
    """A WSGI app on a free loopback port, in a thread, for the block; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
