"""The benchmark driver: `python -m bench.search` (or `make bench`) writes bench/RESULTS.md.

Three parts, all in one run unless `--only` picks some (search, engine, import). For each
size (10k, 100k and 1M synthetic listings by default, see `bench.synth`; `--sizes` picks
others; RESULTS.md's growth table sets the sizes side by side, a measure a row):

search (SQLite):
1. Load.  Build the SQLite index with `SQLiteBackend.load`; reference: a raw SQLite copy
   of the very same rows into the same schema (the floor for writing that file).
2. Server-side time, in-process, over the query mix (`bench.mix`):
   * request — the whole app through Flask's test client (parse, search, rank, render);
   * search  — `backend.search(query)` + `scoring.rank_hits` on a pre-parsed query;
   * sqlite  — the reference: the exact SQL statements that search ran, replayed on a
     connection like its own and fetching the same rows, with no Python around them:
     SQLite's share of a search.
3. Throughput over HTTP on 127.0.0.1: gunicorn (2 sync workers) serving the real app,
   driven by wrk cycling through the mix; reference: the bare app (`bench.bare`) serving
   the same bytes, same gunicorn options, same wrk command, right after.

engine (OpenSearch, `bench.engine`): the same listings in an OpenSearch node; engine
search latency beside SQLite's, and the API's time beside the raw replay of the very
requests it sent.

Then once, import (`bench.imports`): a 100,000-meeting Meeting Guide feed through
`import_sources` into SQLite and into the engine, beside the raw SQLite copy and a raw
`_bulk` of the same documents, with a cProfile of where the time goes.

Every figure is printed beside its reference, as a ratio, with the machine it ran on.
A full run rewrites its own sections of bench/RESULTS.md (OWN_SECTIONS); the others
("Load test (make bench-load)", "Bytes on the wire (make bench-wire)", "Beside the base
commit (make bench-sides)", ...) are other tools' and stay as they were.
Load is bounded: fixed wrk durations, a fixed number of in-process rounds under a time
budget; every server, and the OpenSearch node when the benchmark started it, is stopped
in a `finally`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from bench import engine, imports, mix, synth
from bench.common import (DEAD_LINK_EVERY, OUT, RESULTS, ROOT, Stats, app_config, app_environment,
                          fmt_ms, interleaved_rounds, percentile, raw_bulk_copy, replace_section, request_timer, search_timer,
                          section_of, wrk_summary)
from service import create_app
from service.search import scoring
from service.backends.sqlite.backend import SQLiteBackend
from service.search.places import OfflineGazetteer
from service.search.params import parse_search

GAZETTEER = ROOT / "data" / "gazetteer"
# Paths handed to child processes are relative to ROOT (their working directory), so
# no machine path ends up in a command line we print or a file we write.
LUA_SCRIPT = "bench/mix.lua"
MIX_FILE = "bench/out/mix-urls.txt"

SIZES = (10_000, 100_000, 1_000_000)
# Validating every record through marshmallow costs more than the load itself at 100k;
# larger sets check a sample (see synth.listings).
VALIDATE_EVERY = {10_000: 1, 100_000: 10, 1_000_000: 100}
# Listings up to this many are generated once and kept for the SQLite and engine parts;
# larger sets are generated again (the same, from the same seed) for each part, so the
# SQLite part's copy is not held through the engine's. Either way each part gets a list
# made before its load starts: the load times loading, not generating.
KEEP_LISTINGS_UP_TO = 100_000

WORKERS = 2
# As `linkage serve` (service.server) runs it, less the access log (see Server); the app
# is `bench.common.served_app()`, warmed in the master as serve's pre_fork hook does.
GUNICORN_OPTIONS = ("--workers", str(WORKERS), "--worker-class", "sync", "--threads", "1",
                    "--preload", "--timeout", "30", "--no-control-socket")
WRK_THREADS = 1
WRK_CONNECTIONS = 8
WRK_DURATION_S = 10
# Long enough for each worker's first requests (which load the index's columns) to pass.
WRK_WARMUP_S = 3
# wrk's default 2 s timeout would count slow answers queued behind 2 workers as errors.
WRK_TIMEOUT_S = 10

# In-process timing: whole passes over the mix, at least one, more while the budget lasts.
LAYER_BUDGET_S = 4.0
# Engine searches at 100k take ten times SQLite's (soonest ones over 100 ms), so the engine
# layers get more time for a few passes; their per-query ratios need several samples each.
ENGINE_BUDGET_S = 6.0

PARTS = ("search", "engine", "import")
# The code a run measures: a change in these during the run is reported.
CODE_PACKAGES = ("service", "indexers")

TARGET_P50_MS = 5.0
TARGET_RATIO = 0.60


# -- machine ----------------------------------------------------------------------------


def machine_info() -> dict:
    """CPU model, core count, Python, SQLite and tool versions of this machine."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    wrk = shutil.which("wrk")
    wrk_version = None
    if wrk:
        run = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
        wrk_version = (run.stdout or run.stderr).splitlines()[0].split(" Copyright")[0].strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory": memory,
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "flask": _version("flask"),
        "gunicorn": _version("gunicorn"),
        "wrk": wrk_version,
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def code_files() -> dict[str, str]:
    """A hash of each service and indexer module this benchmark runs, by repo-relative path.

    An edit mid-run would mix versions. Every module the benchmark can reach is imported
    first (all the app imports, the engine backend, the importer and its Meeting Guide
    reader), so the set hashed at the start covers whatever parts run.
    """
    _import_everything()
    files = sorted(
        Path(module.__file__) for name, module in list(sys.modules.items())
        if name.split(".")[0] in CODE_PACKAGES and getattr(module, "__file__", None)
    )
    return {
        str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name:
        hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "<gone>"
        for path in files
    }


@functools.lru_cache(maxsize=1)
def _import_everything() -> None:
    import indexers.imports, indexers.sources.meeting_guide  # noqa: E401,F401
    import service.backends.engine.backend  # noqa: F401

    # Building an app imports whatever create_app wires in (views, renderers, ...); the
    # backend is only constructed, and the geocoder is never asked anything.
    create_app(app_config(sqlite_path=str(OUT / "unused.sqlite")), geocoder=object())


def code_fingerprint(files: dict[str, str]) -> str:
    """One short hash for a set of module hashes."""
    digest = hashlib.sha256()
    for name, value in sorted(files.items()):
        digest.update(f"{name}={value};".encode())
    return digest.hexdigest()[:12]


def code_changes(before: dict[str, str]) -> list[str]:
    """The modules of `before` whose contents differ now (or that are gone)."""
    now = code_files()
    return sorted(name for name in before if now.get(name) != before[name])


