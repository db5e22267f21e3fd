"""Import throughput: a synthetic Meeting Guide feed through `import_sources`, into SQLite and OpenSearch.

The feed (`bench.synth.meeting_guide_feed`: AA meetings placed by population, the spec's
fields only) is written to bench/out/ and imported the way `linkage index` does it:
`import_sources([SourceSpec(path, format="meeting-guide", ...)], backend, geocoder,
SourceCache(a temporary directory))` — fetch, parse, translate, stance defaults,
validation, dedupe, load, source cache; the feed is read on every core and a large
SQLite load's rows inserted by a process of their own, as `linkage index` does (see
`indexers.parallel` and `SQLiteBackend.load`). Every meeting has coordinates, so the
geocoder is never called. References, in the same run:

* SQLite — the raw SQLite copy of the very file the import wrote (its own schema, rows
  copied by INSERT ... SELECT: no Python per listing), the floor for writing that file;
* OpenSearch — the very `_bulk` bodies the import sent (the NDJSON `EngineBackend._bulk`
  built from `queries.document(listing)` for the validated listings, 500 a request),
  re-sent with a bare opensearch-py client into a scratch index made with the same
  settings and mappings, then refreshed: the node's own ingest rate, no Linkage code.

A smaller feed (the first PROFILE_MEETINGS meetings of the same generator) is imported
once more into each store under cProfile, for where the time goes.
"""

from __future__ import annotations

import collections
import cProfile
import json
import pstats
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import synth
from bench.common import OUT, RecordingTransport, cumulative_of, profile_rows, raw_bulk_copy
from bench.engine import bare_client, delete_ours, quiet_client_logs
from indexers.imports import SourceCache, SourceSpec, import_sources
from indexers.records import ReadOptions
from service.backends.engine.backend import BULK_CHUNK, EngineBackend, make_transport
from service.backends.sqlite.backend import SQLiteBackend

FEED_MEETINGS = 100_000
PROFILE_MEETINGS = 5_000
SOURCE_NAME = "bench-mg"
PROGRAM = "Alcoholics Anonymous"
IMPORT_ALIAS = "linkage-bench-import"
SCRATCH_PREFIX = "linkage-bench-rawbulk"

TARGET_SQLITE_RATE = 20_000
TARGET_ENGINE_SHARE = 0.80

# Where an import's time goes: (label, file the function is in, function), read from the
# profile's cumulative times. Stages nest as the indentation of the label says.
STAGES = (
    ("`import_sources`, whole", "indexers/imports.py", "import_sources"),
    ("fetch: read the feed file", "indexers/sources/__init__.py", "fetch"),
    ("parse the JSON (`_parse_feed`)", "indexers/sources/meeting_guide.py", "_parse_feed"),
    ("translate meetings (`meeting_guide._records`)", "indexers/sources/meeting_guide.py", "_records"),
    ("stance defaults (`pipeline.complete`)", "indexers/pipeline.py", "complete"),
    ("validate (`pipeline.validate` → `load_listing`, marshmallow)", "indexers/pipeline.py", "validate"),
    ("dedupe (`pipeline.dedupe`)", "indexers/pipeline.py", "dedupe"),
    ("`backend.load` (SQLite)", "service/backends/sqlite/backend.py", "load"),
    ("  rows per listing (`sqlite._RowBatch.add`)", "service/backends/sqlite/backend.py", "add"),
    ("`backend.load` (OpenSearch)", "service/backends/engine/backend.py", "load"),
    ("  documents (`queries.document`)", "service/backends/engine/queries.py", "document"),
    ("  requests to the node (`Transport.request`: client, HTTP, node)", "service/backends/engine/backend.py", "request"),
    ("source cache write (`SourceCache.save`)", "indexers/imports.py", "save"),
    ("`dump_listing` (marshmallow), all callers", "service/domain/schemas.py", "dump_listing"),
)


def feed_path(count: int) -> Path:
    """bench/out/meeting-guide-<count>.json"""
    return OUT / f"meeting-guide-{count // 1000}k.json"


