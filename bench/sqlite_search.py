"""SQLite search in-process beside its own SQLite statements, and beside the search of a base
commit: `python -m bench.sqlite_search`.

One run, on one index (the 100k synthetic listings of `bench.synth`, as `make bench` builds
them), three runners take turns on every URL of the query mix (`bench.mix`,
`bench.common.interleaved_rounds`):

* search — `backend.search(query)` + `scoring.rank_hits` with this checkout's code;
* sqlite — the exact SQL statements that search ran, replayed on its own connection and
  fetching the same rows (`bench.search.record_statements` / `replay`): SQLite's share;
* base   — the same search with the code of a base commit (default 845ae42), checked out
  exported under bench/out/ (bench.common.base_tree) and run in a subprocess on the same index file,
  timing itself; the parent only passes URLs. Skipped with --no-base.

Then the two searches (this code's and the base's) take turns again at a moment in the week
when Sydney's clocks go forward (CLOCK_CHANGE_AT), over the mix and searches with time
filters: there every bound in the zones that change is inexact and zoneinfo settles it.

Before timing, every URL of the mix, and variants of them (other pages, sorts, time
filters, audiences, moments around clock changes), is searched by both codes, and their
results compared field by field (totals, facets, the page's listings and documents,
distances, text scores, next sessions, open-now flags, reasons): any difference is a
failed check (exit 1).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

try:
    from bench.common import BASE_COMMIT, TreeWorker, base_tree
except ImportError:  # this file run as the base commit's side, whose bench.common predates them
    BASE_COMMIT = TreeWorker = base_tree = None

ROOT = Path(__file__).resolve().parent.parent

SIZE = 100_000
LAYER_BUDGET_S = 4.0
# Query-string changes applied to mix URLs for the identity check (not timed).
CHECK_VARIANTS = (
    {},
    {"page": "2"},
    {"page": "4", "per_page": "50"},
    {"sort": "soonest"},
    {"sort": "soonest", "page": "3"},
    {"open_now": "true"},
    {"starts_within": "90"},
    {"starts_within": "30", "sort": "soonest"},
    {"time": "evening"},
    {"time": "morning", "day": "sat"},
    {"tonight": "true", "sort": "soonest"},
    {"audience": "women"},
    {"audience": "young_people", "sort": "soonest"},
    {"substance": "alcohol"},
    {"language": "vi"},
    {"radius_km": "300"},
    {"radius_km": "2", "sort": "distance"},
)
# Moments for the identity check besides the mix's own: the night Sydney's clocks go back
# and the evening before they go forward (2026), and a Sunday morning in Perth.
CHECK_MOMENTS = ("2026-04-05T01:30:00+11:00", "2026-10-03T22:00:00+10:00", "2026-07-12T08:59:30+08:00")
# Mix URLs that get every variant and moment (the rest are checked as they are).
CHECK_EXPANDED = 12
# Searches without a place, which scan every listing.
CHECK_EXTRA = (
    {"sort": "soonest"},
    {"goal": "moderation", "sort": "soonest", "page": "2"},
    {"q": "smart"},
    {"open_now": "true", "format": "online"},
    {"kind": "helpline"},
)
# A Thursday noon in the week Sydney's clocks go forward (Sunday 4 October 2026), when every
# wall-clock bound in the zones that change is only a bound.
CLOCK_CHANGE_AT = "2026-10-01T12:00:00+10:00"
# Timed at that moment besides the mix's URLs, with no place and near the two largest cities.
CLOCK_CHANGE_EXTRA = (
    {"open_now": "true"},
    {"starts_within": "60"},
    {"open_now": "true", "sort": "soonest"},
    {"kind": "service", "sort": "soonest"},
)


def clock_change_urls(mix_urls: list[str]) -> list[str]:
    """The mix's distinct URLs at CLOCK_CHANGE_AT, then CLOCK_CHANGE_EXTRA's searches."""
    from bench import mix

    urls = ["/v1/search?" + urlencode({**mix.url_args(url), "at": CLOCK_CHANGE_AT})
            for url in dict.fromkeys(mix_urls)]
    for extra in CLOCK_CHANGE_EXTRA:
        for near in ({}, {"near": "2000"}, {"near": "3000"}):
            urls.append("/v1/search?" + urlencode({**extra, **near, "at": CLOCK_CHANGE_AT}))
    return urls


def clock_change_class(url: str) -> str:
    """A label for a clock-change search: its time filter, or services by soonest, or the mix's class."""
    from bench import mix

    args = mix.url_args(url)
    if "open_now" in args:
        return "open now" + (", soonest" if args.get("sort") == "soonest" else "")
    if "starts_within" in args:
        return "starts within 60"
    if args.get("kind") == "service" and args.get("sort") == "soonest":
        return "services, soonest"
    return mix.url_class(url)


