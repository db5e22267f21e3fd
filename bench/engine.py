"""Engine half of the benchmark: OpenSearch search against SQLite, and the API over the raw query.

For each size, the same synthetic listings the SQLite index holds go into an OpenSearch
node with `EngineBackend.load` (alias `linkage-bench`). Then, in-process, over the same
query mix, in interleaved passes:

* engine request — the whole app, on the engine backend, through Flask's test client;
* engine search  — `EngineBackend.search(query)` + `scoring.rank_hits`;
* raw engine     — the reference: the very requests that search sent (method, path, body,
  recorded by wrapping the backend's `Transport`), replayed through a bare
  `opensearchpy.OpenSearch(url).transport.perform_request`, no Linkage code around it;
* sqlite search  — `SQLiteBackend.search` + `rank_hits` on the same listings: the
  reference for the engine's search latency.

The node is `LINKAGE_SEARCH_URL` when set, else one started with
`deploy/search-engine/start` on port ENGINE_PORT and stopped in a `finally` (`Node`, which
`bench.load` uses too, on its own port and indices). Indices this benchmark made
(`linkage-bench*`) are deleted after each part and before the node stops.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata

from bench import mix
from bench.common import (ROOT, RecordingTransport, Stats, app_config, fmt_ms, interleaved_rounds, median, request_timer, search_timer,
                          per_query_ratios, percentile)
from service import create_app
from service.search import scoring
from service.backends.engine.backend import EngineBackend, make_transport
from service.backends.sqlite.backend import SQLiteBackend
from service.search.params import parse_search

# A port of its own: not the test suite's nodes (9201 shared, 9211 faults, 9221-9223 the
# cluster tests, 9241 backup, 9250) nor bench.load's (9231), so a bench and the engine tests
# can run on one machine; `python -m bench.search --engine-port` moves it.
ENGINE_PORT = 9261
# The node's heap when the largest size is over LARGE_SIZE listings (config/jvm.options
# gives 1 GB, which a million listings' bulk load and searches run short of).
LARGE_SIZE = 100_000
LARGE_HEAP_OPTS = "-Xms2g -Xmx2g"
ALIAS = "linkage-bench"
# Every index this benchmark makes starts with PREFIX; cleanup deletes only the shapes OURS.
# (The referral indices are made only if a referral is stored, which searches never do.)
PREFIX = "linkage-bench"
OURS = re.compile(r"linkage-bench(-import)?-\d{20}|linkage-bench-rawbulk-\d+"
                  r"|linkage-bench-(referrals|referral-outcomes|embed-keys)")
START = "deploy/search-engine/start"
STOP = "deploy/search-engine/stop"
START_TIMEOUT_S = 300

TARGET_API_OVER_RAW = 1.25


# -- the node ---------------------------------------------------------------------------


class Node:
    """An OpenSearch node: LINKAGE_SEARCH_URL, or one started on `port` and stopped on leaving.

    Use as a context manager; `url` is set inside. Leaving deletes the indices named
    `prefix`... of the shapes `ours` and, if the node was started here, stops it: on a port
    of its own (the default) also when starting failed; on a port `shared` by runs of one
    kind, only when `start` did not find a node already up (another run's, used and left
    running) and succeeded.
    """

    def __init__(self, port: int = ENGINE_PORT, prefix: str = PREFIX, ours: re.Pattern = OURS,
                 shared: bool = False, java_opts: str = ""):
        self.url: str | None = None
        self.started = False
        self.env = {**os.environ, "LINKAGE_ENGINE_PORT": str(port)}
        if java_opts:
            # `start` appends LINKAGE_ENGINE_JAVA_OPTS after config/jvm.options: the JVM takes
            # the last -Xms/-Xmx it is given, so these override the file's heap.
            self.env["LINKAGE_ENGINE_JAVA_OPTS"] = " ".join(
                filter(None, [os.environ.get("LINKAGE_ENGINE_JAVA_OPTS", ""), java_opts]))
        self.java_opts = java_opts
        self.port = port
        self.prefix = prefix
        self.ours = ours
        self.shared = shared
        self.start_s = 0.0
        self.version: str | None = None

    def __enter__(self) -> "Node":
        try:
            given = os.environ.get("LINKAGE_SEARCH_URL")
            if given:
                self.url = given.rstrip("/")
            else:
                self.started = not self.shared
                began = time.perf_counter()
                run = subprocess.run([START], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                     timeout=START_TIMEOUT_S, stdin=subprocess.DEVNULL)
                if run.returncode != 0 or not run.stdout.strip():
                    raise RuntimeError(f"{START} failed ({run.returncode}):\n{run.stderr[-3000:]}")
                if self.shared:
                    self.started = "already running" not in run.stderr
                self.url = run.stdout.strip().splitlines()[-1].strip()
                self.start_s = time.perf_counter() - began
            self.version = bare_client(self.url).info()["version"]["number"]
            self.delete_ours()  # leftovers of a run that was killed
        except BaseException:
            # A with-block's __exit__ does not run when __enter__ raises: clean up here.
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.url:
                self.delete_ours()
        except Exception:  # noqa: BLE001 - a node that will not answer is still stopped
            pass
        finally:
            if self.started:
                self._stop()

    def delete_ours(self) -> list[str]:
        """Delete the caller's indices on this node; their names."""
        return delete_ours(self.url, self.prefix, self.ours)

    def _stop(self) -> None:
        subprocess.run([STOP], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)