def write_feed(count: int, towns: list) -> dict:
    """Generate and write a feed of `count` meetings; what it holds."""
    started = time.perf_counter()
    meetings = synth.meeting_guide_feed(count, towns)
    path = feed_path(count)
    path.write_text(json.dumps(meetings, ensure_ascii=False), encoding="utf-8")
    return {
        "path": path,
        "meetings": count,
        "generate_s": time.perf_counter() - started,
        "mb": path.stat().st_size / 1e6,
        "attendance": collections.Counter(m["attendance_option"] for m in meetings),
    }


def source_spec(path: Path) -> SourceSpec:
    """The feed as `linkage index --format meeting-guide --program "Alcoholics Anonymous"` reads it."""
    return SourceSpec(location=str(path), format="meeting-guide",
                      options=ReadOptions(source_name=SOURCE_NAME, program=PROGRAM))


class _TimedCache(SourceCache):
    """A SourceCache that adds up the time spent writing it."""

    def __init__(self, directory: Path):
        super().__init__(directory)
        self.save_s = 0.0

    def save(self, name, listings) -> None:
        started = time.perf_counter()
        super().save(name, listings)
        self.save_s += time.perf_counter() - started


@dataclass
class ImportRun:
    """One timed import."""

    seconds: float
    read: int
    loaded: int
    rejected: int
    warnings: int
    load_s: float          # inside backend.load
    cache_s: float         # inside SourceCache.save
    line: str
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Records read per second, the whole import."""
        return self.read / self.seconds


def run_import(path: Path, backend, geocoder, profiler: cProfile.Profile | None = None) -> ImportRun:
    """`import_sources` of one feed into `backend` with a fresh source cache; timed."""
    spent = {"load": 0.0}
    original = backend.load

    def timed_load(listings):
        started = time.perf_counter()
        try:
            return original(listings)
        finally:
            spent["load"] += time.perf_counter() - started

    backend.load = timed_load  # this instance only
    quiet_client_logs()
    with tempfile.TemporaryDirectory(prefix="linkage-bench-") as folder:
        cache = _TimedCache(Path(folder) / "sources")
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        summary = import_sources([source_spec(path)], backend, geocoder, cache)
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
    del backend.load
    outcome = summary.outcomes[0]
    problems = []
    if not summary.ok:
        problems.append(f"import not ok: {outcome.error or summary.load_error}")
    if outcome.rejected:
        problems.append(f"{outcome.rejected} meetings rejected, e.g. {summary.rejections[0]}")
    return ImportRun(seconds, outcome.read, outcome.loaded, outcome.rejected, len(summary.warnings),
                     spent["load"], cache.save_s, summary.line(), problems)


def sqlite_part(path: Path, meetings: int, geocoder) -> dict:
    """Import into a fresh SQLite file; then the raw copy of that file."""
    target = OUT / f"import-{meetings // 1000}k.sqlite"
    target.unlink(missing_ok=True)
    run = run_import(path, SQLiteBackend(target), geocoder)
    stored = SQLiteBackend(target).count()
    if stored != run.loaded:
        run.problems.append(f"SQLite holds {stored} listings, the import loaded {run.loaded}")
    raw_s = raw_bulk_copy(target, OUT / f"import-{meetings // 1000}k-rawcopy.sqlite")
    megabytes = target.stat().st_size / 1e6
    target.unlink()
    return {"run": run, "raw_s": raw_s, "mb": megabytes}


def engine_part(path: Path, geocoder, url: str) -> dict:
    """Import into a fresh alias on the node; then its own `_bulk` bodies, raw, into a scratch index."""
    recorder = RecordingTransport(make_transport("opensearch", url))
    backend = EngineBackend(recorder, alias=IMPORT_ALIAS)
    try:
        run = run_import(path, backend, geocoder)
        stored = backend.count()
        if stored != run.loaded:
            run.problems.append(f"the engine holds {stored} listings, the import loaded {run.loaded}")
        calls = recorder.take()
    finally:
        # The reference gets the node as the import found it: no bench index on it.
        delete_ours(url)
    # The requests an import into a fresh alias sends, in order: POST /<alias>/_search (the
    # source cache is empty, so `SourceCache.bootstrap` asks what the alias already serves;
    # with no alias yet that is one 404, then nothing), PUT /<index> (the creation, refresh
    # off), the POST /_bulk requests, then PUT /<index>/_settings (refresh and replicas back),
    # POST /<index>/_refresh, PUT /<index>/_mapping (marked finished), and the alias swap and
    # clean-up. The reference needs the creation (the only PUT on the index itself, one path
    # segment) and the bulk bodies.
    created = [(p, body) for method, p, body, _ in calls if method == "PUT" and p.count("/") == 1]
    bulks = [body for method, p, body, _ in calls if method == "POST" and p == "/_bulk"]
    if len(created) != 1 or not bulks:
        raise RuntimeError(f"unexpected requests from the engine import: {[c[:2] for c in calls][:10]}")
    index_path, index_body = created[0]
    raw = raw_bulk(url, index_path.lstrip("/"), index_body, bulks, run.loaded)
    return {"run": run, **raw}


def raw_bulk(url: str, index: str, index_body: dict, bulks: list[str], expected: int) -> dict:
    """Seconds to create a scratch index like `index`, send `bulks` to it and refresh it,
    with a bare client; the bodies are the import's own, their `_index` pointed at the scratch."""
    scratch = f"{SCRATCH_PREFIX}-{time.time_ns()}"
    old, new = f'"_index": "{index}"', f'"_index": "{scratch}"'
    bodies = [body.replace(old, new) for body in bulks]
    if sum(body.count(new) for body in bodies) != expected:
        raise RuntimeError("the recorded _bulk bodies do not hold one action per loaded listing")
    client = bare_client(url)
    headers = {"content-type": "application/x-ndjson"}
    errors = 0
    try:
        started = time.perf_counter()
        client.transport.perform_request("PUT", f"/{scratch}", body=index_body)
        for body in bodies:
            answer = client.transport.perform_request("POST", "/_bulk", body=body, headers=headers)
            errors += bool(answer.get("errors"))
        client.transport.perform_request("POST", f"/{scratch}/_refresh")
        seconds = time.perf_counter() - started
        count = client.transport.perform_request("GET", f"/{scratch}/_count")["count"]
    finally:
        delete_ours(url)
    if errors or count != expected:
        raise RuntimeError(f"raw bulk: {errors} requests with errors, {count} of {expected} documents")
    return {"raw_s": seconds, "raw_docs": count, "raw_requests": len(bodies),
            "raw_mb": sum(len(body.encode("utf-8")) for body in bodies) / 1e6}


