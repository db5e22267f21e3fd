"""Import into SQLite, the base commit's code beside this tree's, taking turns in one run.

The same synthetic Meeting Guide feed (`bench.imports.write_feed`, 100,000 meetings by
default) is imported with `import_sources` into a fresh SQLite file and a fresh source
cache, once by the code of BASE_COMMIT (exported with `git archive`
under bench/out/) and once by this tree's, alternately, each in its own subprocess with its own
PYTHONPATH. Reported: records/s of each (best and median of the rounds), their ratio, the
raw SQLite copy of the file written (`bench.common.raw_bulk_copy`, the floor for writing
it), and whether the two index files are identical table by table, row by row (every
table but FTS5's internal ones, `meta.built_at` aside) and the two import reports
identical (counts, warnings, rejections).

Run: `python -m bench.import_sides [--meetings N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BASE_COMMIT, OUT, ROOT, base_tree, raw_bulk_copy

MEETINGS = 100_000
ROUNDS = 3

# What each side runs: only names both versions have (import_sources and its arguments).
# It writes the import's report as JSON to the path given.
_CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
from indexers.imports import SourceCache, SourceSpec, import_sources
from indexers.records import ReadOptions
from service.backends.sqlite.backend import SQLiteBackend

feed, target, out = sys.argv[1:4]
Path(target).unlink(missing_ok=True)
spec = SourceSpec(location=feed, format="meeting-guide",
                  options=ReadOptions(source_name="bench-mg", program="Alcoholics Anonymous"))
with tempfile.TemporaryDirectory(prefix="linkage-sides-") as folder:
    started = time.perf_counter()
    summary = import_sources([spec], SQLiteBackend(target), None, SourceCache(Path(folder) / "sources"))
    seconds = time.perf_counter() - started
    # Again, as a daily refresh does: the source cache now holds the feed's last import.
    started = time.perf_counter()
    again = import_sources([spec], SQLiteBackend(target), None, SourceCache(Path(folder) / "sources"))
    again_seconds = time.perf_counter() - started
report = {
    "seconds": seconds,
    "again_seconds": again_seconds,
    "again_line": again.line(),
    "line": summary.line(),
    "ok": summary.ok,
    "merged": summary.merged,
    "outcomes": [vars(o) for o in summary.outcomes],
    "rejections": [r.as_json() for r in summary.rejections],
    "warnings": [w.as_json() for w in summary.warnings],
}
Path(out).write_text(json.dumps(report), encoding="utf-8")
"""


def feed(meetings: int) -> Path:
    """The feed file, generated once."""
    from bench import synth
    from bench.imports import feed_path, write_feed

    path = feed_path(meetings)
    if not path.exists():
        write_feed(meetings, synth.load_towns(ROOT / "data" / "gazetteer"))
    return path


def run_side(tree: Path, feed_file: Path, target: Path) -> dict:
    """One import by the code in `tree`, in a subprocess; its report."""
    out = target.with_suffix(".report.json")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", _CHILD, str(feed_file), str(target), str(out)],
                   cwd=tree, env=env, check=True)
    report = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return report


def _tables(conn: sqlite3.Connection) -> list[str]:
    """Tables to compare: ordinary and virtual ones and sqlite_stat1, not FTS5's shadow tables
    (their segments depend on how the rows were batched, not on what the index holds)."""
    kinds = {name: kind for _, name, kind, *_ in conn.execute("PRAGMA main.table_list")}
    return sorted(name for name, kind in kinds.items()
                  if kind != "shadow" and (not name.startswith("sqlite_") or name == "sqlite_stat1"))


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """A table's column names, in order."""
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def layout_differences(first: Path, second: Path) -> list[str]:
    """How the second index file's layout differs from the first's: columns only one of
    them has, and the index format each records (a new format may add a column; the rows
    are still compared in the columns both have)."""
    notes = []
    a, b = sqlite3.connect(first), sqlite3.connect(second)
    try:
        for table in sorted(set(_tables(a)) & set(_tables(b))):
            columns_a, columns_b = _columns(a, table), _columns(b, table)
            notes += [f"{table}.{c} only in the base's" for c in columns_a if c not in columns_b]
            notes += [f"{table}.{c} only in this tree's" for c in columns_b if c not in columns_a]
        formats = [conn.execute("PRAGMA user_version").fetchone()[0] for conn in (a, b)]
        if formats[0] != formats[1]:
            notes.append(f"index format {formats[0]} vs {formats[1]}")
    finally:
        a.close()
        b.close()
    return notes


def compare_indexes(first: Path, second: Path) -> list[str]:
    """Differences between two index files, table by table, row by row, in the columns both
    have (empty when identical; `layout_differences` says what else differs)."""
    differences = []
    a, b = sqlite3.connect(first), sqlite3.connect(second)
    try:
        if _tables(a) != _tables(b):
            return [f"tables differ: {_tables(a)} vs {_tables(b)}"]
        for table in _tables(a):
            shared = ", ".join(f'"{c}"' for c in _columns(a, table) if c in _columns(b, table))
            keyed = table in ("docs", "fts", "sessions", "listings", "geo")
            columns = f"rowid, {shared}" if keyed else shared
            order = "ORDER BY rowid" if keyed else "ORDER BY 1, 2"
            rows_a = a.execute(f"SELECT {columns} FROM {table} {order}").fetchall()
            rows_b = b.execute(f"SELECT {columns} FROM {table} {order}").fetchall()
            if table == "meta":  # the build time differs by construction
                rows_a = [r for r in rows_a if r[0] != "built_at"]
                rows_b = [r for r in rows_b if r[0] != "built_at"]
            if rows_a != rows_b:
                first_diff = next((i for i, (x, y) in enumerate(zip(rows_a, rows_b)) if x != y),
                                  min(len(rows_a), len(rows_b)))
                differences.append(f"{table}: {len(rows_a)} vs {len(rows_b)} rows, first difference at row {first_diff}")
    finally:
        a.close()
        b.close()
    return differences