def bare_client(url: str, timeout: float = 60.0):
    """The plain opensearch-py client: the reference side of every engine comparison."""
    from opensearchpy import OpenSearch

    return OpenSearch(url, timeout=timeout)


def delete_ours(url: str, prefix: str = PREFIX, ours: re.Pattern = OURS) -> list[str]:
    """Delete the indices named `prefix`... of the shapes `ours` (and so their aliases) on
    the node, by default this benchmark's; their names."""
    client = bare_client(url)
    found = client.transport.perform_request("GET", f"/_cat/indices/{prefix}*",
                                             params={"format": "json", "h": "index"})
    names = sorted(row["index"] for row in found if ours.fullmatch(row["index"]))
    for name in names:
        client.transport.perform_request("DELETE", f"/{name}")
    return names


def opensearch_py_version() -> str | None:
    """The installed opensearch-py, for the machine line."""
    try:
        return metadata.version("opensearch-py")
    except metadata.PackageNotFoundError:
        return None


# -- one size ---------------------------------------------------------------------------


@dataclass
class EngineLayers:
    """Engine results for one size."""

    load_s: float
    docs: int
    request: Stats
    search: Stats
    raw: Stats
    sqlite: Stats
    rounds: int
    ratio_search_raw: list[float]      # per mix position: search / raw replay (medians)
    ratio_request_raw: list[float]     # per mix position: whole request / raw replay
    ratio_engine_sqlite: list[float]   # per mix position: engine search / SQLite search
    requests_per_search: dict          # class -> median requests one search sends
    agree: dict                        # distinct URLs by how the engine's answer compares with SQLite's
    disagree: list = field(default_factory=list)  # (URL, how) where the answers differ
    by_class: dict = field(default_factory=dict)
    store_mb: float | None = None      # the index's size on the node right after the load


def measure(url: str, listings: list, sqlite_path, urls: list[str], geocoder, budget_s: float) -> EngineLayers:
    """Load `listings` into the node, time the four layers over the mix, delete the index."""
    at = mix.at_datetime()
    try:
        started = time.perf_counter()
        report = EngineBackend(make_transport("opensearch", url), alias=ALIAS).load(listings)
        load_s = time.perf_counter() - started
        if report.loaded != len(listings):
            raise RuntimeError(f"engine loaded {report.loaded} of {len(listings)} listings: {report.failures[:3]}")
        layers = _time_layers(url, sqlite_path, urls, geocoder, budget_s, at, load_s, report.loaded)
        layers.store_mb = store_mb(url, report.target)
        return layers
    finally:
        delete_ours(url)


