"""Shared fixtures: the demo data indexed once into a temporary SQLite file, a fixed clock."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from indexers.load import read_sources
from service import create_app
from service.backends.sqlite import SQLiteBackend
from service.geocode import OfflineGazetteer

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo" / "listings.json"
GAZETTEER = ROOT / "data" / "gazetteer"
# A Thursday evening in Sydney (AEDT), so "soon" and "open now" have something to find.
FIXED_NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def gazetteer():
    """The offline gazetteer from data/gazetteer."""
    return OfflineGazetteer(GAZETTEER)


@pytest.fixture(scope="session")
def demo_listings():
    """Every demo listing, validated."""
    result = read_sources([DEMO])
    assert not result.rejections, result.rejections[:3]
    return result.listings


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory, demo_listings):
    """The demo data in a SQLite index."""
    backend = SQLiteBackend(tmp_path_factory.mktemp("index") / "linkage.sqlite")
    backend.load(demo_listings)
    return backend


@pytest.fixture(scope="session", params=["sqlite"])
def backend(request, sqlite_backend):
    """Every backend the contract tests run against (engines join this list)."""
    return {"sqlite": sqlite_backend}[request.param]


@pytest.fixture(scope="session")
def app(backend, gazetteer):
    """The app over the demo index with a fixed clock."""
    return create_app({"admin_token": "test-token"}, backend=backend, geocoder=gazetteer,
                      clock=lambda: FIXED_NOW)


@pytest.fixture()
def client(app):
    """A Flask test client."""
    return app.test_client()
