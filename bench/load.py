"""The bounded load test: `python -m bench.load` (or `make bench-load`).

For each backend (SQLite, then the OpenSearch engine), about 10,000 synthetic listings
(`bench.synth`) are indexed, gunicorn serves the app with the production config
(`deploy/gunicorn.conf.py`) on 127.0.0.1, and wrk drives it for two minutes with a mixed
request list (`bench/load.lua`): postcode searches, filtered and text searches, listing
pages, handout creation (POST /v1/referrals, about 5 %) and handout pages.

Reported per backend: requests, requests/s, wrk's latency percentiles, errors (any status
outside 2xx/3xx, socket errors, timeouts) and each worker's resident memory after a
warm-up and through the run (the config recycles workers after a few thousand requests, so
each worker's peak reading counts). Exit status 1 when there was any error or a worker's
memory grew (see MAX_GROWTH_*), 2 when wrk or the config file is missing.

Bounded: loopback only, fixed connections and durations; every server, each index made
for the run, and the OpenSearch node when this started it, are removed in a `finally`.
A full run (both backends, the default duration) replaces the "Load test (make
bench-load)" section of bench/RESULTS.md; shorter trial runs write bench/out/RESULTS-load.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

from bench import engine, mix, synth
from bench.common import (LOAD_SECTION, OUT, RESULTS, ROOT, app_environment, fmt_ms, replace_section,
                          wrk_summary)
from bench.search import Server, code_changes, code_files, code_fingerprint, git_state, machine_info

TRIAL_RESULTS = OUT / "RESULTS-load.md"
GAZETTEER = ROOT / "data" / "gazetteer"

# The production server: its config file (workers, preload, timeouts, recycling, logs,
# metrics) and the app it names; only the address is set here.
CONF = "deploy/gunicorn.conf.py"
APP_SPEC = "service.wsgi:app"

SIZE = 10_000
BACKENDS = ("sqlite", "engine")
DURATION_S = 120
# Each worker's first requests load the index's columns and fill caches; memory is read
# after this, so "before" is a worker in its working state.
WARMUP_S = 15
WRK_THREADS = 2
WRK_CONNECTIONS = 8
# wrk's default 2 s would count a slow answer queued behind busy workers as an error.
WRK_TIMEOUT_S = 10
# Worker memory is read this often during the run too: the config recycles workers after
# a few thousand requests, so a worker's highest reading before it goes is what counts.
SAMPLE_EVERY_S = 2.0
LUA_SCRIPT = "bench/load.lua"

# Its own node port and alias, so neither `make bench` (9261, linkage-bench) nor the
# engine tests (9201) are disturbed; cleanup touches only this run's indices (OURS). A
# node already up on that port (another load test's) is used and left running.
ENGINE_PORT = 9231
ALIAS = "linkage-loadtest"
# The listing indices EngineBackend.load makes, and the referral store's (prefix = alias).
OURS = re.compile(re.escape(ALIAS) + r"-(\d{20}|referrals|referral-outcomes|embed-keys)")

# The request list: its length and the share of each kind (quota, see mix.quota).
MIX_SEED = 20260601
MIX_SIZE = 400
SHARES = (("postcode", 34), ("filtered", 30), ("text", 10), ("listing", 18),
          ("handout_create", 5), ("handout_page", 3))
HANDOUT_CODES = 12
# A worker's memory is flat when it grew by at most this much from warm-up to the end.
MAX_GROWTH_MB = 20.0
MAX_GROWTH_SHARE = 0.10

FILTERS = (
    ("format", ("in_person", "online", "phone")),
    ("goal", ("abstinence", "moderation", "harm_reduction", "undecided")),
    ("approach", ("twelve_step", "self_management", "secular_peer", "clinical", "harm_reduction")),
    ("kind", ("group", "service", "helpline")),
    ("open_now", ("1",)),
    ("day", ("sat", "sun", "mon,tue", "wed")),
    ("starts_within", ("60", "180", "1440")),
    ("radius_km", ("5", "25", "100")),
)
TEXTS = ("smart", "narcotics anonymous", "counselling", "al-anon", "withdrawal", "alcohol",
         "meditation", "family")
SORTS = (("best", 60), ("distance", 25), ("soonest", 15))


# -- the request list -------------------------------------------------------------------


def postcodes(gazetteer_dir: Path) -> list[str]:
    """Every Australian postcode in the gazetteer."""
    lines = (gazetteer_dir / "au_postcodes.csv").read_text(encoding="utf-8").splitlines()[1:]
    return sorted({line.split(",", 1)[0] for line in lines if line})


def build_requests(listing_ids: list[str], codes: list[str], all_postcodes: list[str],
                   size: int = MIX_SIZE, seed: int = MIX_SEED) -> list[tuple[str, str, str, str]]:
    """(kind, method, path, JSON body or "") for each line of the request list, kinds in quota.

    Places: capital postcodes by population (as `bench.mix`) for most searches, any
    postcode of the gazetteer for the rest (country towns answer with few local
    listings). Searches carry the mix's fixed `at`, so a run is repeatable.
    """
    rng = random.Random(seed)
    kinds = mix.quota(SHARES, size)
    rng.shuffle(kinds)
    capitals = [near for near, weight in mix.PLACES for _ in range(weight)]

    def place() -> str:
        return rng.choice(capitals) if rng.random() < 0.6 else rng.choice(all_postcodes)

    def sort() -> list[tuple[str, str]]:
        chosen = rng.choices([s for s, _ in SORTS], [w for _, w in SORTS])[0]
        return [] if chosen == "best" else [("sort", chosen)]

    def search(params: list[tuple[str, str]]) -> tuple[str, str, str, str]:
        return (kind, "GET", "/v1/search?" + urlencode([*params, ("at", mix.AT)]), "")

    lines = []
    for kind in kinds:
        if kind == "postcode":
            lines.append(search([("near", place()), *sort()]))
        elif kind == "filtered":
            params = [("near", place())]
            for name, values in rng.sample(FILTERS, rng.choice((1, 1, 2, 3))):
                params.append((name, rng.choice(values)))
            if rng.random() < 0.15:
                params.append(("page", "2"))
            lines.append(search(params + sort()))
        elif kind == "text":
            lines.append(search([("near", place()), ("q", rng.choice(TEXTS)), *sort()]))
        elif kind == "listing":
            lines.append((kind, "GET", "/v1/listings/" + quote(rng.choice(listing_ids), safe=":"), ""))
        elif kind == "handout_create":
            chosen = rng.sample(listing_ids, rng.choice((2, 3)))
            lines.append((kind, "POST", "/v1/referrals", json.dumps({"listing_ids": chosen})))
        elif kind == "handout_page":
            lines.append((kind, "GET", "/r/" + rng.choice(codes), ""))
    return lines


def write_requests(path: Path, lines: list[tuple[str, str, str, str]]) -> None:
    """The request list as load.lua reads it: method, path, body, tab-separated."""
    path.write_text("".join("\t".join(line[1:]) + "\n" for line in lines), encoding="utf-8")


# -- the server -------------------------------------------------------------------------


class ProductionServer(Server):
    """gunicorn with the production config on 127.0.0.1 (bench.search.Server's lifecycle).

    Its output goes to a log file rather than a pipe: under load the access log is
    thousands of lines a second, and the file keeps them for a look after a failure.
    """

    # The config starts a worker per usable CPU, and one more (bench.search's server: two).
    READY_TIMEOUT_S = 90.0

    def __init__(self, env: dict[str, str], log_path: Path):
        super().__init__(APP_SPEC, env)
        # The config reads HOST and PORT; --bind says the same, and wins over the file.
        self.env.update(HOST="127.0.0.1", PORT=str(self.port))
        self.log_path = log_path

    def command(self) -> list[str]:
        """The gunicorn command line (the port is this server's free one)."""
        return [sys.executable, "-m", "gunicorn", "-c", CONF, "--bind", f"127.0.0.1:{self.port}", self.app_spec]

    def spawn(self, command: list[str]) -> subprocess.Popen:
        """Start `command`, its stdout and stderr appended to the log file."""
        with open(self.log_path, "ab") as log:
            return self.popen(command, stdout=log, stderr=subprocess.STDOUT)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines gunicorn and the app wrote."""
        return "\n".join(self.log_lines()[-lines:])

    def log_lines(self) -> list[str]:
        """Everything gunicorn and the app wrote so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []

    def send(self, method: str, path: str, body: str = "") -> tuple[int, bytes]:
        """(status, body) of one request."""
        data = body.encode("utf-8") if body else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def worker_pids(master: int) -> list[int]:
    """The master's child processes (its workers), from /proc."""
    try:
        text = Path(f"/proc/{master}/task/{master}/children").read_text()
        return sorted(int(pid) for pid in text.split())
    except OSError:
        pass
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command may hold spaces or parentheses: fields start after the last ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(entry.name))
    return sorted(children)


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def worker_memory(master: int) -> dict[int, float]:
    """{worker pid: RSS MB} right now."""
    found = {pid: rss_mb(pid) for pid in worker_pids(master)}
    return {pid: mb for pid, mb in found.items() if mb is not None}


class MemoryWatch:
    """Each worker's RSS, read every SAMPLE_EVERY_S in a thread while the load runs.

    `peak` keeps each worker's highest reading, so a worker the config recycles mid-run
    still counts (its very last reading may catch it freeing memory on the way out).
    """

    def __init__(self, master: int):
        self.master = master
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "MemoryWatch":
        self.read()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.read()

    def read(self) -> None:
        """One reading of every worker."""
        for pid, mb in worker_memory(self.master).items():
            self.peak[pid] = max(mb, self.peak.get(pid, 0.0))

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.read()


# -- wrk ---------------------------------------------------------------------------------


def wrk_command(port: int | str, duration_s: int, requests_file: str) -> list[str]:
    """The wrk command for one run over the request list."""
    return ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s}s", "--timeout",
            f"{WRK_TIMEOUT_S}s", "--latency", "-s", LUA_SCRIPT, f"http://127.0.0.1:{port}", "--",
            requests_file, str(WRK_THREADS)]