def check_urls(mix_urls: list[str]) -> list[str]:
    """The URLs whose results must be identical old vs new: the mix, then variants."""
    from bench import mix

    urls = list(dict.fromkeys(mix_urls))
    for url in list(urls)[:CHECK_EXPANDED]:
        args = mix.url_args(url)
        for moment in (mix.AT, *CHECK_MOMENTS):
            for variant in CHECK_VARIANTS:
                urls.append("/v1/search?" + urlencode({**args, **variant, "at": moment}))
    for extra in CHECK_EXTRA:
        for moment in (mix.AT, *CHECK_MOMENTS):
            urls.append("/v1/search?" + urlencode({**extra, "at": moment}))
    return list(dict.fromkeys(urls))


def _occurrence(occ) -> list:
    return [occ.start.isoformat(), occ.end.isoformat(), str(occ.start.tzinfo), str(occ.end.tzinfo),
            occ.start.fold, occ.end.fold, occ.in_progress]


def fingerprint(matches, ranked) -> dict:
    """Everything a search answers, as JSON-ready data (floats by repr, so exactly)."""
    return {
        "total": matches.total,
        "facets": matches.facets,
        "hits": [
            {
                "id": hit.listing.id,
                "listing": hashlib.sha256(repr(hit.listing).encode()).hexdigest()[:16],
                "document": hashlib.sha256(json.dumps(hit.document, sort_keys=True).encode()).hexdigest()[:16],
                "distance": repr(hit.distance_km),
                "ranked_distance": repr(one.distance_km),
                "text": repr(hit.text_score),
                "next": [_occurrence(occ) for occ in one.next_sessions],
                "open_now": one.open_now,
                "why": repr(one.why),
                "for_everyone": one.for_everyone,
            }
            for hit, one in zip(matches.hits, ranked)
        ],
    }


def _search_context(index: Path):
    """(backend, parse(url) -> query) for this process's code."""
    from bench import mix
    from bench.search import GAZETTEER
    from service.backends.sqlite.backend import SQLiteBackend
    from service.search.params import parse_search
    from service.search.places import OfflineGazetteer

    geocoder = OfflineGazetteer(GAZETTEER)
    at = mix.at_datetime()
    return SQLiteBackend(index), lambda url: parse_search(mix.url_args(url), geocoder, at)


def answers(index: Path, urls: list[str]) -> dict[str, dict]:
    """url -> fingerprint of its search with this process's code (errors as their text)."""
    from service.search import scoring

    backend, parse = _search_context(index)
    found = {}
    for url in urls:
        try:
            query = parse(url)
            matches = backend.search(query)
            found[url] = fingerprint(matches, scoring.rank_hits(matches.hits, query))
        except Exception as exc:  # noqa: BLE001 - an error is an answer to compare too
            found[url] = {"error": f"{type(exc).__name__}: {exc}"}
    return found


def worker(index: Path, size: int) -> None:
    """The base code's side: answer commands on stdin, one JSON line each, on stdout.

    ["answers", urls] -> fingerprints; ["time", url] -> seconds of search + rank_hits.
    An index in a format the base does not read is replaced by the same `size` listings
    indexed by the base's own code, in its tree (`build_index` there).
    """
    from service.search import scoring
    from service.backends.sqlite.backend import INDEX_FORMAT

    if _index_format(index) != INDEX_FORMAT:
        index = build_index(size)
    backend, parse = _search_context(index)
    queries: dict = {}
    out = sys.stdout
    for line in sys.stdin:
        command, argument = json.loads(line)
        if command == "answers":
            reply = answers(index, argument)
        else:
            query = queries.get(argument)
            if query is None:
                query = queries[argument] = parse(argument)
            started = time.perf_counter()
            scoring.rank_hits(backend.search(query).hits, query)
            reply = time.perf_counter() - started
        out.write(json.dumps(reply) + "\n")
        out.flush()


class BaseCode:
    """The base commit checked out under bench/out/ and searching in a subprocess."""

    def __init__(self, commit: str, index: Path, size: int):
        self.root = base_tree(commit)
        self.commit = commit
        # The base's own packages (service/, bench/) come first; this file runs as a script.
        self.worker = TreeWorker(self.root, str(Path(__file__).resolve()), "--worker", str(index), "--size", str(size))

    def ask(self, command: str, argument):
        """Send one command; its JSON reply."""
        return self.worker.ask([command, argument])

    def close(self) -> None:
        """End the subprocess."""
        self.worker.close(30)


