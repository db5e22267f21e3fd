"""Engine backend, this tree beside the base commit: requests per search, API time over the
raw engine requests, and load rate over raw `_bulk`, in one run against one node.

For each size, each side runs in its own subprocess (`--side`), with PYTHONPATH pointing
at its tree: the base commit exported under bench/out/ (bench.common.base_tree). A
side loads `bench.synth` listings with `EngineBackend.load` (its requests recorded), times
`EngineBackend.search` + `rank_hits` against the very requests it sent replayed through a
bare opensearch-py client (as bench/engine.py does), turn about per URL, then replays the
load's own `_bulk` bodies raw into a scratch index (bench.imports.raw_bulk) and deletes
every index it made. Sides alternate base, new, base, new... over the sizes.

    python -m bench.engine_sides [--sizes 10000,100000] [--urls 60] [--budget 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

try:
    from bench.common import BASE_COMMIT, base_tree
except ImportError:  # this file run as the base commit's side, whose bench.common predates them
    BASE_COMMIT = base_tree = None

ROOT = Path(__file__).resolve().parent.parent


def run_side(url: str, size: int, n_urls: int, budget_s: float) -> dict:
    """One side's measures (runs inside the side's subprocess, on its own tree's code)."""
    from bench import mix, synth
    from bench.common import RecordingTransport, interleaved_rounds, median, per_query_ratios, percentile
    from bench.engine import ALIAS, bare_client, delete_ours, quiet_client_logs
    from bench.imports import raw_bulk
    from service.backends.engine.backend import EngineBackend, make_transport
    from service.search import scoring
    from service.search.params import parse_search
    from service.search.places import OfflineGazetteer

    gazetteer = ROOT / "data" / "gazetteer"
    listings = synth.listings(size, synth.load_towns(gazetteer), validate_every=100)
    geocoder = OfflineGazetteer(gazetteer)
    quiet_client_logs()
    delete_ours(url)
    loader = RecordingTransport(make_transport("opensearch", url))
    started = time.perf_counter()
    report = EngineBackend(loader, alias=ALIAS).load(listings)
    load_s = time.perf_counter() - started
    calls = loader.take()
    try:
        at = mix.at_datetime()
        urls = mix.build_mix(n_urls)
        queries = {u: parse_search(mix.url_args(u), geocoder, at) for u in dict.fromkeys(urls)}
        search_backend = EngineBackend(make_transport("opensearch", url), alias=ALIAS)
        recorder = RecordingTransport(make_transport("opensearch", url))
        recording = EngineBackend(recorder, alias=ALIAS)
        recorded = {}
        for u, query in queries.items():
            search_backend.search(query)
            recording.search(query)  # warm: the zone list read once
        recorder.take()
        for u, query in queries.items():
            recording.search(query)
            recorded[u] = recorder.take()
        raw = bare_client(url)

        def search_one(u):
            began = time.perf_counter()
            scoring.rank_hits(search_backend.search(queries[u]).hits, queries[u])
            return time.perf_counter() - began

        def raw_one(u):
            began = time.perf_counter()
            for method, path, body, params in recorded[u]:
                raw.transport.perform_request(method, path, body=body, params=params)
            return time.perf_counter() - began

        samples, rounds = interleaved_rounds(urls, {"search": search_one, "raw": raw_one}, budget_s)
        ratios = sorted(per_query_ratios(samples, "search", "raw"))
        requests = {}
        for label in sorted({mix.url_class(u) for u in urls}):
            counts = [len(recorded[u]) for u in dict.fromkeys(urls) if mix.url_class(u) == label]
            requests[label] = {"median": median(counts), "max": max(counts)}
    finally:
        created = [(p, body) for method, p, body, _ in calls if method == "PUT" and p.count("/") == 1]
        bulks = [body for method, p, body, _ in calls if method == "POST" and p == "/_bulk"]
        delete_ours(url)
    rawb = raw_bulk(url, created[0][0].lstrip("/"), created[0][1], bulks, report.loaded)
    return {
        "size": size, "loaded": report.loaded, "load_s": load_s, "raw_bulk_s": rawb["raw_s"],
        "bulk_requests": len(bulks), "rounds": rounds, "requests": requests,
        "ratio_p50": percentile(ratios, 50), "ratio_p95": percentile(ratios, 95),
        "search_p50_ms": percentile(sorted(x for v in samples["search"].values() for x in v), 50),
        "raw_p50_ms": percentile(sorted(x for v in samples["raw"].values() for x in v), 50),
    }