def run_wrk(port: int, duration_s: int, requests_file: Path) -> dict:
    """One wrk run; the JSON line load.lua's done() prints, plus rates and error totals."""
    result = wrk_summary(wrk_command(port, duration_s, str(requests_file)), "LOAD_JSON",
                         duration_s + WRK_TIMEOUT_S + 60)
    result["socket_errors"] = sum(result[k] for k in ("errors_connect", "errors_read", "errors_write"))
    # Counted from the status codes themselves: anything outside 2xx/3xx is an error.
    result["bad_status"] = sum(n for code, n in result["statuses"].items() if not 200 <= int(code) < 400)
    result["errors"] = result["bad_status"] + result["socket_errors"] + result["errors_timeout"]
    return result


# -- one backend -------------------------------------------------------------------------


def allowance(mb: float) -> float:
    """How much a worker of `mb` may grow and still count as flat."""
    return min(MAX_GROWTH_MB, MAX_GROWTH_SHARE * mb)


@dataclass
class Outcome:
    """What one backend's run measured."""

    backend: str
    workers: int
    run: dict
    before: dict[int, float]   # after the warm-up: {worker pid: RSS MB}
    peak: dict[int, float]     # each worker's highest reading, to the end of the run
    at_end: set[int]           # the workers alive at the end
    recycled: int              # workers the config's max_requests replaced during the run
    requests_by_kind: dict
    problems: list[str] = field(default_factory=list)

    def growth(self) -> list[tuple[int, float, float]]:
        """(pid, RSS after warm-up, peak RSS) for each worker there after the warm-up."""
        return [(pid, mb, self.peak.get(pid, mb)) for pid, mb in sorted(self.before.items())]

    def newcomers(self) -> list[float]:
        """Peak RSS of each worker started during the run (replacing a recycled one)."""
        return [mb for pid, mb in sorted(self.peak.items()) if pid not in self.before]

    def largest_growth(self) -> float:
        """The most any worker grew: over its own warm reading, or a newcomer over the largest."""
        ceiling = max(self.before.values(), default=0.0)
        return max([after - before for _, before, after in self.growth()]
                   + [mb - ceiling for mb in self.newcomers()], default=float("nan"))

    def flat(self) -> bool:
        """Every warmed worker stayed within its allowance, and no newcomer outgrew the
        largest warmed worker by more than that one's allowance."""
        ceiling = max(self.before.values(), default=0.0)
        return bool(self.before) and all(
            after - before <= allowance(before) for _, before, after in self.growth()
        ) and all(mb - ceiling <= allowance(ceiling) for mb in self.newcomers())