def git_state() -> str:
    """The commit measured, and whether service/ or indexers/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--", *CODE_PACKAGES], cwd=ROOT,
                                capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if not head:
        return "unknown"
    # Porcelain lines are "XY path": two status letters, a space, then the path.
    changed = sorted({line[3:].split("/", 1)[0] + "/" for line in status.splitlines() if len(line) > 3})
    return head + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")


# -- step 1: load -----------------------------------------------------------------------


def listing_stream(size: int, towns: list[synth.Town], info: dict):
    """`size` synthetic listings, one at a time; `info` says how they were made once the
    stream is used up (the time counts generation only, not what the consumer does)."""
    every = VALIDATE_EVERY.get(size, 100)
    generating, active, national_remote = 0.0, 0, 0
    stream = synth.iter_listings(size, towns, validate_every=every)
    while True:
        started = time.perf_counter()
        item = next(stream, None)
        generating += time.perf_counter() - started
        if item is None:
            break
        active += item.status == "active"
        national_remote += item.service_area == ("AU",)
        yield item
    info.update({"size": size, "generate_s": generating, "validated": (size + every - 1) // every,
                 "active": active, "national_remote": national_remote})


def parse_sizes(text: str) -> list[int]:
    """"10k,100k,1m" (or plain counts) -> [10000, 100000, 1000000]."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if part:
            scale = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
            sizes.append(int(float(part.rstrip("km")) * scale))
    return sizes


def size_label(size: int) -> str:
    """10000 -> 10k, 1000000 -> 1m (as --sizes takes them)."""
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def index_path(size: int) -> Path:
    """bench/out/bench-<size>k.sqlite"""
    return OUT / f"bench-{size // 1000}k.sqlite"


def build_index(size: int, listings: list) -> dict:
    """Load the listings into bench/out/bench-<size>k.sqlite, then the raw copy; time both."""
    path = index_path(size)
    started = time.perf_counter()
    report = SQLiteBackend(path).load(listings)
    load_s = time.perf_counter() - started
    assert report.loaded == size
    raw_s = raw_bulk_copy(path, OUT / f"bench-{size // 1000}k-rawcopy.sqlite")
    return {"path": path, "size": size, "load_s": load_s, "raw_s": raw_s,
            "file_mb": path.stat().st_size / 1e6}


# -- step 2: in-process timings ---------------------------------------------------------


class _CountingCursor:
    """A cursor that counts the rows the backend fetched, so a replay fetches as many."""

    def __init__(self, cursor, record: list):
        self._cursor = cursor
        self._record = record

    def fetchone(self):
        row = self._cursor.fetchone()
        self._record[2] += row is not None
        return row

    def fetchmany(self, size=None):
        rows = self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()
        self._record[2] += len(rows)
        return rows

    def fetchall(self):
        rows = self._cursor.fetchall()
        self._record[2] += len(rows)
        return rows

    def __iter__(self):
        for row in self._cursor:
            self._record[2] += 1
            yield row


def record_statements(backend: SQLiteBackend, query) -> list[list]:
    """The [sql, params, rows fetched] of every statement `backend.search(query)` runs.

    Wraps this backend instance's `_execute` (the one place it talks to SQLite) instead
    of tracing, so parameters and fetch counts come out exactly as the search used them.
    """
    from bench.common import forget_places

    calls: list[list] = []
    original = SQLiteBackend._execute.__get__(backend)
    # Near a place it remembers, a search runs no statement at all: record one that finds
    # the place's rows anew (the R*Tree's box), the statements searches ran before places
    # were remembered.
    forget_places(backend)

    def execute(sql, params=()):
        record = [sql, params, 0]
        calls.append(record)
        return _CountingCursor(original(sql, params), record)

    backend._execute = execute
    try:
        backend.search(query)
    finally:
        del backend._execute
    return calls


def replay(conn: sqlite3.Connection, calls: list[list]) -> float:
    """Seconds to run the recorded statements again and fetch the same number of rows."""
    started = time.perf_counter()
    for sql, params, fetched in calls:
        cursor = conn.execute(sql, params)
        if fetched:
            cursor.fetchmany(fetched)
        else:
            cursor.fetchone()
    return time.perf_counter() - started


@dataclass
class Layers:
    """In-process results for one size."""

    request: Stats
    search: Stats
    sqlite: Stats
    first: Stats  # the first request of each distinct URL, caches cold
    rounds: int
    by_class: dict
    bodies: dict = field(repr=False)
    totals: dict = field(repr=False)


def response_cache_installed(path: Path) -> bool:
    """Whether create_app installs service.http_cache's response cache (the served app's
    default): then HTTP throughput is measured with and without it."""
    app = create_app(app_config(sqlite_path=str(path)))
    return "linkage_response_cache" in app.extensions