def side_in_subprocess(tree: Path, url: str, size: int, n_urls: int, budget_s: float) -> dict:
    """Run this file's --side with `tree` first on the import path; its JSON answer."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    run = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--side", str(size), "--url", url,
         "--urls", str(n_urls), "--budget", str(budget_s)],
        cwd=tree, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"side {tree.name} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def report(results: list[tuple[int, dict, dict]]) -> str:
    """The Markdown section: per size, base and this tree side by side."""
    lines = ["## Engine backend: base commit beside this tree", "",
             f"Base: {BASE_COMMIT}. Each side in its own process, same node, same synthetic "
             "listings (`bench.synth`), sides one after the other.", ""]
    for size, base, new in results:
        lines += [f"### {size:,} listings", "",
                  "| Measure | Base | This tree |", "|---|---|---|"]
        for label in sorted(set(base["requests"]) | set(new["requests"])):
            b, n = base["requests"].get(label), new["requests"].get(label)
            show = lambda r: "—" if r is None else f"{r['median']:g} (max {r['max']})"  # noqa: E731
            lines.append(f"| Engine requests per search, {label} (median, max) | {show(b)} | {show(n)} |")
        for side in (base, new):
            side["load_rate"] = side["loaded"] / side["load_s"]
            side["raw_rate"] = side["loaded"] / side["raw_bulk_s"]
        lines += [
            "| API time over raw engine requests, per-query p50 (p95) | "
            f"{base['ratio_p50']:.2f}× ({base['ratio_p95']:.2f}×) | {new['ratio_p50']:.2f}× ({new['ratio_p95']:.2f}×) |",
            f"| Search p50 / raw replay p50 | {base['search_p50_ms']:.2f} / {base['raw_p50_ms']:.2f} ms | "
            f"{new['search_p50_ms']:.2f} / {new['raw_p50_ms']:.2f} ms |",
            f"| `EngineBackend.load` | {base['load_s']:.1f} s ({base['load_rate']:,.0f}/s) | "
            f"{new['load_s']:.1f} s ({new['load_rate']:,.0f}/s) |",
            f"| Raw `_bulk` of the same bodies (sequential, bare client) | {base['raw_bulk_s']:.1f} s "
            f"({base['raw_rate']:,.0f}/s, {base['bulk_requests']} requests) | {new['raw_bulk_s']:.1f} s "
            f"({new['raw_rate']:,.0f}/s, {new['bulk_requests']} requests) |",
            f"| Load rate over raw `_bulk` | {base['load_rate'] / base['raw_rate']:.0%} | "
            f"{new['load_rate'] / new['raw_rate']:.0%} |",
            "",
        ]
    return "\n".join(lines)


def engine_sides_markdown(url: str, sizes=(10_000, 100_000), n_urls: int = 60, budget_s: float = 20.0) -> str:
    """Both sides at each size against the node at `url`; the Markdown section."""
    base = base_tree()
    results = []
    for size in sizes:
        old = side_in_subprocess(base, url, size, n_urls, budget_s)
        new = side_in_subprocess(ROOT, url, size, n_urls, budget_s)
        results.append((size, old, new))
    return report(results)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison (or, with --side, one side) and print Markdown (or its JSON)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("LINKAGE_SEARCH_URL", "http://127.0.0.1:9261"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--urls", type=int, default=60)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--side", type=int)
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(run_side(args.url, args.side, args.urls, args.budget)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    print(engine_sides_markdown(args.url, sizes, args.urls, args.budget))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)))
    sys.exit(main())
