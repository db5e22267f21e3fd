"""Engine searches with times in them, this tree beside the base commit on one node:
`python -m bench.engine_timed`.

The 100k synthetic listings (bench.sqlite_search's index, built when missing) are loaded once
into the engine with this tree's `EngineBackend.load`. Then each side, in its own
subprocess whose PYTHONPATH is its tree (the base commit exported under bench/out/), searches
that index: "open now", "starts within" and "soonest" (services only) with no place and
near 2000 and 3000, and with words, on a steady evening (the mix's moment) and at noon in the week Sydney's
clocks go forward (CLOCK_CHANGE_AT). The sides take turns on each URL, ROUNDS times; each
answer's total and page are compared with this tree's SQLite search of the same listings.

The workers import only `service` (the base's own code on its side); the node is
LINKAGE_SEARCH_URL or one started here (bench.engine.Node).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
ALIAS = "linkage-bench"  # bench.engine.ALIAS: its clean-up (delete_ours) knows the indices
ROUNDS = 3
STEADY_AT = "2026-05-13T18:30:00+10:00"  # bench.mix.AT: a Wednesday evening, no clock change near
CLOCK_CHANGE_AT = "2026-10-01T12:00:00+10:00"  # bench.sqlite_search.CLOCK_CHANGE_AT
SEARCHES = (
    {"open_now": "true"},
    {"open_now": "true", "near": "2000"},
    {"open_now": "true", "sort": "soonest"},
    {"open_now": "true", "near": "3000", "sort": "soonest"},
    {"starts_within": "60"},
    {"starts_within": "600"},
    {"starts_within": "10080", "near": "2000"},
    {"kind": "service", "sort": "soonest"},
    # Words too (orders in which text scores, which differ by store, play no part).
    {"q": "smart", "open_now": "true", "sort": "soonest"},
    {"q": "smart", "starts_within": "600", "near": "2000", "sort": "distance"},
)


def urls() -> list[str]:
    """Every search at both moments."""
    return ["/v1/search?" + urlencode({**search, "at": at}) for at in (STEADY_AT, CLOCK_CHANGE_AT) for search in SEARCHES]


def _args(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# --- In a worker: only `service`, whichever tree's -----------------------------------------

def worker(engine_url: str, gazetteer: str) -> None:
    """Answer URLs on stdin, one JSON line each on stdout: seconds, total, page ids, requests."""
    from datetime import datetime

    from service.backends.engine.backend import EngineBackend, make_transport
    from service.search.params import parse_search
    from service.search.places import OfflineGazetteer

    sent = []

    class Counting:
        def __init__(self, transport):
            self.transport = transport

        def request(self, *args, **kwargs):
            sent.append(1)
            return self.transport.request(*args, **kwargs)

    backend = EngineBackend(Counting(make_transport("opensearch", engine_url)), alias=ALIAS)
    geocoder = OfflineGazetteer(Path(gazetteer))
    for line in sys.stdin:  # one URL a line (bench.common.TreeWorker)
        args = _args(json.loads(line))
        query = parse_search(args, geocoder, datetime.fromisoformat(args["at"]))
        sent.clear()
        started = time.perf_counter()
        found = backend.search(query)
        seconds = time.perf_counter() - started
        print(json.dumps({"s": seconds, "total": found.total, "ids": [h.listing.id for h in found.hits],
                          "requests": len(sent)}), flush=True)


# --- In the parent ------------------------------------------------------------------------

def measure(engine_url: str, base: str | None, rounds: int = ROUNDS) -> dict:
    """Load, then time both sides on every URL (taking turns) and check their answers."""
    from bench.common import BASE_COMMIT, TreeWorker, base_tree
    from bench.engine import delete_ours
    from bench.search import GAZETTEER
    from bench.sqlite_search import build_index
    from service.backends.engine.backend import EngineBackend, make_transport
    from service.backends.sqlite.backend import SQLiteBackend
    from service.search.params import parse_search
    from datetime import datetime
    from service.search.places import OfflineGazetteer

    base = base or BASE_COMMIT
    sqlite = SQLiteBackend(build_index(100_000))
    engine = EngineBackend(make_transport("opensearch", engine_url), alias=ALIAS)
    started = time.perf_counter()
    engine.load(list(sqlite.listings()))
    load_s = time.perf_counter() - started
    geocoder = OfflineGazetteer(GAZETTEER)
    truth = {}
    for url in urls():
        args = _args(url)
        found = sqlite.search(parse_search(args, geocoder, datetime.fromisoformat(args["at"])))
        truth[url] = (found.total, [h.listing.id for h in found.hits])
    script = str(Path(__file__).resolve())
    sides = {name: TreeWorker(tree, script, "--worker", engine_url, str(GAZETTEER))
             for name, tree in (("base", base_tree(base)), ("this", ROOT))}
    answers: dict[str, dict[str, list]] = {name: {url: [] for url in urls()} for name in sides}
    try:
        for url in urls():  # warm: zones read, scripts compiled, listings built once
            for side in sides.values():
                side.ask(url)
        for number in range(rounds):
            for position, url in enumerate(urls()):
                order = list(sides) if (number + position) % 2 == 0 else list(reversed(sides))
                for name in order:
                    answers[name][url].append(sides[name].ask(url))
    finally:
        for side in sides.values():
            side.close()
        delete_ours(engine_url)
    return {"base": base, "load_s": load_s, "rounds": rounds, "truth": truth, "answers": answers}


def markdown(result: dict) -> str:
    """The figures as a Markdown section."""
    from bench.common import fmt_ms

    lines = [f"### Engine searches with times in them: {result['base']} beside this tree (100,000 listings)", "",
             f"`python -m bench.engine_timed`: one index (loaded in {result['load_s']:.1f} s), each side in its own "
             f"process, taking turns, {result['rounds']} rounds after a warm-up; median ms, engine requests, and "
             "whether total and page equal SQLite's for the same listings.", "",
             "| moment | search | base ms | this ms | base / this | base requests | this requests | base right | this right |",
             "|---|---|---|---|---|---|---|---|---|"]
    right = {"base": 0, "this": 0}
    for url, (total, ids) in result["truth"].items():
        args = _args(url)
        moment = "steady evening" if args.pop("at") == STEADY_AT else "clocks change that week"
        cells = {}
        for name in ("base", "this"):
            runs = result["answers"][name][url]
            ok = all(run["total"] == total and run["ids"] == ids for run in runs)
            right[name] += ok
            cells[name] = (statistics.median(run["s"] for run in runs) * 1000, runs[-1]["requests"],
                           "yes" if ok else f"**no** ({runs[-1]['total']:,} of {total:,})")
        lines.append(f"| {moment} | {'&'.join(f'{k}={v}' for k, v in args.items())} | {fmt_ms(cells['base'][0])} | "
                     f"{fmt_ms(cells['this'][0])} | {cells['base'][0] / cells['this'][0]:.1f}x | {cells['base'][1]} | "
                     f"{cells['this'][1]} | {cells['base'][2]} | {cells['this'][2]} |")
    count = len(result["truth"])
    lines += ["", f"Right (total and page as SQLite's): base {right['base']}/{count}, this tree {right['this']}/{count}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run and print the Markdown; exit 1 when this tree's answers differ from SQLite's."""
    parser = argparse.ArgumentParser(prog="python -m bench.engine_timed", description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="commit to compare with (default: bench.common.BASE_COMMIT)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    from bench.engine import Node

    with Node() as node:
        result = measure(node.url, args.base, args.rounds)
    print(markdown(result))
    wrong = [url for url, (total, ids) in result["truth"].items()
             if any(run["total"] != total or run["ids"] != ids for run in result["answers"]["this"][url])]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