def time_in_process(path: Path, urls: list[str], geocoder, budget_s: float) -> Layers:
    """Request, search and SQLite timings over the mix (see the module docstring)."""
    at = mix.at_datetime()
    # The mix repeats URLs: an in-process response cache (service.http_cache) would answer
    # most of the timed requests without searching. The layers time the work itself.
    app = create_app(app_config(sqlite_path=str(path), response_cache=0), geocoder=geocoder,
                     clock=lambda: at)
    client = app.test_client()
    backend = SQLiteBackend(path)
    recorder = SQLiteBackend(path)
    distinct = list(dict.fromkeys(urls))
    queries = {url: parse_search(mix.url_args(url), geocoder, at) for url in distinct}

    bodies, totals, first = {}, {}, []
    for url in distinct:  # check every answer once (this also warms the OS file cache)
        started = time.perf_counter()
        response = client.get(url)
        first.append((time.perf_counter() - started) * 1000.0)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.data[:200]!r}")
        bodies[url] = (response.status_code, response.content_type, response.data)
        totals[url] = json.loads(response.data)["total"]
    # Record in steady state: a first search on the recorder fills whatever the backend
    # caches per connection (its columns, FTS results), as the timed passes will find them.
    for url in distinct:
        recorder.search(queries[url])
    statements = {url: record_statements(recorder, queries[url]) for url in distinct}
    # The replay runs on the recorder's own connection: same file, same registered
    # functions (py_distance_weight, py_text_weight), same cache as a search would have.
    conn = recorder._connection()
    # One search opens the search layer's connection, so no pass pays for that.
    scoring.rank_hits(backend.search(queries[distinct[0]]).hits, queries[distinct[0]])

    request_one = request_timer(client)
    search_one = search_timer(backend, queries)

    def sqlite_one(url):
        return replay(conn, statements[url])

    layers, rounds = interleaved_rounds(urls, {"request": request_one, "search": search_one,
                                    "sqlite": sqlite_one}, budget_s)

    by_class: dict[str, dict] = {}
    for i, url in enumerate(urls):
        entry = by_class.setdefault(mix.url_class(url), {
            "n_urls": 0, "matches": [], "request": [], "search": [], "sqlite": []})
        entry["n_urls"] += 1
        entry["matches"].append(totals[url])
        for name in ("request", "search", "sqlite"):
            entry[name].extend(layers[name][i])
    classes = {
        label: {
            "n_urls": entry["n_urls"],
            "matches_median": sorted(entry["matches"])[len(entry["matches"]) // 2],
            **{name: Stats.of(entry[name]) for name in ("request", "search", "sqlite")},
        }
        for label, entry in sorted(by_class.items(), key=lambda kv: -kv[1]["n_urls"])
    }

    def flat(name):
        return Stats.of([ms for values in layers[name].values() for ms in values])

    return Layers(flat("request"), flat("search"), flat("sqlite"), Stats.of(first), rounds, classes,
                  bodies, totals)


def profile_class(path: Path, urls: list[str], geocoder, label: str, repeat: int = 3) -> str:
    """cProfile of backend.search + rank_hits over the mix URLs of one class; top functions."""
    at = mix.at_datetime()
    backend = SQLiteBackend(path)
    chosen = [u for u in dict.fromkeys(urls) if mix.url_class(u) == label]
    queries = [parse_search(mix.url_args(u), geocoder, at) for u in chosen]
    for query in queries:
        backend.search(query)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        for query in queries:
            scoring.rank_hits(backend.search(query).hits, query)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(15)
    # Machine paths in the profile stay on the terminal; RESULTS.md never gets them.
    return stream.getvalue()


# -- step 3: throughput over HTTP -------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving one app on 127.0.0.1, in its own process group, always stopped.

    Both apps get exactly the same options (GUNICORN_OPTIONS); neither logs requests,
    so the comparison is between the apps, not the logging. A subclass may run another
    `command` and keep its output elsewhere (`spawn`, `log_tail`); starting, waiting for
    /healthz and stopping are the same for every server.
    """

    # The master reads a million listings' columns before it listens (bench.common.served_app).
    READY_TIMEOUT_S = 300.0

    def __init__(self, app_spec: str, env: dict[str, str]):
        self.app_spec = app_spec
        self.env = {**os.environ, **env}
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        try:
            self.start()
        except BaseException:
            # A with-block's __exit__ does not run when __enter__ raises: stop it here.
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def command(self) -> list[str]:
        """The gunicorn command line (the port is this server's free one)."""
        return [sys.executable, "-m", "gunicorn", *GUNICORN_OPTIONS,
                "--bind", f"127.0.0.1:{self.port}", self.app_spec]

    def popen(self, command: list[str], **output) -> subprocess.Popen:
        """`command` started in ROOT with this server's environment; `output` says where
        its stdout and stderr go."""
        # A new session makes the master and its workers one process group we own,
        # so stop() can end exactly them.
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                start_new_session=True, **output)

    def spawn(self, command: list[str]) -> subprocess.Popen:
        """Start `command`, its stderr's last lines kept for `log_tail`."""
        proc = self.popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._drain, args=(proc,), daemon=True).start()
        return proc

    def start(self) -> None:
        """Start gunicorn and wait until /healthz answers (or fail with the tail of its output)."""
        self.proc = self.spawn(self.command())
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn for {self.app_spec} exited ({self.proc.returncode}):\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn for {self.app_spec} not ready in {self.READY_TIMEOUT_S:.0f} s:\n"
                           + self.log_tail())

    def log_tail(self) -> str:
        """The last lines gunicorn and the app wrote to stderr."""
        return "".join(self.stderr_tail)

    def _drain(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self.stderr_tail.append(line)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def fetch(self, url: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of one GET."""
        try:
            with urllib.request.urlopen(self.base + url, timeout=60) as response:
                return response.status, response.headers.get("Content-Type"), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type"), exc.read()


def run_wrk(port: int, duration_s: int) -> dict:
    """One wrk run over the mix file; the JSON line mix.lua's done() prints, plus rates."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s}s",
               "--timeout", f"{WRK_TIMEOUT_S}s", "--latency", "-s", LUA_SCRIPT,
               f"http://127.0.0.1:{port}", "--", MIX_FILE]
    result = wrk_summary(command, "BENCH_JSON", duration_s + WRK_TIMEOUT_S + 30)
    result["socket_errors"] = sum(result[k] for k in ("errors_connect", "errors_read",
                                                       "errors_write", "errors_timeout"))
    return result


def wrk_command_text(duration_s: int) -> str:
    """The wrk command as run (port left symbolic), for RESULTS.md."""
    return (f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{duration_s}s --timeout {WRK_TIMEOUT_S}s "
            f"--latency -s {LUA_SCRIPT} http://127.0.0.1:PORT -- {MIX_FILE}")


def throughput(index_path: Path, urls: list[str], bodies: dict, size: int, duration_s: int) -> dict:
    """Real app then bare app under the same gunicorn options and wrk run; both results.

    With a response cache in the app (service.http_cache), the app runs twice: as served
    (cache on: the mix repeats its URLs, so most requests are cache hits) and with
    LINKAGE_RESPONSE_CACHE=0 (every request searched), so neither figure stands alone."""
    distinct = list(dict.fromkeys(urls))
    responses_file = OUT / f"responses-{size_label(size)}.json"
    result: dict = {}
    if response_cache_installed(index_path):
        with Server("bench.common:served_app()", {**app_environment(index_path), "LINKAGE_RESPONSE_CACHE": "0"}) as uncached:
            differ = []
            for url in distinct:
                status, _content_type, body = uncached.fetch(url)
                if body != bodies[url][2]:
                    differ.append(f"{url} ({status}, {len(body):,} bytes against {len(bodies[url][2]):,})")
            result["uncached_match_in_process"] = (len(distinct) - len(differ), len(distinct))
            result["uncached_differ"] = differ
            run_wrk(uncached.port, WRK_WARMUP_S)
            result["app_uncached"] = run_wrk(uncached.port, duration_s)
    with Server("bench.common:served_app()", app_environment(index_path)) as app_server:
        saved, same_as_in_process = {}, 0
        for url in distinct:
            status, content_type, body = app_server.fetch(url)
            if status != 200:
                raise RuntimeError(f"app answered {status} for {url}: {body[:200]!r}")
            saved[url] = {"status": status, "content_type": content_type, "body": body.decode("utf-8")}
            same_as_in_process += body == bodies[url][2]
        responses_file.write_text(json.dumps({"responses": saved}, ensure_ascii=False), encoding="utf-8")
        result["bytes_match_in_process"] = (same_as_in_process, len(distinct))
        run_wrk(app_server.port, WRK_WARMUP_S)
        result["app"] = run_wrk(app_server.port, duration_s)
    env = {"BENCH_BARE_RESPONSES": str(responses_file)}
    with Server("bench.bare:create_bare_app()", env) as bare_server:
        identical = 0
        for url in distinct:
            status, content_type, body = bare_server.fetch(url)
            identical += (status, content_type, body.decode("utf-8")) == (
                saved[url]["status"], saved[url]["content_type"], saved[url]["body"])
        result["bare_identical"] = (identical, len(distinct))
        run_wrk(bare_server.port, WRK_WARMUP_S)
        result["bare"] = run_wrk(bare_server.port, duration_s)
    result["ratio"] = result["app"]["rate"] / result["bare"]["rate"]
    if "app_uncached" in result:
        result["ratio_uncached"] = result["app_uncached"]["rate"] / result["bare"]["rate"]
    return result


# -- report -----------------------------------------------------------------------------


def _us(value: float) -> str:
    return fmt_ms(value / 1000.0) + " ms"


def size_table(size: int, load: dict, layers: Layers, http: dict | None) -> str:
    """The markdown table of one size: each figure beside its same-run reference."""
    rows = [
        "| Measure | Linkage | Reference (same run) | Ratio |",
        "|---|---|---|---|",
        f"| Bulk load, `SQLiteBackend.load` | {load['load_s']:.2f} s "
        f"({size / load['load_s']:,.0f} listings/s) | raw SQLite copy of the same rows: "
        f"{load['raw_s']:.2f} s ({size / load['raw_s']:,.0f} rows/s) | "
        f"{load['load_s'] / load['raw_s']:.1f}× the raw time |",
        f"| Search in-process, p50 / p95 / p99 (`backend.search` + `rank_hits`) | "
        f"{layers.search.text()} | its SQLite statements alone, replayed: {layers.sqlite.text()} | "
        f"{layers.search.p50 / layers.sqlite.p50:.2f}× (p50) |",
        f"| Whole request in-process, p50 / p95 / p99 (test client: parse, search, rank, render) | "
        f"{layers.request.text()} | search alone (row above): {fmt_ms(layers.search.p50)} ms p50 | "
        f"{layers.request.p50 / layers.search.p50:.2f}× (p50) |",
        f"| First request of each distinct URL, in-process, p50 / p95 / p99 (caches cold; the "
        f"very first loads the index's columns) | {layers.first.text()} | warm, row above: "
        f"{fmt_ms(layers.request.p50)} ms p50 | {layers.first.p50 / layers.request.p50:.2f}× (p50) |",
    ]
    if http:
        app, bare = http["app"], http["bare"]
        rows += [
            f"| Throughput over HTTP (wrk, {WORKERS} gunicorn sync workers) | {app['rate']:,.1f} req/s | "
            f"bare endpoint, same bytes: {bare['rate']:,.0f} req/s | **{http['ratio']:.1%}** of bare |",
            f"| wrk latency p50 / p99 | {_us(app['p50_us'])} / {_us(app['p99_us'])} | "
            f"{_us(bare['p50_us'])} / {_us(bare['p99_us'])} | "
            f"{app['p50_us'] / bare['p50_us']:.0f}× (p50) |",
            f"| Requests in {app['duration_us'] / 1e6:.0f} s; Non-2xx; socket errors | "
            f"{app['requests']:,}; {app['errors_status']}; {app['socket_errors']} | "
            f"{bare['requests']:,}; {bare['errors_status']}; {bare['socket_errors']} | |",
        ]
        if "app_uncached" in http:
            uncached = http["app_uncached"]
            rows[-3] = rows[-3].replace("| Throughput over HTTP (", "| Throughput over HTTP, response cache on (the "
                                        "mix repeats URLs: mostly hits; ", 1)
            rows.insert(len(rows) - 2,
                        f"| Throughput over HTTP, response cache off (`LINKAGE_RESPONSE_CACHE=0`) | "
                        f"{uncached['rate']:,.1f} req/s | bare endpoint (row above): {bare['rate']:,.0f} req/s | "
                        f"**{http['ratio_uncached']:.1%}** of bare |")
    return "\n".join(rows)


def growth_rows(run: dict) -> list[tuple[str, dict]]:
    """(measure, {size: text}) for the growth table: one measure a row, from one run."""
    rows: dict[str, dict] = {name: {} for name in (
        "SQLite load, `SQLiteBackend.load` (listings/s)",
        "SQLite index file (MB)",
        "Search p50 in-process (`backend.search` + `rank_hits`)",
        "Whole request p50 in-process (test client)",
        "HTTP req/s, response cache off (% of bare)",
        "HTTP req/s, as served: response cache on (% of bare)",
        "Bare endpoint req/s (the HTTP reference)",
        "Engine search p50 (`EngineBackend.search` + `rank_hits`)",
        "Engine API time over the raw query, per-query p50",
        "Engine load, `EngineBackend.load`",
        "Engine index size on the node (MB, primaries)",
    )}
    names = list(rows)
    for size in run["sizes"]:
        entry, layers_engine = run["search"].get(size), run["engine"].get(size)
        if entry:
            load, layers, http = entry["load"], entry["layers"], entry["http"]
            rows[names[0]][size] = f"{size / load['load_s']:,.0f}"
            rows[names[1]][size] = f"{load['file_mb']:,.0f}"
            rows[names[2]][size] = f"{fmt_ms(layers.search.p50)} ms"
            rows[names[3]][size] = f"{fmt_ms(layers.request.p50)} ms"
            if http:
                uncached = http.get("app_uncached", http["app"])
                rows[names[4]][size] = f"{uncached['rate']:,.1f} ({http.get('ratio_uncached', http['ratio']):.1%})"
                rows[names[5]][size] = (f"{http['app']['rate']:,.1f} ({http['ratio']:.1%})" if "app_uncached" in http
                                        else "no response cache")
                rows[names[6]][size] = f"{http['bare']['rate']:,.0f}"
        if layers_engine:
            rows[names[7]][size] = f"{fmt_ms(layers_engine.search.p50)} ms"
            rows[names[8]][size] = f"{percentile(sorted(layers_engine.ratio_search_raw), 50):.2f}×"
            rows[names[9]][size] = f"{layers_engine.load_s:.1f} s ({layers_engine.docs / layers_engine.load_s:,.0f}/s)"
            if layers_engine.store_mb is not None:
                rows[names[10]][size] = f"{layers_engine.store_mb:,.0f}"
    return [(name, cells) for name, cells in rows.items() if cells]


def growth_table(run: dict) -> str:
    """How each measure grows with the number of listings: a row per measure, a column
    per size, and the largest size's figure over the smallest's where both are numbers."""
    sizes = [size for size in run["sizes"] if size in run["search"] or size in run["engine"]]
    rows = ["| Measure | " + " | ".join(f"{size:,}" for size in sizes)
            + (f" | {sizes[-1]:,} ÷ {sizes[0]:,} |" if len(sizes) > 1 else " |"),
            "|---|" + "---|" * (len(sizes) + (len(sizes) > 1))]
    for name, cells in growth_rows(run):
        line = [name] + [cells.get(size, "–") for size in sizes]
        if len(sizes) > 1:
            first, last = _leading_number(cells.get(sizes[0])), _leading_number(cells.get(sizes[-1]))
            line.append(f"{last / first:.1f}×" if first and last is not None else "–")
        rows.append("| " + " | ".join(line) + " |")
    return "\n".join(rows)


def _leading_number(text: str | None) -> float | None:
    """The number a growth cell starts with ("1,234.5 (61%)" -> 1234.5), or None."""
    if not text:
        return None
    head = text.split(" ", 1)[0].replace(",", "").rstrip("×")
    try:
        return float(head)
    except ValueError:
        return None


def class_table(layers: Layers) -> str:
    """Per query class (sort, with or without text): share of the mix and p50s."""
    rows = ["| Query class | URLs in mix | Median matches | Request p50 | Search p50 / p95 | SQLite p50 |",
            "|---|---|---|---|---|---|"]
    for label, entry in layers.by_class.items():
        rows.append(
            f"| {label} | {entry['n_urls']} | {entry['matches_median']:,} | "
            f"{fmt_ms(entry['request'].p50)} ms | {fmt_ms(entry['search'].p50)} / "
            f"{fmt_ms(entry['search'].p95)} ms | {fmt_ms(entry['sqlite'].p50)} ms |")
    return "\n".join(rows)


def verdicts(results: dict) -> list[str]:
    """Plain statements of the search targets against the largest size measured."""
    if not results:
        return []
    largest = max(results)
    layers = results[largest]["layers"]
    lines = [
        f"- p50 ≤ {TARGET_P50_MS:g} ms at {largest:,}: whole request {fmt_ms(layers.request.p50)} ms, "
        f"search {fmt_ms(layers.search.p50)} ms — "
        f"**{'met' if layers.request.p50 <= TARGET_P50_MS else 'not met'}** "
        f"({layers.request.p50 / TARGET_P50_MS:.1f}× the target).",
    ]
    for size in sorted(results):
        http = results[size]["http"]
        if http:
            # The work itself: with a response cache, the figure without it (the mix repeats
            # URLs, so a cache's figure mostly measures its hits); that one is said beside it.
            ratio = http.get("ratio_uncached", http["ratio"])
            cached = (f" (response cache on, over the mix's repeated URLs: {http['ratio']:.1%})"
                      if "ratio_uncached" in http else "")
            lines.append(
                f"- ≥ {TARGET_RATIO:.0%} of the bare endpoint's rate at {size:,}, every request searched: "
                f"{ratio:.1%}{cached} — **{'met' if ratio >= TARGET_RATIO else 'not met'}**.")
    return lines


def all_verdicts(run: dict) -> list[str]:
    """Every target measured in this run."""
    lines = verdicts(run["search"]) + engine.verdicts(run["engine"])
    if run["import"]:
        lines += imports.verdicts(run["import"].get("sqlite"), run["import"].get("engine"))
    return lines


def render_results(machine: dict, run: dict, urls: list[str], started: datetime,
                   elapsed_s: float, args, command: str) -> str:
    """All of bench/RESULTS.md but the load test's section (or a partial run's file)."""
    classes = collections.Counter(mix.url_class(u) for u in urls)
    places = collections.Counter(mix.url_args(u)["near"] for u in urls)
    node = run["node"]
    parts = [
        "# Benchmarks: search, engine, import",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC in {elapsed_s:.0f} s "
        f"(parts: {', '.join(run['parts'])}). "
        "Regenerate rather than edit; numbers from another machine are not comparable, "
        "the ratios roughly are.",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable)"
        + (f", {machine['memory']} RAM" if machine["memory"] else ""),
        f"- OS: {machine['os']}",
        f"- Python {machine['python']}, SQLite {machine['sqlite']}, Flask {machine['flask']}, "
        f"gunicorn {machine['gunicorn']}, {machine['wrk'] or 'wrk not found'}",
    ]
    if node:
        parts.append(
            f"- OpenSearch {node['version']} (one node, "
            + ("started by the benchmark with `deploy/search-engine/start` on port "
               f"{node['port']}, JVM heap "
               + (f"`{node['java_opts']}` (`LINKAGE_ENGINE_JAVA_OPTS`, over {engine.LARGE_SIZE:,} listings)"
                  if node["java_opts"] else "as in `deploy/search-engine/config/jvm.options`")
               + f", up in {node['start_s']:.0f} s" if node["started"] else "at `LINKAGE_SEARCH_URL`")
            + f"), opensearch-py {engine.opensearch_py_version()}; it shares the same cores.")
    parts += [
        f"- Code: {machine['git']}; service/ + indexers/ fingerprint {machine['fingerprint']}"
        + (" (**changed during the run: figures mix versions, rerun**)" if machine["code_changed"] else "")
        + ".",
        f"- Load average (1 min) at start / end: {machine['load_start']:.2f} / "
        f"{machine['load_end']:.2f}. Above zero at the start, other processes were sharing "
        "the cores: absolute figures suffer, ratios less so, as each compares figures "
        "measured back to back.",
        "",
        "## Targets",
        "",
        *all_verdicts(run),
        "",
    ]
    parts += ["## Growth with the number of listings", "",
              "Each measure at each size, from this one run, as in each size's tables below: "
              "search and request p50 in-process without a response cache; HTTP with wrk over the "
              "mix, 2 gunicorn workers (\"as served\" has the response cache on, and the mix "
              "repeats URLs, so it is mostly hits); the engine's API time over the raw replay of "
              "its own requests. The last column is the largest size's figure over the smallest's.",
              "", growth_table(run), ""]
    if run["problems"]:
        parts += ["## Checks that failed", "", *[f"- {problem}" for problem in run["problems"]], ""]
    for size in run["sizes"]:
        entry, layers_engine = run["search"].get(size), run["engine"].get(size)
        if not entry and not layers_engine:
            continue
        info = run["listings"][size]
        parts += [
            f"## {size:,} synthetic listings",
            "",
            f"{info['active']:,} active, {info['national_remote']:,} national online/phone. "
            f"Generated in {info['generate_s']:.1f} s ({info['validated']:,} records checked "
            "through `load_listing`).",
            "",
        ]
        if entry:
            load, layers, http = entry["load"], entry["layers"], entry["http"]
            parts += [
                "### SQLite",
                "",
                f"Index `bench/out/bench-{size // 1000}k.sqlite`: {load['file_mb']:.0f} MB. "
                f"In-process: {layers.rounds} pass(es) over the mix, "
                f"{layers.search.n:,} samples per layer.",
                "",
                size_table(size, load, layers, http),
                "",
                class_table(layers),
                "",
            ]
            if http:
                parts += [
                    f"Bodies served over HTTP identical to in-process: {http['bytes_match_in_process'][0]}"
                    f"/{http['bytes_match_in_process'][1]}"
                    + (f" as served, {http['uncached_match_in_process'][0]}/{http['uncached_match_in_process'][1]} "
                       "with the response cache off" if "uncached_match_in_process" in http else "")
                    + "; bare endpoint identical to the app: "
                    f"{http['bare_identical'][0]}/{http['bare_identical'][1]}.",
                    "",
                ]
        if layers_engine:
            agree = layers_engine.agree
            parts += [
                "### OpenSearch",
                "",
                f"The same listings behind alias `{engine.ALIAS}`. In-process: {layers_engine.rounds} "
                f"pass(es) over the mix, {layers_engine.search.n:,} samples per layer. Engine answers "
                f"beside SQLite's, over {sum(agree.values())} distinct URLs: the same total, facets and "
                f"page in the same order {agree.get('same', 0)}; the same total and facets but another "
                f"page or order {agree.get('page', 0)}; another total or facets {agree.get('counts', 0)}"
                + (" (classes where they differ: " + ", ".join(
                    f"{label} {count}" for label, count in collections.Counter(
                        mix.url_class(u) for u, _ in layers_engine.disagree).most_common()) + ")"
                   if layers_engine.disagree else "")
                + ".",
                "",
                engine.size_table(size, layers_engine),
                "",
                engine.class_table(layers_engine),
                "",
            ]
    result = run["import"]
    if result:
        feed = result["feed"]
        attendance = ", ".join(f"{k} {v:,}" for k, v in feed["attendance"].most_common())
        parts += [
            f"## Import: {feed['meetings']:,} Meeting Guide meetings",
            "",
            f"Feed `bench/out/{feed['path'].name}`: {feed['mb']:.0f} MB, generated in "
            f"{feed['generate_s']:.1f} s; attendance_option: {attendance}. Imported with "
            f"`--format meeting-guide --program \"{imports.PROGRAM}\"`, source `{imports.SOURCE_NAME}`, "
            "a fresh source cache and a fresh target each time; every meeting has coordinates, "
            "so nothing is geocoded.",
            "",
            imports.table(feed, result.get("sqlite"), result.get("engine")),
            "",
        ]
        for name in ("sqlite", "engine"):
            if result.get(name):
                done = result[name]["run"]
                parts.append(f"- {'SQLite' if name == 'sqlite' else 'OpenSearch'}: {done.line}; "
                             f"{done.warnings:,} warnings; source cache written in {done.cache_s:.1f} s.")
        parts.append("")
        if result.get("profiles"):
            profiles = result["profiles"]
            sample = next(iter(profiles.values()))[0]
            parts += [
                f"### Where the time goes (cProfile, the first {sample.read:,} meetings "
                "of the same feed)",
                "",
                "Profiled imports run slower than the timed ones (cProfile adds a cost per Python "
                f"call: {sample.read:,} records in {sample.seconds:.1f} s here); the shares are "
                "what to read.",
                "",
                imports.stage_table(profiles),
                "",
                imports.top_table(profiles),
            ]
    parts += [
        "## How",
        "",
        f"- Data: `bench/synth.py`, seed {synth.SEED}: localities drawn by population from "
        "`data/gazetteer/au_localities.csv` and spread around their centre by city size; "
        "meetings mostly on weekday evenings (18:00–19:30 starts), then lunchtimes, mornings "
        "and Saturday mornings, in each place's zone; "
        f"{synth.SHARE_NATIONAL_REMOTE:.0%} national online/phone (`[\"AU\"]`), "
        f"{synth.SHARE_STATE_REMOTE:.1%} state-wide online, {synth.SHARE_SERVICE:.0%} services, "
        f"{synth.SHARE_HELPLINE:.1%} helplines.",
        f"- Query mix: `bench/mix.py`, {len(urls)} URLs ({len(set(urls))} distinct), all with "
        f"`at={mix.AT}`. Classes: " + ", ".join(f"{k} {v}" for k, v in classes.most_common())
        + ". Places: " + ", ".join(f"{k} {v}" for k, v in places.most_common()) + ".",
        "- In-process: whole passes over the mix (at least one, more within "
        f"{args.budget:g} s per layer), the layers taking turns on each URL; "
        "percentiles over all samples. Repeated URLs find whatever the app caches warm "
        "(the mix's only text is `smart`, so a per-connection FTS result cache always hits); "
        "a first-time search costs more. The SQLite row replays "
        "the exact statements `SQLiteBackend.search` ran for each URL (recorded through its "
        "`_execute`) on a connection like its own, fetching as many rows: SQLite's share alone.",
        f"- HTTP: `gunicorn {' '.join(GUNICORN_OPTIONS)}` for `bench.common:served_app()` (`service:create_app()` "
        "with the index's columns read in the master before workers fork, as `linkage serve` does) and then "
        "for `bench.bare:create_bare_app()` (the app's answers fetched once, replayed as bytes), "
        f"each warmed for {WRK_WARMUP_S} s, then `{wrk_command_text(args.duration)}`. Client and "
        "servers share this machine's cores, equally for both. Every app the benchmark builds, "
        "in-process or served, gets the settings in `bench.common.APP_SETTINGS` that its version "
        "knows: the API rate limit raised out of the way of one client's hundreds of searches a "
        "second (the limiter still runs on each request); and an app serving a SQLite index reads "
        f"link checks beside it, as a deployment running `linkage check-links` does "
        f"(`bench.common.link_checks_for`: every listing's website checked, one in {DEAD_LINK_EVERY} "
        "confirmed dead).",
        "- OpenSearch: the listings loaded with `EngineBackend(make_transport(\"opensearch\", url), "
        f"alias=\"{engine.ALIAS}\").load(listings)`; four layers take turns on each URL (passes "
        f"within {args.engine_budget:g} s per layer): the whole "
        "app on that backend through the test client, `EngineBackend.search` + `rank_hits`, the raw "
        "replay, and `SQLiteBackend.search` + `rank_hits` on the same listings. The raw replay sends "
        "the very requests the search sent for that URL (method, path and body, recorded by "
        "wrapping the backend's `Transport` once caches were warm) through "
        "`opensearchpy.OpenSearch(url).transport.perform_request`, answers decoded as the backend's "
        "are. Per-query ratios are, for each position of the mix, the median of one layer over "
        "the median of the other across passes; their p50 and p95 over the mix are shown. The "
        "backend re-reads the index's zone list every "
        "60 s, so an occasional timed search carries one more request than its replay. Bench "
        "indices are deleted after each size.",
        "- Import: see the module docstring of `bench/imports.py`. Each import is timed once, "
        "whole; `backend.load` and the source cache write are timed inside it. The raw `_bulk` "
        "runs after the import's index is deleted, so both find the node without bench data.",
        f"- Time bounds: wrk runs {args.duration} s per server after a {WRK_WARMUP_S} s warm-up and "
        f"SQLite in-process passes stop after {args.budget:g} s per layer (shortened from 15 s and 5 s "
        "when the engine and import parts joined, to keep `make bench` under about 8 minutes on "
        f"2 cores); the import is timed once per store, and profiled on the first "
        f"{min(imports.PROFILE_MEETINGS, args.meetings):,} meetings only.",
        "",
    ]
    return "\n".join(parts)