def build_index(size: int) -> Path:
    """The synthetic index of `size` listings (bench.search's file), built when missing or
    written in another index format than this code reads."""
    from bench import search, synth
    from service.backends.sqlite.backend import INDEX_FORMAT, SQLiteBackend

    path = search.index_path(size)
    if not path.exists() or _index_format(path) != INDEX_FORMAT:
        path.parent.mkdir(parents=True, exist_ok=True)  # a base tree's bench/out/ is made here
        SQLiteBackend(path).load(synth.listings(size, synth.load_towns(search.GAZETTEER), validate_every=100))
    return path


def _index_format(path: Path) -> int:
    """The index format an index file records (its PRAGMA user_version)."""
    with contextlib.closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def compare(new: dict[str, dict], old: dict[str, dict]) -> list[str]:
    """URLs whose answers differ, each with the first differing part."""
    problems = []
    for url, answer in new.items():
        other = old.get(url)
        if answer == other:
            continue
        if other is None or "error" in answer or "error" in other:
            problems.append(f"{url}: {answer.get('error')} vs {other and other.get('error')}")
            continue
        for key in ("total", "facets"):
            if answer[key] != other[key]:
                problems.append(f"{url}: {key} {answer[key]} vs {other[key]}")
                break
        else:
            for i, (a, b) in enumerate(zip(answer["hits"], other["hits"])):
                if a != b:
                    diff = {k: (a[k], b[k]) for k in a if a[k] != b.get(k)}
                    problems.append(f"{url}: hit {i} differs: {diff}")
                    break
            else:
                problems.append(f"{url}: {len(answer['hits'])} hits vs {len(other['hits'])}")
    return problems


def measure(size: int = SIZE, budget_s: float = LAYER_BUDGET_S, base: str | None = BASE_COMMIT) -> dict:
    """Identity check and interleaved timings; the figures `markdown` writes."""
    from bench import mix
    from bench.common import Stats, interleaved_rounds, per_query_ratios, search_timer
    from bench.search import record_statements, replay
    from service.search import scoring

    index = build_index(size)
    urls = mix.build_mix()
    distinct = list(dict.fromkeys(urls))
    backend, parse = _search_context(index)
    recorder, _ = _search_context(index)
    forgetful, _ = _search_context(index)  # its own backend: forgetting places must not touch the others'
    queries = {url: parse(url) for url in distinct}
    checked = check_urls(urls)
    result: dict = {"size": size, "urls": len(urls), "checked": len(checked), "problems": [], "base": None}
    old = BaseCode(base, index, size) if base else None
    try:
        started = time.perf_counter()
        new_answers = answers(index, checked)
        result["check_new_s"] = time.perf_counter() - started
        if old:
            started = time.perf_counter()
            result["problems"] = compare(new_answers, old.ask("answers", checked))
            result["check_old_s"] = time.perf_counter() - started
            result["base"] = base
        # Steady state for the recorder (columns read, FTS answers cached), then record.
        for url in distinct:
            recorder.search(queries[url])
        statements = {url: record_statements(recorder, queries[url]) for url in distinct}
        conn = recorder._connection()
        for url in distinct:  # warm both searches: columns read, FTS answers cached
            scoring.rank_hits(backend.search(queries[url]).hits, queries[url])
            scoring.rank_hits(forgetful.search(queries[url]).hits, queries[url])
            if old:
                old.ask("time", url)
        runners = {"search": search_timer(backend, queries), "sqlite": lambda url: replay(conn, statements[url]),
                   "new place": search_timer(forgetful, queries, new_places=True)}
        if old:
            runners["base"] = lambda url: old.ask("time", url)
        samples, rounds = interleaved_rounds(urls, runners, budget_s)
        result["clock_change"] = _clock_change_rounds(backend, parse, urls, old, budget_s)
    finally:
        if old:
            old.close()
    result["rounds"] = rounds
    result["stats"] = {name: Stats.of([ms for values in samples[name].values() for ms in values])
                       for name in runners}
    result["ratio_search_sqlite"] = sorted(per_query_ratios(samples, "search", "sqlite"))
    if old:
        result["ratio_base_search"] = sorted(per_query_ratios(samples, "base", "search"))
    by_class: dict[str, dict[str, list]] = {}
    for i, url in enumerate(urls):
        entry = by_class.setdefault(mix.url_class(url), {name: [] for name in runners})
        for name in runners:
            entry[name].extend(samples[name][i])
    result["by_class"] = {label: {name: Stats.of(values) for name, values in entry.items()}
                          for label, entry in by_class.items()}
    return result


