"""Linkage: a referral directory for addiction support groups and treatment services.

`create_app` wires settings, backend, geocoder and clock once; tests pass their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .settings import Settings

if TYPE_CHECKING:  # Flask is imported when an app is built, so data scripts can use vocab alone.
    from flask import Flask


@dataclass(frozen=True)
class Services:
    """The external services a request may use, built once per app."""

    settings: Settings
    backend: object
    geocoder: object
    clock: Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(timezone.utc)


def make_backend(settings: Settings):
    """The backend named by settings: embedded SQLite, or an Elasticsearch/OpenSearch cluster."""
    if settings.backend == "sqlite":
        from .backends.sqlite import SQLiteBackend

        return SQLiteBackend(settings.sqlite_path)
    if settings.backend in ("elasticsearch", "opensearch"):
        from .backends.engine import EngineBackend, make_transport

        return EngineBackend(
            make_transport(settings.backend, settings.search_url or "", settings.search_ca_certs),
            alias=settings.index,
            max_failed_ratio=float(settings.max_failed_ratio),
            replicas=int(settings.index_replicas),
        )
    raise ValueError(
        f"LINKAGE_BACKEND={settings.backend!r} is not one of sqlite, elasticsearch, opensearch"
    )


def make_geocoder(settings: Settings, for_import: bool = False):
    """The geocoder named by settings: the offline gazetteer (no network), or a self-hosted
    Nominatim, Pelias or Photon behind a rate limiter and a persistent cache.

    Searches always resolve `near` offline (fast, private); imports use the configured one.
    """
    from .geocode import OfflineGazetteer

    offline = OfflineGazetteer(Path(settings.gazetteer_dir))
    if settings.geocoder == "offline" or not for_import:
        return offline
    from .geocoders import make_http_geocoder

    return make_http_geocoder(settings.geocoder, Path(settings.geocode_cache))


def create_app(config=None, *, backend=None, geocoder=None, clock=None) -> "Flask":
    """Build the Flask app. `config` is a Settings, a mapping of setting names, or None (environment)."""
    from flask import Flask

    if isinstance(config, Settings):
        settings = config
    elif config is None:
        settings = Settings.from_env()
    else:
        settings = Settings.from_mapping(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.json.ensure_ascii = False
    app.extensions["linkage"] = Services(
        settings=settings,
        backend=backend if backend is not None else make_backend(settings),
        geocoder=geocoder if geocoder is not None else make_geocoder(settings),
        clock=clock or utc_now,
    )
    logging.basicConfig(level=logging.INFO)

    from .errors import register_error_handlers
    from .views import api, health, pages

    app.register_blueprint(api.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(pages.blueprint)
    register_error_handlers(app)
    return app
