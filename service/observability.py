"""Telling operators how the service is doing: request ids, JSON logs, Prometheus metrics.

Logs never hold a searched place more precisely than about 1 km, nor the words of a
search: coordinates in `lat`, `lon` and `near` are rounded to two decimals, a `near` that is
more than a postcode or a place name (a street address) is not written, `q` is logged only
as "given", and so is any parameter whose value is not a choice from a fixed list, a number or
a moment; parameters the service does not know are only counted (their names are free text
too). Messages and tracebacks pass through `privacy.scrub_identifying` as a second line.

That one rule (`loggable_query`, and `loggable_target` for a raw `path?query`) serves the
app's request log and gunicorn's access and error logs (`service.gunicorn_conf.PrivateLogger`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from service.privacy import scrub_identifying

log = logging.getLogger("linkage.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_COORDINATE = re.compile(r"-?\d{1,3}\.\d+")
# A `near` worth keeping in a log: coordinates, a postcode, or a place name without numbers.
_COARSE_PLACE = re.compile(r"^\s*(?:-?\d{1,3}(?:\.\d+)?\s*,\s*-?\d{1,3}(?:\.\d+)?|\d{4}|[^\d@]{1,60})\s*$")
# Query parameters that carry words a person typed (or a key): logged as "(given)".
_WORDS = ("q", "key")
# Query parameters whose values are choices from fixed lists, numbers, flags or moments:
# logged (numbers rounded like coordinates, in case one is a place).
_CHOICES = frozenset({
    "radius_km", "format", "goal", "substance", "kind", "approach", "audience", "language", "day", "time",
    "tonight", "starts_within", "open_now", "at", "tz", "sort", "page", "per_page", "limit", "for", "thanks",
    "print", "fields"})
_PLACES = ("lat", "lon", "near")
# Where a raw request target with a query string appears in free text (gunicorn's error
# lines quote request lines): up to the protocol, a quote or the end of the text.
_TARGET_IN_TEXT = re.compile(r"/[^\s'\"?]*\?.*?(?=\s+HTTP/\d|['\"]|$)", re.M)


def round_coordinates(text: str) -> str:
    """Every decimal number in the text to two places (~1 km for a latitude or longitude)."""
    if "." not in text:  # no decimal number to round (most values): skip the pattern
        return text
    return _COORDINATE.sub(lambda m: f"{float(m.group()):.2f}", text)


def loggable_query(args) -> dict:
    """The query string as logs may keep it: coordinates rounded, no search words, no street
    address, no free text; unknown parameters only counted (as "(others)": "N given")."""
    kept = {}
    others = 0
    for key, value in args.items():
        if key in _WORDS:
            value = "(given)"
        elif key == "near" and not _COARSE_PLACE.match(value):
            value = "(an address)"
        elif key in _PLACES or key in _CHOICES:
            value = round_coordinates(value)
        else:
            others += 1
            continue
        kept[key] = value[:100]
    if others:
        kept["(others)"] = f"{others} given"
    return kept


def loggable_target(target: str) -> str:
    """A raw request target (`/v1/search?lat=-33.867891&q=...`) as logs may keep it: the path
    with its numbers rounded, the query through `loggable_query`, re-encoded."""
    path, mark, query = target.partition("?")
    kept = round_coordinates(path)[:200]
    if mark:
        args = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            args.setdefault(key, value)  # the first of repeated parameters, as request.args.get
        kept += "?" + "&".join(f"{quote(k, safe='()')}={quote(v, safe='(),:')}"
                               for k, v in loggable_query(args).items())
    return kept


def loggable_text(text: str) -> str:
    """Free log text with every request target in it (anything from a `/` to its query string's
    end) passed through `loggable_target`."""
    if "?" not in text:
        return text
    return _TARGET_IN_TEXT.sub(lambda m: loggable_target(m.group()), text)


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub_identifying(record.getMessage()),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = scrub_identifying(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class Metrics:
    """The service's Prometheus series, in a registry of its own (one per app).

    Under gunicorn with deploy/gunicorn.conf.py, PROMETHEUS_MULTIPROC_DIR is set before
    prometheus_client is imported: every worker then writes its values to files there, and
    `exposition` adds up all workers' files, so any worker answers /metrics for the whole
    server (`linkage serve` uses the same settings). Without the variable (tests, `flask run`) the
    values live in this registry.
    """

    def __init__(self):
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.request_seconds = Histogram(
            "linkage_request_seconds", "Time to answer a request, by endpoint",
            ["endpoint", "method", "status"], registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.backend_seconds = Histogram(
            "linkage_backend_seconds", "Time the search backend took, by operation",
            ["operation"], registry=self.registry,
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        # Gauges are set by whichever worker answers /metrics: across workers, the value
        # set most recently is the true one (a sum or maximum would count stale workers).
        self.listings = Gauge("linkage_listings", "Listings in the index", registry=self.registry,
                              multiprocess_mode="mostrecent")
        self.index_age = Gauge("linkage_index_age_seconds", "Seconds since the index was built",
                               registry=self.registry, multiprocess_mode="mostrecent")
        self.last_import = Gauge("linkage_source_last_success_timestamp_seconds",
                                 "When each source last imported successfully", ["source"], registry=self.registry,
                                 multiprocess_mode="mostrecent")
        # Requests a cost or abuse limit refused: `limit` is render (handout renders per
        # client), referral_client (referrals stored per client) or referral_store_total.
        self.limit_refusals = Counter("linkage_limit_refusals", "Requests refused by a cost or abuse limit",
                                      ["limit"], registry=self.registry)
        # Handouts served, by format and whether they were rendered or came from the render cache.
        self.handouts = Counter("linkage_handouts_served", "Handout files and pages served, by format and source",
                                ["format", "source"], registry=self.registry)
        self.import_ok = Gauge("linkage_source_last_result_ok", "1 when a source's last import succeeded",
                               ["source"], registry=self.registry, multiprocess_mode="mostrecent")

    def exposition(self) -> bytes:
        """The series in Prometheus' text format: every worker's, or this registry's."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        # A fresh registry per scrape, as prometheus_client asks: the collector reads the
        # files of live and exited workers alike, so counts never go backwards on a recycle.
        combined = CollectorRegistry()
        MultiProcessCollector(combined)
        return generate_latest(combined)