def store_mb(url: str, index: str) -> float:
    """The index's primary store size on the node, in MB (as `_cat/indices` counts it)."""
    found = bare_client(url).transport.perform_request(
        "GET", f"/_cat/indices/{index}", params={"format": "json", "h": "pri.store.size", "bytes": "b"})
    return int(found[0]["pri.store.size"]) / 1e6


def compare(mine, theirs) -> str:
    """How an engine answer compares with SQLite's: "same" (total, facets, the page in
    order), "page" (same total and facets, another page or order) or "counts" (the total
    or a facet differs)."""
    if mine.total != theirs.total or mine.facets != theirs.facets:
        return "counts"
    same_page = [h.listing.id for h in mine.hits] == [h.listing.id for h in theirs.hits]
    return "same" if same_page else "page"


def quiet_client_logs() -> None:
    """Keep opensearch-py's line per request out of the timings (and the terminal).

    `create_app` configures logging at INFO, which makes the client log every request it
    sends (and every 404 the importer expects, at WARNING); both sides of every comparison
    would pay for writing those lines to stderr.
    """
    logging.getLogger("opensearch").setLevel(logging.ERROR)


def _time_layers(url, sqlite_path, urls, geocoder, budget_s, at, load_s, docs) -> EngineLayers:
    distinct = list(dict.fromkeys(urls))
    queries = {u: parse_search(mix.url_args(u), geocoder, at) for u in distinct}
    # Each layer has its own backend and client, as separate processes would.
    search_backend = EngineBackend(make_transport("opensearch", url), alias=ALIAS)
    app_backend = EngineBackend(make_transport("opensearch", url), alias=ALIAS)
    recorder = RecordingTransport(make_transport("opensearch", url))
    recording_backend = EngineBackend(recorder, alias=ALIAS)
    sqlite = SQLiteBackend(sqlite_path)
    app = create_app(app_config(backend="opensearch", search_url=url, index=ALIAS),
                     backend=app_backend, geocoder=geocoder, clock=lambda: at)
    quiet_client_logs()  # after create_app, which sets logging up
    client = app.test_client()
    raw = bare_client(url)

    # One untimed search per URL and layer: connections open, the zone list and SQLite's
    # columns loaded, as the timed passes will find them. Record in that steady state.
    agree, disagree = collections.Counter(), []
    for u in distinct:
        response = client.get(u)
        if response.status_code != 200:
            raise RuntimeError(f"engine app answered {response.status_code} for {u}: {response.data[:200]!r}")
        how = compare(search_backend.search(queries[u]), sqlite.search(queries[u]))
        agree[how] += 1
        if how != "same":
            disagree.append((u, how))
        recording_backend.search(queries[u])
    recorder.take()
    recorded = {}
    for u in distinct:
        recording_backend.search(queries[u])
        recorded[u] = recorder.take()

    request_one = request_timer(client)
    search_one = search_timer(search_backend, queries)

    def raw_one(u):
        started = time.perf_counter()
        for method, path, body, params in recorded[u]:
            raw.transport.perform_request(method, path, body=body, params=params)
        return time.perf_counter() - started

    def sqlite_one(u):
        query = queries[u]
        started = time.perf_counter()
        scoring.rank_hits(sqlite.search(query).hits, query)
        return time.perf_counter() - started

    samples, rounds = interleaved_rounds(urls, {"request": request_one, "search": search_one,
                                                "raw": raw_one, "sqlite": sqlite_one}, budget_s)

    def flat(name, positions=None):
        keep = range(len(urls)) if positions is None else positions
        return Stats.of([ms for i in keep for ms in samples[name][i]])

    by_class = {}
    labels = [mix.url_class(u) for u in urls]
    for label in sorted(set(labels), key=lambda name: -labels.count(name)):
        positions = [i for i, x in enumerate(labels) if x == label]
        by_class[label] = {
            "n_urls": len(positions),
            "requests": median([len(recorded[urls[i]]) for i in positions]),
            **{name: flat(name, positions) for name in ("request", "search", "raw", "sqlite")},
        }
    return EngineLayers(
        load_s=load_s, docs=docs,
        request=flat("request"), search=flat("search"), raw=flat("raw"), sqlite=flat("sqlite"),
        rounds=rounds,
        ratio_search_raw=per_query_ratios(samples, "search", "raw"),
        ratio_request_raw=per_query_ratios(samples, "request", "raw"),
        ratio_engine_sqlite=per_query_ratios(samples, "search", "sqlite"),
        requests_per_search={label: entry["requests"] for label, entry in by_class.items()},
        agree=dict(agree), disagree=disagree, by_class=by_class,
    )