def profile_imports(path: Path, geocoder, url: str | None) -> dict:
    """cProfile of the smaller feed's import into SQLite, and into the engine when there is one."""
    profiles = {}
    target = OUT / f"import-{PROFILE_MEETINGS // 1000}k-profile.sqlite"
    target.unlink(missing_ok=True)
    profiler = cProfile.Profile()
    run = run_import(path, SQLiteBackend(target), geocoder, profiler)
    target.unlink(missing_ok=True)
    profiles["sqlite"] = (run, pstats.Stats(profiler))
    if url:
        profiler = cProfile.Profile()
        try:
            run = run_import(path, EngineBackend(make_transport("opensearch", url), alias=IMPORT_ALIAS),
                             geocoder, profiler)
        finally:
            delete_ours(url)
        profiles["engine"] = (run, pstats.Stats(profiler))
    return profiles


# -- report -----------------------------------------------------------------------------


def table(feed: dict, sqlite: dict | None, engine: dict | None) -> str:
    """Each import beside its raw reference."""
    rows = ["| Measure | Linkage | Reference (same run) | Ratio |", "|---|---|---|---|"]
    if sqlite:
        run, raw_s = sqlite["run"], sqlite["raw_s"]
        n = run.loaded
        rows += [
            f"| Import into SQLite, `import_sources` (read, translate, validate, dedupe, load, "
            f"source cache) | {run.seconds:.1f} s (**{run.rate:,.0f} records/s**) | raw SQLite copy of "
            f"the file it wrote ({sqlite['mb']:.0f} MB): {raw_s:.2f} s ({n / raw_s:,.0f} listings/s) | "
            f"{run.rate / (n / raw_s):.1%} of the raw rate |",
            f"| … of which `SQLiteBackend.load` (sort, rows, R*Tree, FTS optimize, ANALYZE, swap) | "
            f"{run.load_s:.1f} s ({run.loaded / run.load_s:,.0f} listings/s) | the same raw copy | "
            f"{run.load_s / raw_s:.1f}× the raw time |",
        ]
    if engine:
        run, raw_s = engine["run"], engine["raw_s"]
        raw_rate = engine["raw_docs"] / raw_s
        rows += [
            f"| Import into OpenSearch, `import_sources` (the same steps) | {run.seconds:.1f} s "
            f"(**{run.rate:,.0f} records/s**) | raw `_bulk` of the same {engine['raw_requests']} NDJSON "
            f"bodies ({engine['raw_mb']:.0f} MB, {BULK_CHUNK} documents each) into a scratch index, "
            f"bare client: {raw_s:.1f} s ({raw_rate:,.0f} documents/s) | **{run.rate / raw_rate:.1%}** "
            f"of the raw rate |",
            f"| … of which `EngineBackend.load` (create index, documents, `_bulk`, refresh, alias) | "
            f"{run.load_s:.1f} s ({run.loaded / run.load_s:,.0f} listings/s) | the same raw `_bulk` | "
            f"{run.load_s / raw_s:.2f}× the raw time |",
        ]
    return "\n".join(rows)