def _clock_change_rounds(backend, parse, mix_urls: list[str], old, budget_s: float) -> dict:
    """This code's search and the base's taking turns on clock_change_urls; p50 and max per class."""
    from bench.common import Stats, interleaved_rounds, search_timer

    urls = clock_change_urls(mix_urls)
    queries = {url: parse(url) for url in urls}
    runners = {"search": search_timer(backend, queries)}
    if old:
        runners["base"] = lambda url: old.ask("time", url)
    for url in urls:  # places' areas built, as in the mix's rounds
        for runner in runners.values():
            runner(url)
    samples, rounds = interleaved_rounds(urls, runners, budget_s)
    by_class: dict[str, dict[str, list]] = {}
    for i, url in enumerate(urls):
        entry = by_class.setdefault(clock_change_class(url), {name: [] for name in runners})
        for name in runners:
            entry[name].extend(samples[name][i])
    every = {name: [ms for values in samples[name].values() for ms in values] for name in runners}
    return {"urls": len(urls), "rounds": rounds, "stats": {name: Stats.of(values) for name, values in every.items()},
            "max": {name: max(values) for name, values in every.items()},
            "by_class": {label: {name: (Stats.of(values).p50, max(values)) for name, values in entry.items()}
                         for label, entry in by_class.items()}}


def markdown(result: dict) -> str:
    """The figures as a Markdown section."""
    from bench.common import fmt_ms, median

    stats = result["stats"]
    names = [name for name in ("search", "new place", "sqlite", "base") if name in stats]
    titles = {"search": "search + rank_hits (this code)",
              "new place": "the same, each search's place not remembered (R*Tree and masks anew)",
              "sqlite": "its SQLite statements replayed (the R*Tree's box; documents and FTS answers kept)",
              "base": f"search + rank_hits ({result['base']})"}
    lines = [
        f"## SQLite search vs its SQLite statements ({result['size']:,} listings)",
        "",
        f"{result['urls']} mix URLs, {result['rounds']} interleaved passes; ms.",
        "",
        "| runner | p50 | p95 | p99 |",
        "|---|---|---|---|",
        *(f"| {titles[name]} | {fmt_ms(stats[name].p50)} | {fmt_ms(stats[name].p95)} | "
          f"{fmt_ms(stats[name].p99)} |" for name in names),
        "",
        f"search / SQLite: {stats['search'].p50 / stats['sqlite'].p50:.2f}x at p50 "
        f"(per-URL median ratio {median(result['ratio_search_sqlite']):.2f}x).",
    ]
    if "base" in stats:
        lines.append(f"base / this code: {stats['base'].p50 / stats['search'].p50:.2f}x at p50 "
                     f"(per-URL median ratio {median(result['ratio_base_search']):.2f}x).")
    lines += ["", "| class | " + " | ".join(f"{name} p50" for name in names) + " |",
              "|---|" + "---|" * len(names)]
    for label, entry in sorted(result["by_class"].items()):
        lines.append(f"| {label} | " + " | ".join(fmt_ms(entry[name].p50) for name in names) + " |")
    lines.append("")
    clock = result.get("clock_change")
    if clock:
        names = list(clock["stats"])
        lines += [f"In the week Sydney's clocks go forward (at={CLOCK_CHANGE_AT}): {clock['urls']} URLs (the mix's, "
                  f"and time filters and services by soonest with no place, near 2000 and near 3000), "
                  f"{clock['rounds']} interleaved passes; p50 / max, ms.", "",
                  "| class | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
                  "| all | " + " | ".join(f"{fmt_ms(clock['stats'][n].p50)} / {fmt_ms(clock['max'][n])}"
                                           for n in names) + " |"]
        for label, entry in sorted(clock["by_class"].items()):
            lines.append(f"| {label} | " + " | ".join(f"{fmt_ms(entry[n][0])} / {fmt_ms(entry[n][1])}"
                                                      for n in names) + " |")
        if "base" in clock["stats"]:
            lines.append("")
            lines.append(f"base / this code: {clock['stats']['base'].p50 / clock['stats']['search'].p50:.2f}x at p50, "
                         f"{clock['max']['base'] / clock['max']['search']:.2f}x at the slowest.")
        lines.append("")
    if result["base"]:
        verdict = ("identical" if not result["problems"]
                   else f"DIFFERENT for {len(result['problems'])} URLs")
        lines.append(f"Answers of this code vs {result['base']} over {result['checked']} URLs "
                     f"(the mix and variants): {verdict}.")
    else:
        lines.append("Answers not compared with a base commit (--no-base).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print its Markdown; exit 1 when answers differ."""
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_search", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE, help="listings (default: %(default)s)")
    parser.add_argument("--budget", type=float, default=LAYER_BUDGET_S,
                        help="seconds per runner; one pass always runs (default: %(default)s)")
    parser.add_argument("--base", default=BASE_COMMIT, help="commit to compare with (default: %(default)s)")
    parser.add_argument("--no-base", action="store_true", help="no base commit: only search vs SQLite")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.size)
        return 0
    result = measure(args.size, args.budget, None if args.no_base else args.base)
    print(markdown(result))
    for problem in result["problems"][:20]:
        print(f"DIFFERENT: {problem}", file=sys.stderr)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