def install(app: Flask, metrics: Metrics, import_state) -> None:
    """Request ids, JSON access logs and /metrics for an app.

    `import_state` returns the source cache's state (see service.source_state).
    """

    @app.before_request
    def start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    # The histogram's series per (endpoint, method, status), once looked up: `labels` takes
    # a lock and checks its arguments on every call.
    series = {}

    @app.after_request
    def finish(response: Response) -> Response:
        elapsed = time.perf_counter() - getattr(g, "started", time.perf_counter())
        req = request._get_current_object()  # one proxy lookup for the fields below
        request_id = getattr(g, "request_id", "")
        response.headers["X-Request-ID"] = request_id
        rule = req.url_rule
        labels = (rule.rule if rule else "unmatched", req.method, str(response.status_code))
        observe = series.get(labels)
        if observe is None:
            observe = series[labels] = metrics.request_seconds.labels(*labels).observe
        observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            fields = {
                "request_id": request_id,
                "method": req.method,
                "path": round_coordinates(req.path)[:200],
                "query": loggable_query(req.args),
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            }
            # The record made directly: `log.info` would first walk the stack for the
            # caller's file and line, which the JSON lines do not show.
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, finish.__code__.co_firstlineno,
                                      "request", (), None, "finish", {"fields": fields}))
        return response

    @app.get("/metrics")
    def metrics_endpoint():
        """Prometheus metrics (all workers' when PROMETHEUS_MULTIPROC_DIR is set)."""
        services = app.extensions["linkage"]
        try:
            info = services.backend.info()
            metrics.listings.set(info.get("listing_count", 0))
            if info.get("built_at"):
                built = datetime.fromisoformat(info["built_at"])
                metrics.index_age.set((services.clock() - built).total_seconds())
        except Exception:  # a down backend still lets the other series through
            pass
        for source, entry in (import_state() or {}).items():
            if entry.get("last_success"):
                metrics.last_import.labels(source).set(datetime.fromisoformat(entry["last_success"]).timestamp())
            metrics.import_ok.labels(source).set(1 if entry.get("last_result") == "ok" else 0)
        return Response(metrics.exposition(), mimetype=CONTENT_TYPE_LATEST)


def configure_logging(level=logging.INFO) -> None:
    """JSON lines on standard error for our loggers (once per process)."""
    logger = logging.getLogger("linkage")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
