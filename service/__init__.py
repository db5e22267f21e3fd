"""Linkage: a referral directory for addiction support groups and treatment services.

`create_app` wires settings, backend, geocoder and clock once; tests pass their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from service.backends.contract import ENGINE_TRANSPORT, WARM_UP
from service.settings import Settings

if TYPE_CHECKING:  # Flask is imported when an app is built, so data scripts can use vocab alone.
    from flask import Flask


@dataclass(frozen=True)
class Services:
    """The external services a request may use, built once per app."""

    settings: Settings
    backend: object
    geocoder: object
    clock: Callable[[], datetime]
    referrals: object
    keys: object  # the embed key store (service.embed.store)
    # Per-client allowances (renders, stored referrals) in the rate limiter's storage.
    allowances: object = None  # service.limits.Allowances
    renders: object = None  # rendered handouts (service.referrals.render_cache.RenderCache)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(timezone.utc)


def make_backend(settings: Settings):
    """The backend named by settings: embedded SQLite, or an Elasticsearch/OpenSearch cluster."""
    if settings.backend == "sqlite":
        from service.backends.sqlite.backend import SQLiteBackend

        return SQLiteBackend(settings.sqlite_path)
    if settings.backend in ("elasticsearch", "opensearch"):
        from service.backends.engine.backend import EngineBackend, make_transport

        return EngineBackend(
            make_transport(settings.backend, settings.search_url or "", settings.search_ca_certs),
            alias=settings.index,
            max_failed_ratio=settings.max_failed_ratio,
            replicas=settings.index_replicas,
        )
    raise ValueError(
        f"LINKAGE_BACKEND={settings.backend!r} is not one of sqlite, elasticsearch, opensearch"
    )


def stores_on_engine(backend) -> bool:
    """True when the app's own state (referrals, embed keys) belongs in the backend's engine;
    False for the embedded backend, whose state goes in a SQLite file beside the index."""
    return ENGINE_TRANSPORT in getattr(backend, "abilities", frozenset())


def _state_prefix(settings: Settings) -> str:
    """The engine index names' prefix for the app's state: `linkage` for `linkage-listings`."""
    return settings.index.removesuffix("-listings") or "linkage"


def make_referral_store(settings: Settings, backend):
    """Where referrals live: a SQLite file beside the index, or indices on the same engine."""
    if not stores_on_engine(backend):
        from service.referrals.store import SQLiteReferralStore

        return SQLiteReferralStore(settings.referrals_path)
    from service.referrals.store import EngineReferralStore

    return EngineReferralStore(backend.transport, prefix=_state_prefix(settings))


def make_key_store(settings: Settings, backend):
    """Where embed keys live: the referrals' SQLite file, or an index on the same engine."""
    if not stores_on_engine(backend):
        from service.embed.store import SQLiteKeyStore

        return SQLiteKeyStore(settings.referrals_path)
    from service.embed.store import EngineKeyStore

    return EngineKeyStore(backend.transport, prefix=_state_prefix(settings))


def state_beside(settings: Settings, referrals) -> Path:
    """The file this server's local state (rate-limit counts, rendered handouts) is named
    after and kept beside: the referrals' SQLite file; with referrals on an engine, a name
    after their index prefix in the referrals file's folder (two deployments on one cluster
    keep apart)."""
    if getattr(referrals, "path", None):
        return Path(referrals.path)
    base = Path(settings.referrals_path)
    prefix = getattr(referrals, "prefix", None)
    return base.with_name(f"{prefix}.sqlite") if prefix else base


def ratelimit_storage_uri(settings: Settings, referrals) -> str:
    """Where rate-limit counts live: LINKAGE_RATELIMIT_STORAGE, else a SQLite file beside the
    referrals that every worker of this server shares (service.limits)."""
    from service.limits import default_storage_path, sqlite_uri

    if settings.ratelimit_storage:
        return settings.ratelimit_storage
    return sqlite_uri(default_storage_path(state_beside(settings, referrals)))


def make_render_cache(settings: Settings, referrals):
    """Rendered handouts, in a SQLite file shared by this server's workers (on an engine
    backend too: each server renders a handout once)."""
    from service.referrals.render_cache import RenderCache, default_cache_path

    path = settings.render_cache_path or default_cache_path(state_beside(settings, referrals))
    return RenderCache(path, settings.render_cache_bytes, settings.render_cache_hours * 3600)


def make_geocoder(settings: Settings, for_import: bool = False):
    """The geocoder named by settings: the offline gazetteer (no network), or a self-hosted
    Nominatim, Pelias or Photon behind a rate limiter and a persistent cache.

    Searches always resolve `near` offline (fast, private); imports use the configured one.
    """
    if settings.geocoder == "offline" or not for_import:
        from service.search.places import OfflineGazetteer

        return OfflineGazetteer(Path(settings.gazetteer_dir))
    from service.search.http_geocoders import make_http_geocoder

    return make_http_geocoder(settings.geocoder, Path(settings.geocode_cache))


