"""What every part of the benchmark shares: paths, the sections of bench/RESULTS.md,
wrk's summary line, percentiles, interleaved timing passes, the raw SQLite copy, profiles
and the engine's request log.

Nothing here measures anything by itself; `bench.search` (the driver), `bench.engine`,
`bench.imports` and `bench.load` do.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import io
import json
import pstats
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
# The commit the performance work of issue 19 started from: the side-by-side benchmarks
# (bench.render, bench.sqlite_search, bench.import_sides, bench.engine_sides, bench.pdf_render)
# run its code beside this tree's in one run.
BASE_COMMIT = "845ae42"


def base_tree(commit: str = BASE_COMMIT) -> Path:
    """The whole tree of `commit` under bench/out/ with its catalogues compiled (made once).

    An export (`git archive`) rather than a worktree: nothing is registered in the repository,
    and bench/out/ is ignored by git, so the working tree stays clean."""
    import sys

    tree = OUT / f"base-{commit}"
    done = tree / ".exported"
    if not done.exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        pybabel = Path(sys.executable).with_name("pybabel")
        subprocess.run([str(pybabel), "-q", "compile", "-d", "service/translations", "-D", "messages widget"],
                       cwd=tree, check=True)
        done.touch()
    return tree

# In-process timing: whole passes over the mix, at least one, more while the budget lasts.
MAX_ROUNDS = 30

# Settings every app the benchmark builds gets, where this version of the service has
# them. One client sends hundreds of searches a second from one address, so the API's
# rate limit is raised out of its way (the limiter still runs on every request); the
# referral store, which searches never touch, is kept out of var/. An app serving a SQLite
# index reads link checks beside it as a deployed one does (`link_checks_for`).
APP_SETTINGS = {
    "api_rate_limit": "1000000/second",
    "referrals_path": str(OUT / "bench-referrals.sqlite"),
}
# One listing in this many has its website confirmed dead in the benchmark's link checks.
DEAD_LINK_EVERY = 50


def link_checks_for(index: Path) -> Path:
    """The link-check file beside a benchmark index (`<index>.links.sqlite`, made once with
    the service's own `save_checks`): a deployment runs `linkage check-links` twice a week
    (deploy/systemd), and every search then reads the file for its page of ids, which a
    benchmark without one would leave out. Every listing's website is checked; one listing
    in DEAD_LINK_EVERY (by rid) has it confirmed dead, so a few pages of the mix show one."""
    path = index.with_name(index.stem + ".links.sqlite")
    if not path.exists() or path.stat().st_mtime < index.stat().st_mtime:
        from service.link_checks import LinkCheck, save_checks

        with sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT l.rid, l.id, d.doc FROM listings l JOIN docs d ON d.rid = l.rid ORDER BY l.rid")
            sites = [(rid, listing_id, (json.loads(doc).get("contact") or {}).get("website"))
                     for rid, listing_id, doc in rows]
        dead = ("dead", 404, "page not found (404)", "2026-11-20T03:00:00+00:00")
        working = ("ok", 200, "working (200)", None)
        save_checks(path, (LinkCheck(url, (listing_id,), *(dead if rid % DEAD_LINK_EVERY == 0 else working),
                                     "2026-11-27T03:00:00+00:00")
                           for rid, listing_id, url in sites if url))
    return path


def app_config(**values) -> dict:
    """A settings mapping for `create_app`: APP_SETTINGS, then `values`, keeping only the
    settings this service knows (the base commit's side of bench.sides knows fewer); with
    a `sqlite_path`, the link checks beside it (`link_checks_for`)."""
    from service.settings import Settings

    known = {f.name for f in dataclasses.fields(Settings)}
    if "sqlite_path" in values and "link_checks_path" not in values and Path(values["sqlite_path"]).exists():
        values["link_checks_path"] = str(link_checks_for(Path(values["sqlite_path"])))
    return {k: v for k, v in {**APP_SETTINGS, **values}.items() if k in known}


def app_environment(index: Path | None = None) -> dict[str, str]:
    """APP_SETTINGS as LINKAGE_* variables, for servers started in another process; with
    an `index`, the SQLite index to serve and the link checks beside it."""
    served = {"sqlite_path": str(index), "link_checks_path": str(link_checks_for(index))} if index else {}
    return {f"LINKAGE_{name.upper()}": value for name, value in {**APP_SETTINGS, **served}.items()}


class TreeWorker:
    """A script of this checkout run in a subprocess on a tree's code (PYTHONPATH and working
    folder: the base commit's export, or this checkout): one JSON line in, one out."""

    def __init__(self, tree: Path, script: str, *args: str):
        import os
        import sys

        self.proc = subprocess.Popen([sys.executable, script, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=tree,
                                     env={**os.environ, "PYTHONPATH": str(tree)})

    def ask(self, message):
        """Send one message; the worker's JSON reply."""
        import json

        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a worker process ended")
        return json.loads(line)

    def close(self, timeout_s: float = 60) -> None:
        """End the worker."""
        self.proc.stdin.close()
        self.proc.wait(timeout=timeout_s)


def served_app():
    """`create_app()` warmed as `linkage serve`'s preloading master warms it before forking
    (service.gunicorn_conf.pre_fork): the app spec gunicorn serves in the benchmark.

    Without it each worker reads the index's columns on its first request; at a million
    listings that takes longer than gunicorn's 30 s worker timeout on two shared cores, and
    the worker is killed mid-request (the client sees the connection dropped)."""
    from service import create_app, warm_up

    app = create_app()
    warm_up(app)
    return app


# -- bench/RESULTS.md -------------------------------------------------------------------

RESULTS = ROOT / "bench" / "RESULTS.md"
# `make bench-load` (bench.load) writes this section and `make bench` (bench.search) all
# the rest; each keeps what the other wrote.
LOAD_SECTION = "## Load test (make bench-load)"
# Written by `make bench-wire` (bench.wire), kept by the other two.
WIRE_SECTION = "## Bytes on the wire (make bench-wire)"
# Written by bench.sides (the end of `make bench`, or `make bench-sides`), kept by the others.
SIDES_SECTION = "## Beside the base commit (make bench-sides)"


def _section_span(lines: list[str], heading: str) -> tuple[int, int] | None:
    """(first, end) of the lines from `heading` to the next level-2 heading, or None."""
    try:
        start = lines.index(heading)
    except ValueError:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def section_of(text: str, heading: str) -> str | None:
    """The section of markdown `text` under the level-2 `heading` (to the next one), or None."""
    lines = text.splitlines()
    span = _section_span(lines, heading)
    return "\n".join(lines[span[0]:span[1]]).rstrip("\n") if span else None


def replace_section(text: str, heading: str, new: str) -> str:
    """`text` with its section under `heading` replaced by `new` (which starts with that
    heading), or with `new` appended; everything else as it was."""
    lines = text.splitlines()
    span = _section_span(lines, heading)
    if span is None:
        return (text.rstrip("\n") + "\n\n" if text.strip() else "") + new.rstrip("\n") + "\n"
    rest = lines[span[1]:]
    return "\n".join(lines[:span[0]] + new.rstrip("\n").splitlines() + ([""] + rest if rest else [])) + "\n"


# -- wrk ---------------------------------------------------------------------------------


def wrk_summary(command: list[str], tag: str, timeout_s: float) -> dict:
    """Run wrk in ROOT; the JSON its script printed after `tag` (see bench/wrk_report.lua),
    plus "rate" in requests per second."""
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
                         stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    line = next((l for l in run.stdout.splitlines() if l.startswith(tag + " ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no {tag} line:\n{run.stdout}\n{run.stderr}")
    result = json.loads(line.removeprefix(tag + " "))
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


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


def request_timer(client):
    """A runner timing one whole request through the Flask test client (must answer 200)."""

    def request_one(url):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    return request_one


def forget_places(backend) -> None:
    """Empty the SQLite backend's remembered place rows (`SQLiteBackend._area`), so its next
    search near a place finds them anew, as one near a place it has not seen does."""
    with backend._reading() as index:
        with index.lock:
            index.area_cache.clear()


def search_timer(backend, queries: dict, new_places: bool = False):
    """A runner timing `backend.search` plus `scoring.rank_hits` for a pre-parsed query;
    with `new_places`, each search's place is forgotten first (outside the time)."""
    from service.search import scoring

    def search_one(url):
        query = queries[url]
        if new_places:
            forget_places(backend)
        started = time.perf_counter()
        scoring.rank_hits(backend.search(query).hits, query)
        return time.perf_counter() - started

    return search_one


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted values, interpolating between neighbours."""
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: list[float]) -> float:
    """The 50th percentile of unsorted values."""
    return percentile(sorted(values), 50)


def fmt_ms(value: float) -> str:
    """Milliseconds with sensible precision."""
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def rate(count: int, seconds: float) -> str:
    """"12,345/s"."""
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "n/a"


# -- interleaved passes -----------------------------------------------------------------


def interleaved_rounds(urls: list[str], runners: dict, budget_s: float) -> tuple[dict, int]:
    """Time every runner on every URL of the mix, in whole passes; ms samples per runner and URL.

    The runners take turns on each URL, so a noisy moment on a shared machine hits all
    of them alike; who goes first rotates (by URL and pass), because the first to touch a
    URL's pages pays for bringing them into the CPU, SQLite and engine caches. At least
    one pass; more while the budget (per runner) lasts, up to MAX_ROUNDS.
    """
    names = list(runners)
    samples = {name: collections.defaultdict(list) for name in names}
    started = time.perf_counter()
    rounds = 0
    while rounds < MAX_ROUNDS and (rounds == 0 or time.perf_counter() - started < budget_s * len(names)):
        for i, url in enumerate(urls):
            shift = (i + rounds) % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name][i].append(runners[name](url) * 1000.0)
        rounds += 1
    return samples, rounds


def per_query_ratios(samples: dict, top: str, bottom: str) -> list[float]:
    """For each position of the mix, median(top) / median(bottom) over its passes."""
    return [median(samples[top][i]) / median(samples[bottom][i]) for i in sorted(samples[top])]


# -- the raw SQLite copy ----------------------------------------------------------------


def raw_bulk_copy(source: Path, target: Path) -> float:
    """Seconds to write the same rows into a fresh file of the same schema, in SQLite only.

    The reference for a load: the source file's own CREATE statements (tables, R*Tree and
    FTS5 tables, indexes, in creation order), the same pragmas, every row copied by
    INSERT ... SELECT from the file just built, then the same FTS optimize and ANALYZE.
    No Python runs per listing, so this is the floor for writing that file. Read from the
    file rather than from the backend's code, it follows the schema wherever it goes.
    The copy is deleted afterwards.
    """
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    conn = sqlite3.connect(target)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        kinds = {name: kind for _, name, kind, *_ in conn.execute("PRAGMA src.table_list")}
        creates = conn.execute(
            "SELECT type, name, sql FROM src.sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid").fetchall()
        copied = []
        for kind, name, sql in creates:
            if kind == "table" and kinds.get(name) == "shadow":
                continue  # made by its virtual table's CREATE
            conn.execute(sql)
            if kind == "table":
                copied.append((name, kinds.get(name), sql))
        fts = []
        for name, kind, sql in copied:
            if kind == "virtual" and "fts5" in sql.lower():
                columns = [row[1] for row in conn.execute(f'PRAGMA src.table_info("{name}")')]
                names = ", ".join(f'"{c}"' for c in columns)
                conn.execute(f'INSERT INTO main."{name}"(rowid, {names}) '
                             f'SELECT rowid, {names} FROM src."{name}" ORDER BY rowid')
                fts.append(name)
            else:
                conn.execute(f'INSERT INTO main."{name}" SELECT * FROM src."{name}"')
        for name in fts:
            conn.execute(f'INSERT INTO main."{name}"("{name}") VALUES (\'optimize\')')
        conn.commit()
        conn.execute("ANALYZE main")
        conn.commit()
        for name, _, _ in copied:
            here = conn.execute(f'SELECT COUNT(*) FROM main."{name}"').fetchone()[0]
            there = conn.execute(f'SELECT COUNT(*) FROM src."{name}"').fetchone()[0]
            if here != there:
                raise AssertionError(f"raw copy of {name}: {here} rows, source has {there}")
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    target.unlink(missing_ok=True)
    return elapsed


# -- the engine's request log -----------------------------------------------------------


class RecordingTransport:
    """A `service.backends.engine.backend.Transport` that remembers every request sent through it.

    Each entry is (method, path, body, params) exactly as the backend passed them (bodies
    copied, so nothing the backend does afterwards can change them), for replaying the
    same requests through a bare client.
    """

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[tuple] = []

    def request(self, method, path, body=None, params=None, **options):
        """Record, then send through the wrapped transport."""
        self.calls.append((method, path, copy.deepcopy(body), dict(params) if params else None))
        return self.inner.request(method, path, body, params, **options)

    def take(self) -> list[tuple]:
        """The requests recorded so far, forgetting them."""
        calls, self.calls = self.calls, []
        return calls


# -- profiles ---------------------------------------------------------------------------


def short_place(filename: str) -> str:
    """A profile entry's file without machine paths: from the package on, or repo-relative."""
    for marker in ("/site-packages/", "/lib/python3.11/", "/lib/python3.12/", "/lib/python3.13/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if filename.startswith(str(ROOT) + "/"):
        return filename[len(str(ROOT)) + 1:]
    return filename.rsplit("/", 1)[-1] if "/" in filename else filename


def profile_rows(stats: pstats.Stats, sort: str, limit: int) -> list[tuple[str, float, float, int]]:
    """(function, own s, cumulative s, calls) of the top `limit` entries by `sort`."""
    entries = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        label = f"{short_place(filename)}:{line}({name})" if filename != "~" else name
        entries.append((label, own, cumulative, calls))
    key = {"tottime": 1, "cumulative": 2}[sort]
    entries.sort(key=lambda entry: -entry[key])
    return entries[:limit]


def cumulative_of(stats: pstats.Stats, file_suffix: str, function: str) -> float:
    """Cumulative seconds of one function (file ending in `file_suffix`), 0 when never called."""
    total = 0.0
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        if name == function and filename.endswith(file_suffix):
            total = max(total, cumulative)
    return total


def profile_text(stats: pstats.Stats, sort: str, limit: int) -> str:
    """pstats' own listing (for the terminal), machine paths included."""
    stream = io.StringIO()
    stats.stream = stream
    stats.sort_stats(sort).print_stats(limit)
    return stream.getvalue()