def same_report(first: dict, second: dict) -> list[str]:
    """Differences between two import reports, timing aside."""
    return [key for key in ("line", "ok", "merged", "outcomes", "rejections", "warnings")
            if first[key] != second[key]]


def measure(meetings: int = MEETINGS, rounds: int = ROUNDS, base: str = BASE_COMMIT) -> dict:
    """Take turns: base, this tree, base, this tree, ...; then compare the last files written."""
    feed_file = feed(meetings)
    trees = {"base": base_tree(base), "new": ROOT}
    targets = {side: OUT / f"sides-{side}-{meetings // 1000}k.sqlite" for side in trees}
    runs: dict[str, list[dict]] = {side: [] for side in trees}
    started = time.perf_counter()
    for round_number in range(rounds):
        order = ("base", "new") if round_number % 2 == 0 else ("new", "base")
        for side in order:
            runs[side].append(run_side(trees[side], feed_file, targets[side]))
    index_differences = compare_indexes(targets["base"], targets["new"])
    index_layout = layout_differences(targets["base"], targets["new"])
    report_differences = same_report(runs["base"][-1], runs["new"][-1])
    raw_s = raw_bulk_copy(targets["new"], OUT / f"sides-rawcopy-{meetings // 1000}k.sqlite")
    result = {
        "meetings": meetings, "rounds": rounds, "feed_mb": feed_file.stat().st_size / 1e6,
        "base": base,
        "seconds": {side: [run["seconds"] for run in side_runs] for side, side_runs in runs.items()},
        "again_seconds": {side: [run["again_seconds"] for run in side_runs] for side, side_runs in runs.items()},
        "again_line": runs["new"][-1]["again_line"],
        "line": runs["new"][-1]["line"], "raw_s": raw_s, "index_mb": targets["new"].stat().st_size / 1e6,
        "index_differences": index_differences, "index_layout": index_layout,
        "report_differences": report_differences,
        "wall_s": time.perf_counter() - started,
    }
    for target in targets.values():
        target.unlink(missing_ok=True)
    return result


def markdown(result: dict) -> str:
    """The Markdown section for RESULTS.md."""
    n = result["meetings"]
    rate = {side: (n / min(s), n / statistics.median(s)) for side, s in result["seconds"].items()}
    again = {side: (n / min(s), n / statistics.median(s)) for side, s in result["again_seconds"].items()}
    raw_rate = n / result["raw_s"]
    same_index = "identical" if not result["index_differences"] else "DIFFERENT: " + "; ".join(result["index_differences"])
    if result.get("index_layout"):
        same_index += " in the columns both have (layout: " + "; ".join(result["index_layout"]) + ")"
    same = "identical" if not result["report_differences"] else "DIFFERENT: " + ", ".join(result["report_differences"])
    return "\n".join([
        f"## Import into SQLite: base {result['base']} beside this tree ({n:,} Meeting Guide meetings)",
        "",
        f"`python -m bench.import_sides`: the same feed ({result['feed_mb']:.0f} MB) imported by each "
        f"side in its own subprocess, {result['rounds']} rounds taking turns, fresh target and source cache "
        f"each time, then imported again into the same target and cache, as a daily refresh does "
        f"({result['wall_s']:.0f} s in all). {os.cpu_count()} cores; this tree reads a feed this large "
        "on every core (`indexers.parallel`).",
        "",
        "| Side | Best | Median | Seconds per round |",
        "|---|---|---|---|",
        *(f"| {side} | {rate[side][0]:,.0f} records/s | {rate[side][1]:,.0f} records/s | "
          f"{', '.join(f'{s:.2f}' for s in result['seconds'][side])} |" for side in ("base", "new")),
        f"| ratio new / base | {rate['new'][0] / rate['base'][0]:.2f}× | {rate['new'][1] / rate['base'][1]:.2f}× | |",
        *(f"| {side}, again (the cache holding the last import) | {again[side][0]:,.0f} records/s | "
          f"{again[side][1]:,.0f} records/s | {', '.join(f'{s:.2f}' for s in result['again_seconds'][side])} |"
          for side in ("base", "new")),
        f"| ratio new / base, again | {again['new'][0] / again['base'][0]:.2f}× | "
        f"{again['new'][1] / again['base'][1]:.2f}× | |",
        f"| raw SQLite copy of the file written ({result['index_mb']:.0f} MB) | {raw_rate:,.0f} rows/s | | "
        f"{result['raw_s']:.2f} |",
        "",
        f"- Import: {result['line']}; again: {result['again_line']}.",
        f"- Index files, table by table, row by row: {same_index}.",
        f"- Import reports (counts, warnings, rejections): {same}.",
        "",
    ])


def main() -> None:
    """Measure and print the Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=MEETINGS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--base", default=BASE_COMMIT, help="the commit to compare with (default %(default)s)")
    args = parser.parse_args()
    print(markdown(measure(args.meetings, args.rounds, args.base)))


if __name__ == "__main__":
    main()