def prepare_sqlite(listings: list, folder: Path) -> dict[str, str]:
    """A SQLite index of the listings in `folder`; the server's environment for it."""
    from service.backends.sqlite.backend import SQLiteBackend

    path = folder / "listings.sqlite"
    report = SQLiteBackend(path).load(listings)
    if report.loaded != len(listings):
        raise RuntimeError(f"SQLite loaded {report.loaded} of {len(listings)} listings")
    return {"LINKAGE_BACKEND": "sqlite", "LINKAGE_SQLITE_PATH": str(path)}


def prepare_engine(listings: list, url: str) -> dict[str, str]:
    """The listings behind this run's alias on the node; the server's environment for it."""
    from service.backends.engine.backend import EngineBackend, make_transport

    report = EngineBackend(make_transport("opensearch", url), alias=ALIAS).load(listings)
    if report.loaded != len(listings):
        raise RuntimeError(f"engine loaded {report.loaded} of {len(listings)} listings: {report.failures[:3]}")
    return {"LINKAGE_BACKEND": "opensearch", "LINKAGE_SEARCH_URL": url, "LINKAGE_INDEX": ALIAS}


def run_backend(backend: str, backend_env: dict[str, str], folder: Path, listing_ids: list[str],
                all_postcodes: list[str], args) -> Outcome:
    """Serve, check every request of the list once, warm up, then load while reading memory."""
    env = {
        **app_environment(),  # the API rate limit raised out of the way (the limiter still runs)
        "LINKAGE_REFERRALS_PATH": str(folder / "referrals.sqlite"),
        "LINKAGE_SOURCES_DIR": str(folder / "sources"),
        "LINKAGE_GEOCODE_CACHE": str(folder / "geocode-cache.sqlite"),
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        **backend_env,
    }
    with ProductionServer(env, folder / "gunicorn.log") as server:
        # Handouts to show: made through the API, as a clinician would.
        codes = []
        for number in range(HANDOUT_CODES):
            chosen = random.Random(number).sample(listing_ids, 2)
            status, body = server.send("POST", "/v1/referrals", json.dumps({"listing_ids": chosen}))
            if status != 201:
                raise RuntimeError(f"POST /v1/referrals answered {status}: {body[:300]!r}")
            codes.append(json.loads(body)["code"])
        lines = build_requests(listing_ids, codes, all_postcodes)
        requests_file = folder / "requests.txt"
        write_requests(requests_file, lines)
        for _, method, path, body in dict.fromkeys(lines):
            status, answer = server.send(method, path, body)
            if status != (201 if method == "POST" else 200):
                raise RuntimeError(f"{method} {path} answered {status}: {answer[:300]!r}")
        print(f"{len(set(lines))} distinct requests of {len(lines)} each answered once; "
              f"warming up for {args.warmup} s", flush=True)
        run_wrk(server.port, args.warmup, requests_file)
        before = worker_memory(server.proc.pid)
        print(f"{len(before)} workers, RSS " + ", ".join(f"{mb:.0f}" for mb in before.values())
              + f" MB; wrk for {args.duration} s", flush=True)
        log_start = len(server.log_lines())
        with MemoryWatch(server.proc.pid) as watch:
            result = run_wrk(server.port, args.duration, requests_file)
        at_end = set(worker_pids(server.proc.pid))
        log = server.log_lines()[log_start:]
        problems = []
        if result["errors"]:
            problems.append(f"{backend}: {result['bad_status']} responses outside 2xx/3xx, "
                            f"{result['socket_errors']} socket errors, {result['errors_timeout']} timeouts")
            print(server.log_tail(), file=sys.stderr)
        killed = sum("WORKER TIMEOUT" in line for line in log)
        if killed:
            problems.append(f"{backend}: {killed} worker(s) killed for taking over the config's timeout")
    outcome = Outcome(backend, len(before), result, before, dict(watch.peak), at_end,
                      sum("Autorestarting worker" in line for line in log),
                      dict(collections.Counter(kind for kind, *_ in lines)), problems)
    if not outcome.flat():
        outcome.problems.append(f"{backend}: worker memory not flat ({memory_text(outcome)})")
    return outcome