def stage_table(profiles: dict) -> str:
    """Where an import's time goes, by stage, for each store profiled."""
    names = list(profiles)
    heading = "| Stage (cumulative, under cProfile) | " + " | ".join(
        f"{'SQLite' if name == 'sqlite' else 'OpenSearch'} import" for name in names) + " |"
    rows = [heading, "|---|" + "---|" * len(names)]
    totals = {name: cumulative_of(stats, "indexers/imports.py", "import_sources")
              for name, (_, stats) in profiles.items()}
    for label, suffix, function in STAGES:
        cells = []
        for name, (_, stats) in profiles.items():
            seconds = cumulative_of(stats, suffix, function)
            cells.append(f"{seconds:.2f} s ({seconds / totals[name]:.0%})" if seconds else "—")
        if all(cell == "—" for cell in cells):
            continue
        shown = label.replace("  ", "&nbsp;&nbsp;&nbsp;&nbsp;… ", 1) if label.startswith("  ") else label
        rows.append(f"| {shown} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def top_table(profiles: dict, limit: int = 12) -> str:
    """The functions with the most own time in each profile."""
    parts = []
    for name, (_, stats) in profiles.items():
        total = cumulative_of(stats, "indexers/imports.py", "import_sources")
        parts += [f"Top {limit} by own time, {'SQLite' if name == 'sqlite' else 'OpenSearch'} import:",
                  "", "| Function | Own time | Cumulative | Calls |", "|---|---|---|---|"]
        for label, own, cumulative, calls in profile_rows(stats, "tottime", limit):
            parts.append(f"| `{label}` | {own:.2f} s ({own / total:.0%}) | {cumulative:.2f} s | {calls:,} |")
        parts.append("")
    return "\n".join(parts)


def verdicts(sqlite: dict | None, engine: dict | None) -> list[str]:
    """The two import targets."""
    lines = []
    if sqlite:
        rate = sqlite["run"].rate
        met = rate >= TARGET_SQLITE_RATE
        lines.append(f"- Import ≥ {TARGET_SQLITE_RATE:,} records/s into SQLite: {rate:,.0f} records/s — "
                     f"**{'met' if met else 'not met'}**"
                     + ("." if met else f" ({TARGET_SQLITE_RATE / rate:.1f}× short)."))
    if engine:
        share = engine["run"].rate / (engine["raw_docs"] / engine["raw_s"])
        lines.append(f"- Import into OpenSearch ≥ {TARGET_ENGINE_SHARE:.0%} of the raw `_bulk` rate: "
                     f"{share:.1%} — **{'met' if share >= TARGET_ENGINE_SHARE else 'not met'}**.")
    return lines