# -- report -----------------------------------------------------------------------------


def _ratios(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{percentile(ordered, 50):.2f}× p50, {percentile(ordered, 95):.2f}× p95"


def size_table(size: int, layers: EngineLayers) -> str:
    """The engine rows of one size, each beside its reference."""
    return "\n".join([
        "| Measure | Linkage on OpenSearch | Reference (same run) | Ratio |",
        "|---|---|---|---|",
        f"| Search in-process, p50 / p95 / p99 (`EngineBackend.search` + `rank_hits`) | "
        f"{layers.search.text()} | SQLite, `SQLiteBackend.search` + `rank_hits`, same passes: "
        f"{layers.sqlite.text()} | {layers.search.p50 / layers.sqlite.p50:.2f}× (p50); per query: "
        f"{_ratios(layers.ratio_engine_sqlite)} |",
        f"| API time over the raw engine query (`backend.search` + `rank_hits` vs its own "
        f"requests replayed through a bare opensearch-py client) | {layers.search.text()} | "
        f"raw replay: {layers.raw.text()} | per query: **{_ratios(layers.ratio_search_raw)}** |",
        f"| Whole request in-process over the raw engine query (test client: parse, search, "
        f"rank, render) | {layers.request.text()} | raw replay (row above) | per query: "
        f"{_ratios(layers.ratio_request_raw)} |",
        f"| Bulk load, `EngineBackend.load` (setup, for information) | {layers.load_s:.1f} s "
        f"({layers.docs / layers.load_s:,.0f} listings/s) | see the import section's raw `_bulk` | |",
    ])


def class_table(layers: EngineLayers) -> str:
    """Per query class: requests a search sends and the p50 of each layer."""
    rows = ["| Query class | URLs in mix | Requests per search | Request p50 | Search p50 | "
            "Raw replay p50 | SQLite search p50 |",
            "|---|---|---|---|---|---|---|"]
    for label, entry in layers.by_class.items():
        rows.append(
            f"| {label} | {entry['n_urls']} | {entry['requests']:g} | {fmt_ms(entry['request'].p50)} ms | "
            f"{fmt_ms(entry['search'].p50)} ms | {fmt_ms(entry['raw'].p50)} ms | "
            f"{fmt_ms(entry['sqlite'].p50)} ms |")
    return "\n".join(rows)


def verdicts(results: dict) -> list[str]:
    """The API-over-raw target at each size measured."""
    lines = []
    for size in sorted(results):
        ratio = percentile(sorted(results[size].ratio_search_raw), 50)
        lines.append(
            f"- Engine API time ≤ {TARGET_API_OVER_RAW:g}× the raw engine query at {size:,} "
            f"(per-query p50): {ratio:.2f}× — **{'met' if ratio <= TARGET_API_OVER_RAW else 'not met'}**.")
    return lines