# -- report ------------------------------------------------------------------------------

LABELS = {"sqlite": "SQLite", "engine": "OpenSearch"}


def _ms(us: float) -> str:
    return fmt_ms(us / 1000.0) + " ms"


def memory_text(outcome: Outcome) -> str:
    """"124 → 125 MB (+0.9); ..." per warmed worker (to its peak), then those started during the run."""
    parts = [f"{before:.0f} → {after:.0f} MB ({after - before:+.1f})"
             + ("" if pid in outcome.at_end else " until recycled") for pid, before, after in outcome.growth()]
    new = outcome.newcomers()
    if new:
        parts.append(f"{len(new)} started during the run, peak " + ", ".join(f"{mb:.0f}" for mb in new) + " MB")
    return "; ".join(parts) or "no worker readings"


def table(outcome: Outcome, cores: int) -> str:
    """The markdown table of one backend's run."""
    run = outcome.run
    statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(run["statuses"].items()))
    kinds = ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in outcome.requests_by_kind.items())
    return "\n".join([
        f"| {LABELS[outcome.backend]} | |",
        "|---|---|",
        f"| Requests in {run['duration_us'] / 1e6:.0f} s | {run['requests']:,} |",
        f"| Requests/s | **{run['rate']:,.1f}** ({run['rate'] / outcome.workers:,.1f} per worker, "
        f"{run['rate'] / cores:,.1f} per core; {outcome.workers} workers) |",
        f"| Latency p50 / p95 / p99 | **{_ms(run['p50_us'])} / {_ms(run['p95_us'])} / {_ms(run['p99_us'])}** |",
        f"| Latency p90 / p99.9 / max; mean | {_ms(run['p90_us'])} / {_ms(run['p999_us'])} / "
        f"{_ms(run['max_us'])}; {_ms(run['mean_us'])} |",
        f"| Errors: outside 2xx/3xx; socket (connect, read, write); timeouts | **{run['bad_status']}**; "
        f"{run['socket_errors']} ({run['errors_connect']}, {run['errors_read']}, {run['errors_write']}); "
        f"{run['errors_timeout']} |",
        f"| Status codes | {statuses} |",
        f"| Worker RSS after warm-up → peak | {memory_text(outcome)} |",
        f"| Workers recycled by the config's max_requests during the run | {outcome.recycled} |",
        f"| Memory flat (each worker +≤ {MAX_GROWTH_SHARE:.0%} and +≤ {MAX_GROWTH_MB:g} MB) | "
        f"**{'yes' if outcome.flat() else 'no'}** (largest growth {outcome.largest_growth():+.1f} MB) |",
        f"| Request list ({sum(outcome.requests_by_kind.values())} lines, cycled) | {kinds} |",
    ])


