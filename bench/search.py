"""Search benchmark: `python -m bench.search` (or `make bench`) writes bench/RESULTS.md.

For each size (10k and 100k synthetic listings, see `bench.synth`), in one run:

1. Load.  Build the SQLite index with `SQLiteBackend.load`; reference: a raw SQLite copy
   of the very same rows into the same schema (the floor for writing that file).
2. Server-side time, in-process, over the query mix (`bench.mix`):
   * request — the whole app through Flask's test client (parse, search, rank, render);
   * search  — `backend.search(query)` + `ranking.rank_hits` on a pre-parsed query;
   * engine  — the reference: the exact SQL statements that search ran, replayed on the
     same connection and fetching the same rows, with no Python around them.
3. Throughput over HTTP on 127.0.0.1: gunicorn (2 sync workers) serving the real app,
   driven by wrk cycling through the mix; reference: the bare app (`bench.bare`) serving
   the same bytes, same gunicorn options, same wrk command, right after.

Every figure is printed beside its reference, as a ratio, with the machine it ran on.
Load is bounded: fixed wrk durations, a fixed number of in-process rounds under a time
budget, and every server is stopped in a `finally`.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from bench import mix, synth
from service import create_app, ranking
from service.backends.sqlite import SCHEMA, SQLiteBackend
from service.geocode import OfflineGazetteer
from service.params import parse_search

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
GAZETTEER = ROOT / "data" / "gazetteer"
# Paths handed to child processes are relative to ROOT (their working directory), so
# no machine path ends up in a command line we print or a file we write.
LUA_SCRIPT = "bench/mix.lua"
MIX_FILE = "bench/out/mix-urls.txt"

SIZES = (10_000, 100_000)
# Validating every record through marshmallow costs more than the load itself at 100k;
# larger sets check a sample (see synth.listings).
VALIDATE_EVERY = {10_000: 1, 100_000: 10}

WORKERS = 2
GUNICORN_OPTIONS = ("--workers", str(WORKERS), "--worker-class", "sync", "--threads", "1",
                    "--preload", "--timeout", "30")
WRK_THREADS = 1
WRK_CONNECTIONS = 8
WRK_DURATION_S = 15
WRK_WARMUP_S = 2
# wrk's default 2 s timeout would count slow answers queued behind 2 workers as errors.
WRK_TIMEOUT_S = 10

# In-process timing: whole passes over the mix, at least one, more while the budget lasts.
LAYER_BUDGET_S = 8.0
MAX_ROUNDS = 30

TARGET_P50_MS = 5.0
TARGET_RATIO = 0.60


# -- statistics -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Percentiles of a list of timings in milliseconds."""

    p50: float
    p95: float
    p99: float
    n: int

    @classmethod
    def of(cls, samples_ms: list[float]) -> "Stats":
        """Percentiles by linear interpolation (as numpy's default) of the samples."""
        ordered = sorted(samples_ms)
        return cls(percentile(ordered, 50), percentile(ordered, 95), percentile(ordered, 99),
                   len(ordered))

    def text(self) -> str:
        """"p50 / p95 / p99 ms"."""
        return f"{fmt_ms(self.p50)} / {fmt_ms(self.p95)} / {fmt_ms(self.p99)} ms"


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted values, interpolating between neighbours."""
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt_ms(value: float) -> str:
    """Milliseconds with sensible precision."""
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


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


# -- step 1: load -----------------------------------------------------------------------


def build_index(size: int, towns: list[synth.Town]) -> dict:
    """Generate `size` listings, load them into bench/out/bench-<size>.sqlite; time both."""
    path = OUT / f"bench-{size // 1000}k.sqlite"
    started = time.perf_counter()
    listings = synth.listings(size, towns, validate_every=VALIDATE_EVERY.get(size, 10))
    generated = time.perf_counter() - started
    started = time.perf_counter()
    report = SQLiteBackend(path).load(listings)
    load_s = time.perf_counter() - started
    assert report.loaded == size
    raw_s = raw_bulk_copy(path, OUT / f"bench-{size // 1000}k-rawcopy.sqlite")
    return {
        "path": path,
        "size": size,
        "generate_s": generated,
        "validated": (size + VALIDATE_EVERY.get(size, 10) - 1) // VALIDATE_EVERY.get(size, 10),
        "load_s": load_s,
        "raw_s": raw_s,
        "file_mb": path.stat().st_size / 1e6,
        "active": sum(1 for item in listings if item.status == "active"),
        "national_remote": sum(1 for item in listings if item.service_area == ("AU",)),
    }


def raw_bulk_copy(source: Path, target: Path) -> float:
    """Seconds to write the same rows into a fresh file of the same schema, in SQLite only.

    The reference for the load: same tables, same indexes, same FTS optimize and ANALYZE,
    same pragmas, but the rows come by INSERT ... SELECT from the file just built, so no
    Python runs per listing. The copy is deleted afterwards.
    """
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    conn = sqlite3.connect(target)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(SCHEMA)
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        conn.execute("INSERT INTO meta SELECT * FROM src.meta")
        conn.execute("INSERT INTO listings SELECT * FROM src.listings ORDER BY rid")
        conn.execute("INSERT INTO sessions SELECT * FROM src.sessions")
        conn.execute("INSERT INTO geo SELECT * FROM src.geo ORDER BY rid")
        conn.execute("INSERT INTO fts(rowid, name, program, description, terms) "
                     "SELECT rowid, name, program, description, terms FROM src.fts ORDER BY rowid")
        conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
        copied = conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
        original = conn.execute("SELECT COUNT(*) FROM src.listings").fetchone()[0]
        assert copied == original
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    target.unlink(missing_ok=True)
    return elapsed


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
    calls: list[list] = []
    original = SQLiteBackend._execute.__get__(backend)

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


def _rounds(urls: list[str], run_one, budget_s: float) -> dict[str, list[float]]:
    """Time `run_one(url)` over whole passes of the mix; ms samples per URL index."""
    samples: dict[int, list[float]] = collections.defaultdict(list)
    started = time.perf_counter()
    rounds = 0
    while rounds < MAX_ROUNDS and (rounds == 0 or time.perf_counter() - started < budget_s):
        for i, url in enumerate(urls):
            samples[i].append(run_one(url) * 1000.0)
        rounds += 1
    return samples


@dataclass
class Layers:
    """In-process results for one size."""

    request: Stats
    search: Stats
    engine: Stats
    rounds: dict
    by_class: dict
    bodies: dict = field(repr=False)
    hits_total: dict = field(repr=False)


def time_in_process(path: Path, urls: list[str], geocoder, budget_s: float) -> Layers:
    """Request, search and engine timings over the mix (see the module docstring)."""
    at = mix.at_datetime()
    app = create_app({"sqlite_path": str(path)}, geocoder=geocoder, clock=lambda: at)
    client = app.test_client()
    backend = SQLiteBackend(path)
    recorder = SQLiteBackend(path)
    distinct = list(dict.fromkeys(urls))
    queries = {url: parse_search(mix.url_args(url), geocoder, at) for url in distinct}

    bodies, totals = {}, {}
    for url in distinct:  # warm up every connection and check every answer once
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.data[:200]!r}")
        bodies[url] = (response.status_code, response.content_type, response.data)
        totals[url] = json.loads(response.data)["total"]
        ranking.rank_hits(backend.search(queries[url]).hits, queries[url])
    statements = {url: record_statements(recorder, queries[url]) for url in distinct}
    # The replay runs on the recorder's own connection: same file, same registered
    # functions (py_distance_weight, py_text_weight), same cache as a search would have.
    conn = recorder._connection()
    for url in distinct:
        replay(conn, statements[url])

    def request_one(url):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    def search_one(url):
        query = queries[url]
        started = time.perf_counter()
        ranking.rank_hits(backend.search(query).hits, query)
        return time.perf_counter() - started

    def engine_one(url):
        return replay(conn, statements[url])

    layers = {}
    rounds = {}
    for name, run_one in (("request", request_one), ("search", search_one), ("engine", engine_one)):
        per_url = _rounds(urls, run_one, budget_s)
        layers[name] = per_url
        rounds[name] = len(per_url[0])

    by_class: dict[str, dict] = {}
    for i, url in enumerate(urls):
        entry = by_class.setdefault(mix.url_class(url), {"n_urls": 0, "request": [], "search": [], "engine": [],
                                                          "matches": []})
        entry["n_urls"] += 1
        entry["matches"].append(totals[url])
        for name in ("request", "search", "engine"):
            entry[name].extend(layers[name][i])
    classes = {
        label: {
            "n_urls": entry["n_urls"],
            "matches_median": sorted(entry["matches"])[len(entry["matches"]) // 2],
            **{name: Stats.of(entry[name]) for name in ("request", "search", "engine")},
        }
        for label, entry in sorted(by_class.items(), key=lambda kv: -kv[1]["n_urls"])
    }

    def flat(name):
        return Stats.of([ms for values in layers[name].values() for ms in values])

    return Layers(flat("request"), flat("search"), flat("engine"), rounds, classes, bodies, totals)


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
            ranking.rank_hits(backend.search(query).hits, query)
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
    so the comparison is between the apps, not the logging.
    """

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
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, ready_timeout_s: float = 60.0) -> None:
        """Start gunicorn and wait until /healthz answers (or fail with its stderr)."""
        command = [sys.executable, "-m", "gunicorn", *GUNICORN_OPTIONS,
                   "--bind", f"127.0.0.1:{self.port}", self.app_spec]
        # A new session makes the master and its workers one process group we own,
        # so stop() can end exactly them.
        self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn for {self.app_spec} exited:\n" + "".join(self.stderr_tail))
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn for {self.app_spec} not ready in {ready_timeout_s:.0f} s")

    def _drain(self) -> None:
        for line in self.proc.stderr:
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
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                         timeout=duration_s + WRK_TIMEOUT_S + 30)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    line = next((l for l in run.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{run.stdout}\n{run.stderr}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    result["socket_errors"] = sum(result[k] for k in ("errors_connect", "errors_read",
                                                       "errors_write", "errors_timeout"))
    return result


def wrk_command_text(duration_s: int) -> str:
    """The wrk command as run (port left symbolic), for RESULTS.md."""
    return (f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{duration_s}s --timeout {WRK_TIMEOUT_S}s "
            f"--latency -s {LUA_SCRIPT} http://127.0.0.1:PORT -- {MIX_FILE}")


def throughput(index_path: Path, urls: list[str], bodies: dict, size: int, duration_s: int) -> dict:
    """Real app then bare app under the same gunicorn options and wrk run; both results."""
    distinct = list(dict.fromkeys(urls))
    responses_file = OUT / f"responses-{size // 1000}k.json"
    result: dict = {}
    with Server("service:create_app()", {"LINKAGE_SQLITE_PATH": str(index_path)}) as app_server:
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
        f"{layers.search.text()} | raw engine, same SQL statements: {layers.engine.text()} | "
        f"{layers.search.p50 / layers.engine.p50:.2f}× (p50) |",
        f"| Whole request in-process, p50 / p95 / p99 (test client: parse, search, rank, render) | "
        f"{layers.request.text()} | search alone (row above): {fmt_ms(layers.search.p50)} ms p50 | "
        f"{layers.request.p50 / layers.search.p50:.2f}× (p50) |",
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
    return "\n".join(rows)


def class_table(layers: Layers) -> str:
    """Per query class (sort, with or without text): share of the mix and p50s."""
    rows = ["| Query class | URLs in mix | Median matches | Request p50 | Search p50 / p95 | Engine p50 |",
            "|---|---|---|---|---|---|"]
    for label, entry in layers.by_class.items():
        rows.append(
            f"| {label} | {entry['n_urls']} | {entry['matches_median']:,} | "
            f"{fmt_ms(entry['request'].p50)} ms | {fmt_ms(entry['search'].p50)} / "
            f"{fmt_ms(entry['search'].p95)} ms | {fmt_ms(entry['engine'].p50)} ms |")
    return "\n".join(rows)


def verdicts(results: dict) -> list[str]:
    """Plain statements of the targets against the largest size measured."""
    largest = max(results)
    layers, http = results[largest]["layers"], results[largest]["http"]
    lines = [
        f"- p50 ≤ {TARGET_P50_MS:g} ms at {largest:,}: whole request {fmt_ms(layers.request.p50)} ms, "
        f"search {fmt_ms(layers.search.p50)} ms — "
        f"**{'met' if layers.request.p50 <= TARGET_P50_MS else 'not met'}** "
        f"({layers.request.p50 / TARGET_P50_MS:.1f}× the target).",
    ]
    for size in sorted(results):
        http = results[size]["http"]
        if http:
            lines.append(
                f"- ≥ {TARGET_RATIO:.0%} of the bare endpoint's rate at {size:,}: {http['ratio']:.1%} — "
                f"**{'met' if http['ratio'] >= TARGET_RATIO else 'not met'}**.")
    return lines


def render_results(machine: dict, results: dict, urls: list[str], started: datetime,
                   elapsed_s: float, duration_s: int, command: str) -> str:
    """The whole of bench/RESULTS.md."""
    classes = collections.Counter(mix.url_class(u) for u in urls)
    places = collections.Counter(mix.url_args(u)["near"] for u in urls)
    parts = [
        "# Search benchmark",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC in {elapsed_s:.0f} s. "
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
        "",
        "## Targets",
        "",
        *verdicts(results),
        "",
    ]
    for size in sorted(results):
        entry = results[size]
        load, layers, http = entry["load"], entry["layers"], entry["http"]
        parts += [
            f"## {size:,} synthetic listings",
            "",
            f"Index `bench/out/bench-{size // 1000}k.sqlite`: {load['file_mb']:.0f} MB, "
            f"{load['active']:,} active, {load['national_remote']:,} national online/phone. "
            f"Generated in {load['generate_s']:.1f} s ({load['validated']:,} records checked "
            "through `load_listing`). In-process rounds over the mix: "
            + ", ".join(f"{k} {v}" for k, v in layers.rounds.items()) + ".",
            "",
            size_table(size, load, layers, http),
            "",
            class_table(layers),
            "",
        ]
        if http:
            parts += [
                f"Bodies served over HTTP identical to in-process: {http['bytes_match_in_process'][0]}"
                f"/{http['bytes_match_in_process'][1]}; bare endpoint identical to the app: "
                f"{http['bare_identical'][0]}/{http['bare_identical'][1]}.",
                "",
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
        f"{LAYER_BUDGET_S:g} s per layer); percentiles over all samples. The engine row replays "
        "the exact statements `SQLiteBackend.search` ran for each URL on the same kind of "
        "connection, fetching as many rows: SQLite's share alone.",
        f"- HTTP: `gunicorn {' '.join(GUNICORN_OPTIONS)}` for `service:create_app()` and then "
        "for `bench.bare:create_bare_app()` (the app's answers fetched once, replayed as bytes), "
        f"each warmed for {WRK_WARMUP_S} s, then `{wrk_command_text(duration_s)}`. Client and "
        "servers share this machine's cores, equally for both.",
        "",
    ]
    return "\n".join(parts)


# -- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write bench/RESULTS.md unless --no-write. Exit 1 on a failed check."""
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="comma-separated listing counts (default: %(default)s)")
    parser.add_argument("--duration", type=int, default=WRK_DURATION_S,
                        help="seconds of wrk per server (default: %(default)s)")
    parser.add_argument("--budget", type=float, default=LAYER_BUDGET_S,
                        help="seconds per in-process layer after the first pass (default: %(default)s)")
    parser.add_argument("--no-http", action="store_true", help="skip gunicorn and wrk")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the slowest query class at the largest size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    if not args.no_http and shutil.which("wrk") is None:
        print("wrk is not installed: run `apt-get install wrk` (`make bench` does it), "
              "or pass --no-http.", file=sys.stderr)
        return 2

    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    urls = mix.build_mix()
    (ROOT / MIX_FILE).write_text("\n".join(urls) + "\n", encoding="utf-8")
    towns = synth.load_towns(GAZETTEER)
    geocoder = OfflineGazetteer(GAZETTEER)
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
          f"SQLite {machine['sqlite']}", flush=True)

    results: dict[int, dict] = {}
    failed = []
    for size in sizes:
        print(f"\n== {size:,} listings ==", flush=True)
        load = build_index(size, towns)
        print(f"load {load['load_s']:.1f} s, raw copy {load['raw_s']:.1f} s", flush=True)
        layers = time_in_process(load["path"], urls, geocoder, args.budget)
        print(f"search p50 {fmt_ms(layers.search.p50)} ms, request p50 {fmt_ms(layers.request.p50)} ms",
              flush=True)
        http = None
        if not args.no_http:
            http = throughput(load["path"], urls, layers.bodies, size, args.duration)
            for name in ("app", "bare"):
                if http[name]["errors_status"] or http[name]["socket_errors"]:
                    failed.append(f"{size}: {name} had {http[name]['errors_status']} non-2xx and "
                                  f"{http[name]['socket_errors']} socket errors")
            if http["bare_identical"][0] != http["bare_identical"][1]:
                failed.append(f"{size}: bare endpoint bytes differ from the app's")
        results[size] = {"load": load, "layers": layers, "http": http}
        print(size_table(size, load, layers, http), "\n", class_table(layers), sep="\n", flush=True)
        if args.profile and size == max(sizes):
            slowest = max(layers.by_class, key=lambda label: layers.by_class[label]["search"].p50)
            print(f"\ncProfile of class {slowest!r} at {size:,}:\n"
                  + profile_class(load["path"], urls, geocoder, slowest))

    elapsed = time.perf_counter() - started
    text = render_results(machine, results, urls, started_at, elapsed, args.duration,
                          "python -m bench.search" + (" " + " ".join(argv) if argv else ""))
    print("\n" + "\n".join(verdicts(results)))
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"\nWrote {RESULTS.relative_to(ROOT)} ({elapsed:.0f} s in all).")
    for problem in failed:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