# -- main -------------------------------------------------------------------------------


# The level-2 sections render_results writes; every other one in RESULTS.md is another
# tool's (bench.load, bench.wire, bench.sides, ...) and is carried over as it is.
OWN_SECTIONS = re.compile(r"## (Machine|Targets|Growth with the number of listings|Checks that failed|How"
                          r"|[\d,]+ synthetic listings|Import: .*)")


def keep_other_sections(text: str, previous: str) -> str:
    """`text` (a full run's RESULTS.md) with the sections of `previous` that other tools
    wrote (LOAD_SECTION, WIRE_SECTION, SIDES_SECTION and any other heading that is not
    OWN_SECTIONS), in their order, after its own."""
    headings = [line for line in previous.splitlines() if line.startswith("## ")]
    for heading in headings:
        if not OWN_SECTIONS.fullmatch(heading):
            text = replace_section(text, heading, section_of(previous, heading))
    return text


def parse_parts(text: str) -> tuple[str, ...]:
    """`--only search,import` -> ("search", "import"), in run order."""
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(PARTS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"--only takes {', '.join(PARTS)} (comma-separated)")
    return tuple(part for part in PARTS if part in chosen)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write bench/RESULTS.md unless --no-write. Exit 1 on a failed check."""
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=parse_parts, default=PARTS, metavar="PARTS",
                        help="run only these parts: search (SQLite, HTTP), engine (OpenSearch vs "
                             "SQLite, API vs raw), import (Meeting Guide feed); comma-separated. A "
                             "partial run writes bench/out/RESULTS-<parts>.md, not bench/RESULTS.md")
    parser.add_argument("--sizes", default=",".join(size_label(s) for s in SIZES),
                        help="comma-separated listing counts, 10k/1m or plain numbers; "
                             "--sizes 10k,100k skips the million (default: %(default)s)")
    parser.add_argument("--meetings", type=int, default=imports.FEED_MEETINGS,
                        help="meetings in the import feed (default: %(default)s)")
    parser.add_argument("--duration", type=int, default=WRK_DURATION_S,
                        help="seconds of wrk per server (default: %(default)s)")
    parser.add_argument("--budget", type=float, default=LAYER_BUDGET_S,
                        help="SQLite in-process seconds per layer; one pass over the mix always runs (default: %(default)s)")
    parser.add_argument("--engine-budget", type=float, default=ENGINE_BUDGET_S,
                        help="the same for the four engine-part layers (default: %(default)s)")
    parser.add_argument("--engine-port", type=int, default=engine.ENGINE_PORT,
                        help="port of the OpenSearch node the benchmark starts, apart from the "
                             "test suite's (default: %(default)s; ignored with LINKAGE_SEARCH_URL)")
    parser.add_argument("--no-http", action="store_true", help="skip gunicorn and wrk")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    parser.add_argument("--code-label", default=None,
                        help="name the code measured when this is not a git checkout "
                             "(e.g. a commit exported with git archive)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the slowest query class at the largest size")
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes)
    parts = args.only
    http_wanted = "search" in parts and not args.no_http

    if http_wanted and shutil.which("wrk") is None:
        print("wrk is not installed: run `apt-get install wrk` (`make bench` does it), "
              "or pass --no-http.", file=sys.stderr)
        return 2

    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    # Other processes on the machine skew absolute figures; say how busy it was.
    machine["load_start"] = os.getloadavg()[0]
    machine["git"] = git_state()
    if machine["git"] == "unknown" and args.code_label:
        machine["git"] = args.code_label
    # Servers import service/ afresh; if it is edited mid-run, in-process and HTTP figures
    # would come from different code. Checked before each server start and at the end.
    machine["code_files"] = code_files()
    machine["fingerprint"] = code_fingerprint(machine["code_files"])
    urls = mix.build_mix()
    (ROOT / MIX_FILE).write_text("\n".join(urls) + "\n", encoding="utf-8")
    towns = synth.load_towns(GAZETTEER)
    geocoder = OfflineGazetteer(GAZETTEER)
    engine.quiet_client_logs()
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
          f"SQLite {machine['sqlite']}; parts: {', '.join(parts)}", flush=True)

    run: dict = {"parts": parts, "sizes": sizes, "search": {}, "engine": {}, "import": None,
                 "listings": {}, "node": None, "problems": []}
    failed = run["problems"]

    def attempt(label: str, step):
        """Run one part; a failure is reported and the other parts go on."""
        try:
            return step()
        except Exception as exc:  # noqa: BLE001 - one broken part must not lose the others
            traceback.print_exc()
            failed.append(f"{label}: {type(exc).__name__}: {str(exc)[:300]}")
            return None

    # Up to KEEP_LISTINGS_UP_TO, listings are generated once per size and shared by the
    # SQLite and engine parts; above, each part generates its own list of the same listings.
    listings: dict[int, list] = {}

    def listings_for(size: int) -> list:
        if size in listings:
            return listings[size]
        info = run["listings"].setdefault(size, {})
        made = list(listing_stream(size, towns, info))
        print(f"generated {size:,} listings in {info['generate_s']:.1f} s", flush=True)
        if size <= KEEP_LISTINGS_UP_TO:
            listings[size] = made
        return made

    # SQLite first, with no OpenSearch node on the machine yet.
    for size in sizes if "search" in parts else ():
        print(f"\n== {size:,} listings: SQLite ==", flush=True)
        entry = attempt(f"search at {size:,}", lambda: search_part(
            size, listings_for(size), urls, geocoder, args, machine, failed))
        if entry:
            run["search"][size] = entry
    with contextlib.ExitStack() as stack:
        url = None
        if "engine" in parts or "import" in parts:
            print("\n== OpenSearch node ==", flush=True)
            # A million listings need more heap than config/jvm.options gives the node.
            heap = engine.LARGE_HEAP_OPTS if "engine" in parts and max(sizes) > engine.LARGE_SIZE else ""
            node = attempt("OpenSearch node", lambda: stack.enter_context(
                engine.Node(args.engine_port, java_opts=heap)))
            if node:
                url = node.url
                run["node"] = {"version": node.version, "started": node.started, "start_s": node.start_s,
                               "port": node.port, "java_opts": node.java_opts}
                print(f"OpenSearch {node.version} " + (f"up in {node.start_s:.0f} s" if node.started
                                                       else "from LINKAGE_SEARCH_URL"), flush=True)
        for size in sizes if "engine" in parts and url else ():
            print(f"\n== {size:,} listings: OpenSearch ==", flush=True)

            def engine_step():
                path = index_path(size)
                # A list made before the loads (see KEEP_LISTINGS_UP_TO), once for both.
                made = listings_for(size)
                if size not in run["search"]:  # the SQLite reference needs its index
                    SQLiteBackend(path).load(made)
                return engine.measure(url, made, path, urls, geocoder, args.engine_budget)

            phase = time.perf_counter()
            layers = attempt(f"engine at {size:,}", engine_step)
            if layers:
                run["engine"][size] = layers
                print(engine.size_table(size, layers), "\n", engine.class_table(layers), sep="\n")
                print(f"engine vs SQLite answers: {layers.agree} [{time.perf_counter() - phase:.0f} s]",
                      flush=True)
            listings.pop(size, None)
        listings.clear()
        if "import" in parts:
            run["import"] = attempt("import", lambda: import_part(args.meetings, towns, geocoder, url, failed))
            if run["import"] is not None and url is None:
                failed.append("import into OpenSearch not measured: no node")

    elapsed = time.perf_counter() - started
    machine["load_end"] = os.getloadavg()[0]
    changes = code_changes(machine["code_files"])
    if changes:
        failed.append(f"service/ or indexers/ changed during the run: {', '.join(changes)}")
    machine["code_changed"] = any("changed during the run" in problem or "changed before" in problem
                                  for problem in failed)
    command = shlex.join(["python", "-m", "bench.search", *(argv or [])])
    text = render_results(machine, run, urls, started_at, elapsed, args, command)
    print("\n" + "\n".join(all_verdicts(run)))
    if not args.no_write:
        target = RESULTS if parts == PARTS else OUT / f"RESULTS-{'-'.join(parts)}.md"
        if target == RESULTS and RESULTS.exists():
            text = keep_other_sections(text, RESULTS.read_text(encoding="utf-8"))
        target.write_text(text, encoding="utf-8")
        print(f"\nWrote {target.relative_to(ROOT)} ({elapsed:.0f} s in all).")
    for problem in failed:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if failed else 0


def search_part(size: int, listings: list, urls: list[str], geocoder, args, machine: dict,
                failed: list[str]) -> dict:
    """The SQLite part at one size: load, in-process layers, HTTP throughput."""
    phase = time.perf_counter()
    load = build_index(size, listings)
    # Above KEEP_LISTINGS_UP_TO this is the only reference: a million listings are gigabytes
    # the timings and servers below should not share the machine with.
    del listings
    print(f"SQLite loaded in {load['load_s']:.1f} s, raw copy {load['raw_s']:.1f} s "
          f"[{time.perf_counter() - phase:.0f} s]", flush=True)
    phase = time.perf_counter()
    layers = time_in_process(load["path"], urls, geocoder, args.budget)
    print(f"search p50 {fmt_ms(layers.search.p50)} ms, request p50 {fmt_ms(layers.request.p50)} ms "
          f"[{time.perf_counter() - phase:.0f} s]", flush=True)
    http = None
    if not args.no_http:
        changes = code_changes(machine["code_files"])
        if changes:
            failed.append(f"{size}: service/ or indexers/ changed before the servers started: "
                          f"{', '.join(changes)}")
        phase = time.perf_counter()
        http = throughput(load["path"], urls, layers.bodies, size, args.duration)
        print(f"app {http['app']['rate']:.1f} req/s, bare {http['bare']['rate']:.0f} req/s "
              f"[{time.perf_counter() - phase:.0f} s]", flush=True)
        for name in ("app", "bare"):
            if http[name]["errors_status"] or http[name]["socket_errors"]:
                failed.append(f"{size}: {name} had {http[name]['errors_status']} non-2xx and "
                              f"{http[name]['socket_errors']} socket errors")
        if http["bare_identical"][0] != http["bare_identical"][1]:
            failed.append(f"{size}: bare endpoint bytes differ from the app's")
        if http["bytes_match_in_process"][0] != http["bytes_match_in_process"][1]:
            failed.append(f"{size}: the served app's bytes differ from in-process ones")
        uncached = http.get("uncached_match_in_process")
        if uncached and uncached[0] != uncached[1]:
            failed.append(f"{size}: the served app's bytes without its response cache differ from in-process ones "
                          f"for {uncached[1] - uncached[0]} URLs: " + "; ".join(http["uncached_differ"][:3]))
    print(size_table(size, load, layers, http), "\n", class_table(layers), sep="\n", flush=True)
    if args.profile and size == max(parse_sizes(args.sizes)):
        slowest = max(layers.by_class, key=lambda label: layers.by_class[label]["search"].p50)
        print(f"\ncProfile of class {slowest!r} at {size:,}:\n"
              + profile_class(load["path"], urls, geocoder, slowest))
    return {"load": load, "layers": layers, "http": http}


def import_part(meetings: int, towns: list, geocoder, url: str | None, failed: list[str]) -> dict:
    """The import part: the feed, SQLite and engine imports with their references, profiles."""
    print(f"\n== Import: {meetings:,} Meeting Guide meetings ==", flush=True)
    phase = time.perf_counter()
    feed = imports.write_feed(meetings, towns)
    print(f"feed written: {feed['mb']:.0f} MB in {feed['generate_s']:.1f} s", flush=True)
    result: dict = {"feed": feed}
    result["sqlite"] = imports.sqlite_part(feed["path"], meetings, geocoder)
    done = result["sqlite"]["run"]
    print(f"SQLite: {done.seconds:.1f} s ({done.rate:,.0f} records/s; load {done.load_s:.1f} s), "
          f"raw copy {result['sqlite']['raw_s']:.2f} s [{time.perf_counter() - phase:.0f} s]", flush=True)
    problems = list(done.problems)
    if url:
        phase = time.perf_counter()
        result["engine"] = imports.engine_part(feed["path"], geocoder, url)
        done = result["engine"]
        print(f"OpenSearch: {done['run'].seconds:.1f} s ({done['run'].rate:,.0f} records/s; load "
              f"{done['run'].load_s:.1f} s), raw _bulk {done['raw_s']:.1f} s "
              f"[{time.perf_counter() - phase:.0f} s]", flush=True)
        problems += done["run"].problems
    phase = time.perf_counter()
    small = imports.write_feed(min(imports.PROFILE_MEETINGS, meetings), towns)
    result["profiles"] = imports.profile_imports(small["path"], geocoder, url)
    print(f"profiled [{time.perf_counter() - phase:.0f} s]", flush=True)
    print(imports.table(feed, result.get("sqlite"), result.get("engine")), "",
          imports.stage_table(result["profiles"]), "", imports.top_table(result["profiles"]), sep="\n")
    failed.extend(f"import: {problem}" for problem in problems)
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