def _import_state(settings: Settings) -> dict:
    """Each source's last import (service.source_state), for /metrics; {} when unreadable."""
    from service.source_state import read_state

    try:
        return read_state(settings.sources_directory())
    except (OSError, ValueError):
        return {}


def warm_up(app) -> None:
    """Load now what each worker would otherwise load on its first request (the SQLite index's
    columns): in a preloading gunicorn master, workers then start ready, recycled ones too,
    and share those pages instead of each reading its own copy."""
    backend = app.extensions["linkage"].backend
    if WARM_UP in getattr(backend, "abilities", frozenset()):
        backend.warm()
    # WeasyPrint, the fonts of every script and the catalogues load once here rather than
    # in the first client's handout (about 0.5 s of a cold render).
    from service.render.handout import warm_pdf_renderer

    warm_pdf_renderer(app)


def create_app(config=None, *, backend=None, geocoder=None, clock=None, referrals=None, keys=None) -> "Flask":
    """Build the Flask app. `config` is a Settings, a mapping of setting names, or None (environment);
    the services not given are made from the settings."""
    from flask import Flask

    if isinstance(config, Settings):
        settings = config
    elif config is None:
        settings = Settings.from_env()
    else:
        settings = Settings.from_mapping(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    hops = settings.proxy_hops
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust exactly this many proxies' X-Forwarded-For and -Proto: the client's address
        # (for rate limits) and https (for HSTS), and nothing a client could forge beyond them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.json.ensure_ascii = False
    backend = backend if backend is not None else make_backend(settings)
    referrals = referrals if referrals is not None else make_referral_store(settings, backend)
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string

    from service.embed.keys import KeyCache, rate_limit_key
    from service.limits import Allowances, RequestLimit, client_address, install_request_limits
    from service.settings import SettingsError

    # One store of counts per app, which every worker of the server shares (see
    # service.limits): the open APIs per address (per key and address with an embed key),
    # anonymous feedback per address, more tightly; making handouts as the API.
    storage_uri = ratelimit_storage_uri(settings, referrals)
    try:
        storage = storage_from_string(storage_uri)
    except (ConfigurationError, ValueError) as exc:
        # An unknown scheme, or redis:// without the redis package: say which setting.
        raise SettingsError(f"LINKAGE_RATELIMIT_STORAGE={storage_uri!r} cannot be used: {exc}") from None
    # The open-standard APIs are public like the search API, and limited the same way (each
    # blueprint has an allowance of its own).
    install_request_limits(
        app, storage,
        by_blueprint={name: RequestLimit.of(settings.api_rate_limit, name, rate_limit_key)
                      for name in ("api", "hsds", "fhir")},
        by_endpoint={
            **{endpoint: RequestLimit.of(settings.feedback_rate_limit, endpoint, client_address)
               for endpoint in ("referrals.feedback", "referrals.feedback_form")},
            # Making handouts stores data: the API's limit applies to it too.
            "referrals.create_referral": RequestLimit.of(settings.api_rate_limit, "referrals.create_referral",
                                                         rate_limit_key),
        })
    app.extensions["linkage"] = Services(
        settings=settings,
        backend=backend,
        geocoder=geocoder if geocoder is not None else make_geocoder(settings),
        clock=clock or utc_now,
        referrals=referrals,
        keys=keys if keys is not None else make_key_store(settings, backend),
        allowances=Allowances(storage),
        renders=make_render_cache(settings, referrals),
    )
    from service.observability import Metrics, configure_logging, install

    logging.basicConfig(level=logging.INFO)
    configure_logging()
    # The engine clients log every request at INFO: noise, and a cost on every search.
    for name in ("opensearch", "elastic_transport.transport"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from service.errors import register_error_handlers, register_request_limits, register_security_headers
    from service.i18n import init_i18n
    from service.views import api, fhir, health, hsds, pages, referrals as referral_views

    from service.openapi import install_openapi

    install_openapi(app, (api.blueprint, health.blueprint, pages.blueprint, referral_views.blueprint,
                          hsds.blueprint, fhir.blueprint))
    from service.embed.cors import install_cors
    install_cors(app, KeyCache(app.extensions["linkage"].keys))
    init_i18n(app)
    app.extensions["linkage_metrics"] = metrics = Metrics()
    install(app, metrics, lambda: _import_state(settings))
    register_error_handlers(app)
    register_request_limits(app)
    register_security_headers(app)
    from service.compression import install_compression

    install_compression(app)
    # After compression: Flask runs after-request hooks last-registered first, so the ETag
    # and the response cache see the body before it is compressed.
    from service.http_cache import register as register_http_cache

    register_http_cache(app, settings.response_cache)
    return app
