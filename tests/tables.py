"""Small hand-worked listing tables shared by the API tests: one listing builder with the
defaults every table row shares, and one way to serve a table from SQLite or the engine."""

from __future__ import annotations

import os
from dataclasses import replace

from service import create_app
from service.backends.sqlite.backend import SQLiteBackend
from service.domain.models import Contact, FirstVisit, Listing, Source
from tests.conftest import FIXED_NOW, delete_alias_indices, engine_url

_ROW = Listing(
    id="", kind="group", name="", description="A listing for these tests.", program=None,
    approach="secular_peer", goals=("abstinence", "moderation"), substances=("any",), formats=("online",),
    audiences=("everyone",), facilitation=None, languages=("en",), location=None, service_area=(),
    timezone="Australia/Sydney", sessions=(), open_24_7=False, contact=Contact(),
    registration_required=False, open_meeting=True, cost="free", referral="self", accessibility=(),
    first_visit=FirstVisit(), source=Source(name="Test table"), updated_at="2026-11-01",
    verified_at="2026-11-01", status="active",
)


def table_listing(**fields) -> Listing:
    """A table row as a listing: the fields given, the shared defaults for the rest."""
    return replace(_ROW, **fields)


def served_table(request, tmp_path_factory, listings, name: str):
    """The table loaded into the backend `request.param` names ("sqlite" or "engine"), as a
    generator for a module fixture: it yields the backend and removes an engine alias after."""
    if request.param == "sqlite":
        backend = SQLiteBackend(tmp_path_factory.mktemp(name) / f"{name}.sqlite")
        backend.load(listings)
        yield backend
        return
    from service.backends.engine.backend import EngineBackend, make_transport

    backend = EngineBackend(make_transport("opensearch", engine_url()), alias=f"linkage-test-{name}-{os.getpid()}")
    backend.load(listings)
    yield backend
    delete_alias_indices(backend)


def table_app(backend, gazetteer):
    """The app over a table's backend at FIXED_NOW, with no rate limit in the way."""
    return create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer,
                      clock=lambda: FIXED_NOW)