def sizing(outcomes: list[Outcome], cores: int, engine_on_host: bool) -> str:
    """A line of sizing advice from the measured rates."""
    parts = [f"{LABELS[o.backend]} {o.run['rate']:,.0f} req/s with {o.workers} workers on {cores} cores "
             f"({o.run['rate'] / cores:,.0f} per core, {o.run['rate'] / o.workers:,.0f} per worker) "
             f"at p99 {_ms(o.run['p99_us'])}" for o in outcomes]
    shared = "wrk" + (" (and, for OpenSearch, the node)" if engine_on_host else "")
    per_core = min(o.run["rate"] / cores for o in outcomes)
    largest = max(max(o.peak.values(), default=0.0) for o in outcomes)
    return ("Sizing: " + "; ".join(parts) + f". {shared} shared those cores, so these are floors. "
            f"Plan on about {per_core * 0.7:,.0f} req/s per core (70 % of the slower backend's rate, "
            "leaving room for bursts) with the config's default workers, and add cores "
            "or instances beyond that; memory is not what limits a worker "
            f"(at most {largest:.0f} MB RSS each, part of it shared with the preloaded master).")


def section(outcomes: list[Outcome], machine: dict, node: dict | None, args, started: datetime,
            elapsed_s: float, failures: list[str]) -> str:
    """The "Load test (make bench-load)" section of bench/RESULTS.md."""
    shares = collections.Counter(mix.quota(SHARES, MIX_SIZE))
    lines = [
        LOAD_SECTION,
        "",
        f"Written by `{args.command}` on {started:%Y-%m-%d %H:%M} UTC in {elapsed_s:.0f} s. "
        "Regenerate rather than edit.",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable)"
        + (f", {machine['memory']} RAM" if machine["memory"] else "") + f"; {machine['os']}; "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, gunicorn {machine['gunicorn']}, "
        f"{machine['wrk'] or 'wrk'}.",
        f"- Code: {machine['git']}; service/ + indexers/ fingerprint {machine['fingerprint']}"
        + (" (**changed during the run**)" if machine["code_changed"] else "") + ".",
        f"- Load average (1 min) at start / end: {machine['load_start']:.2f} / {machine['load_end']:.2f}.",
    ]
    if node:
        lines.append(f"- OpenSearch {node['version']}, one node "
                     + ("started with `deploy/search-engine/start` on this machine (sharing its cores)"
                        if node["started"] else "at `LINKAGE_SEARCH_URL` or already running")
                     + f"; listings and referrals under `{ALIAS}`.")
    lines += [
        f"- Server: `gunicorn -c {CONF} --bind 127.0.0.1:PORT {APP_SPEC}`, one per backend, over "
        f"{args.size:,} synthetic listings (`bench/synth.py`); referral store, logs and metrics in a "
        "temporary directory; `LINKAGE_API_RATE_LIMIT` raised out of the way (the limiter still runs).",
        f"- Load: {MIX_SIZE} requests (`build_requests` in `bench/load.py`, seed {MIX_SEED}), cycled: "
        + ", ".join(f"{kind.replace('_', ' ')} {100 * shares[kind] / MIX_SIZE:g} %" for kind, _ in SHARES)
        + f"; searches at `{mix.AT}`. Every distinct request answered once before a "
        f"{args.warmup} s warm-up, then `{shlex.join(wrk_command('PORT', args.duration, 'REQUESTS_FILE'))}`. "
        "wrk is closed-loop (each connection waits for its answer): latency is at this "
        "concurrency, not at a fixed arrival rate.",
        f"- Memory: VmRSS of each gunicorn worker after the warm-up, then every {SAMPLE_EVERY_S:g} s; "
        "a worker's peak is compared with its own reading after the warm-up, and the peak of one "
        "started during the run with the largest warmed worker.",
        "",
    ]
    for outcome in outcomes:
        lines += [table(outcome, machine["usable_cores"]), ""]
    if outcomes:
        lines += [sizing(outcomes, machine["usable_cores"], bool(node and node["started"])), ""]
    if failures:
        lines += ["Result: **failed**.", "", *[f"- {problem}" for problem in failures], ""]
    else:
        lines += ["Result: **passed**: 0 errors and flat worker memory on every backend.", ""]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------


def parse_backends(text: str) -> tuple[str, ...]:
    """`--backends engine,sqlite` -> ("sqlite", "engine"), in run order."""
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    if not chosen or chosen - set(BACKENDS):
        raise argparse.ArgumentTypeError(f"--backends takes {', '.join(BACKENDS)} (comma-separated)")
    return tuple(name for name in BACKENDS if name in chosen)


def main(argv: list[str] | None = None) -> int:
    """Run the load test; write its results section. Exit 1 on any error or memory growth."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", type=parse_backends, default=BACKENDS, metavar="NAMES",
                        help="sqlite, engine or both, comma-separated (default: both)")
    parser.add_argument("--duration", type=int, default=DURATION_S,
                        help="seconds of wrk per backend (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=WARMUP_S,
                        help="seconds of wrk before the first memory reading (default: %(default)s)")
    parser.add_argument("--size", type=int, default=SIZE, help="synthetic listings (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    args.command = shlex.join(["python", "-m", "bench.load", *(argv or [])])
    if not 1 <= args.duration <= 600 or not 1 <= args.warmup <= 120:
        parser.error("--duration must be 1 to 600 s and --warmup 1 to 120 s (the test is bounded)")
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `apt-get install wrk` (`make bench-load` does it).", file=sys.stderr)
        return 2
    if not (ROOT / CONF).exists():
        print(f"{CONF} is missing: the load test runs the production config only.", file=sys.stderr)
        return 2

    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    machine = machine_info()
    machine["load_start"] = os.getloadavg()[0]
    machine["git"] = git_state()
    machine["code_files"] = code_files()
    machine["fingerprint"] = code_fingerprint(machine["code_files"])
    engine.quiet_client_logs()
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores; backends: {', '.join(args.backends)}; "
          f"{args.duration} s each", flush=True)

    towns = synth.load_towns(GAZETTEER)
    listings = synth.listings(args.size, towns)
    listing_ids = [item.id for item in listings if item.status == "active"]
    all_postcodes = postcodes(GAZETTEER)
    outcomes: list[Outcome] = []
    failures: list[str] = []
    node_info = None
    with tempfile.TemporaryDirectory(prefix="linkage-load-") as scratch:
        for backend in args.backends:
            print(f"\n== {LABELS[backend]} ==", flush=True)
            folder = Path(scratch) / backend
            folder.mkdir()
            try:
                if backend == "sqlite":
                    outcome = run_backend(backend, prepare_sqlite(listings, folder), folder, listing_ids,
                                          all_postcodes, args)
                else:
                    with engine.Node(ENGINE_PORT, f"{ALIAS}-", OURS, shared=True) as node:
                        node_info = {"version": node.version, "started": node.started}
                        outcome = run_backend(backend, prepare_engine(listings, node.url), folder,
                                              listing_ids, all_postcodes, args)
            except Exception as exc:  # noqa: BLE001 - one broken backend must not lose the other
                traceback.print_exc()
                failures.append(f"{backend}: {type(exc).__name__}: {str(exc)[:500]}")
                continue
            outcomes.append(outcome)
            failures.extend(outcome.problems)
            print("\n" + table(outcome, machine["usable_cores"]), flush=True)

    elapsed = time.perf_counter() - started
    machine["load_end"] = os.getloadavg()[0]
    changes = code_changes(machine["code_files"])
    machine["code_changed"] = bool(changes)
    if changes:
        print(f"NOTE: service/ or indexers/ changed during the run: {', '.join(changes)}", file=sys.stderr)
    text = section(outcomes, machine, node_info, args, started_at, elapsed, failures)
    if outcomes:
        print("\n" + sizing(outcomes, machine["usable_cores"], bool(node_info and node_info["started"])))
    if not args.no_write:
        full = args.backends == BACKENDS and args.duration == DURATION_S and args.size == SIZE
        if full:
            # Only this section: the rest of the file is bench.search's.
            results = replace_section(RESULTS.read_text(encoding="utf-8"), LOAD_SECTION, text)
            RESULTS.write_text(results, encoding="utf-8")
            target = RESULTS
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            TRIAL_RESULTS.write_text(text, encoding="utf-8")
            target = TRIAL_RESULTS
        print(f"\nWrote {target.relative_to(ROOT)} ({elapsed:.0f} s in all).")
    for problem in failures:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
