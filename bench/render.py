"""The rendering benchmark: `python -m bench.render`.

What a whole GET /v1/search costs beyond the search itself, in-process, at 10k and 100k
synthetic listings (`bench.synth`, loaded into SQLite as `bench.search` does):

* request — the whole app through Flask's test client (parse, search, rank, render, and
  every hook around the view);
* search  — `backend.search(query)` + `scoring.rank_hits` on a pre-parsed query, the very
  runner `bench.search` times (`bench.common.search_timer`);
* floor   — the bare app (`bench.bare`: a Flask route answering each URL with the bytes the
  real app returned for it) through its own test client: what Flask and the test client
  cost with no work of ours. search + floor is the fastest a whole request could be, so
  (search + floor) / search is the best ratio this measurement can show.

The three take turns on each URL of the mix (`bench.common.interleaved_rounds`), so their
ratios come from one run, side by side.

Bodies: every URL of the mix, plus a few with `lang=` and `tz=`, is requested once and its
body kept. `--save-bodies` writes them to bench/out/render-bodies-<size>k.json (run it on
the code to compare against); a later run compares its bodies with that file byte for
byte and reports how many differ. URLs with `fields=` are checked against the full body
of the same search with only the asked-for fields kept.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

from bench import mix, synth
from bench.bare import bare_app
from bench.search import parse_sizes
from bench.common import (OUT, ROOT, Stats, app_config, fmt_ms, interleaved_rounds, median, per_query_ratios,
                          profile_rows, request_timer, search_timer)
from service import create_app
from service.backends.sqlite.backend import SQLiteBackend
from service.search import scoring
from service.search.params import parse_search
from service.search.places import OfflineGazetteer

GAZETTEER = ROOT / "data" / "gazetteer"
SIZES = (10_000, 100_000)
VALIDATE_EVERY = {10_000: 1, 100_000: 10}
BUDGET_S = 4.0
TARGET_RATIO = 1.3
# Fields the widget's first screen may ask for (top-level keys of a search item).
FIELDS = "id,name,next_sessions,distance_km,why"


def extra_urls(urls: list[str]) -> list[str]:
    """A few mix URLs again with `lang=` (catalogues other than English) and `tz=`."""
    picks = list(dict.fromkeys(urls))[:6]
    out = []
    for url, extra in zip(picks, ("lang=vi", "lang=zh-TW", "lang=ar", "tz=Australia/Perth",
                                  "lang=es&tz=UTC", "lang=xx")):
        out.append(f"{url}&{extra}")
    return out


def fields_urls(urls: list[str]) -> list[str]:
    """A few mix URLs with `fields=` (checked against the full body, not the saved file)."""
    return [f"{url}&fields={FIELDS}" for url in list(dict.fromkeys(urls))[:8]]


def index_path(size: int) -> Path:
    """bench/out/render-<size>k.sqlite"""
    return OUT / f"render-{size // 1000}k.sqlite"


def build_index(size: int, towns, reuse: bool) -> Path:
    """The synthetic index of `size` listings (kept for `--reuse`: the listings are seeded)."""
    path = index_path(size)
    if reuse and path.exists():
        return path
    listings = synth.listings(size, towns, validate_every=VALIDATE_EVERY.get(size, 10))
    SQLiteBackend(path).load(listings)
    return path


def bodies_file(size: int) -> Path:
    """bench/out/render-bodies-<size>k.json"""
    return OUT / f"render-bodies-{size // 1000}k.json"


def keep_fields(full: dict, names: list[str]) -> dict:
    """The full body with only `names` kept in each item (the envelope as it is)."""
    return {**full, "items": [{k: v for k, v in item.items() if k in names} for item in full["items"]]}


def check_bodies(client, size: int, urls: list[str], save: bool) -> dict:
    """Request every URL once; save the bodies, or compare them with the saved ones."""
    bodies = {}
    for url in list(dict.fromkeys(urls)) + extra_urls(urls):
        response = client.get(url)
        bodies[url] = [response.status_code, response.content_type, response.data.decode("utf-8")]
    result = {"urls": len(bodies), "saved": None, "differ": [], "fields_checked": 0, "fields_differ": []}
    path = bodies_file(size)
    if save:
        path.write_text(json.dumps(bodies, ensure_ascii=False), encoding="utf-8")
        result["saved"] = str(path.relative_to(ROOT))
    elif path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        result["differ"] = [url for url in saved if bodies.get(url) != saved[url]]
        result["compared"] = len(saved)
    for url in fields_urls(urls):
        response = client.get(url)
        if response.status_code == 400:  # code without `fields`
            continue
        full = json.loads(bodies[url.rsplit("&fields=", 1)[0]][2])
        result["fields_checked"] += 1
        if json.loads(response.data) != keep_fields(full, FIELDS.split(",")):
            result["fields_differ"].append(url)
    return result


def measure(path: Path, urls: list[str], geocoder, budget_s: float, save: bool, profile: bool) -> dict:
    """Bodies check, then request vs search interleaved over the mix."""
    at = mix.at_datetime()
    # Every request searched: the response cache would answer the mix's repeated URLs.
    app = create_app(app_config(sqlite_path=str(path), response_cache=0), geocoder=geocoder, clock=lambda: at)
    client = app.test_client()
    backend = SQLiteBackend(path)
    distinct = list(dict.fromkeys(urls))
    queries = {url: parse_search(mix.url_args(url), geocoder, at) for url in distinct}
    bodies = check_bodies(client, path_size(path), urls, save)
    floor_client = bare_app(bare_responses(client, distinct)).test_client()
    for url in distinct:  # warm every layer
        client.get(url)
        floor_client.get(url)
        scoring.rank_hits(backend.search(queries[url]).hits, queries[url])
    samples, rounds = interleaved_rounds(urls, {"request": request_timer(client),
                                                "search": search_timer(backend, queries),
                                                "floor": request_timer(floor_client)}, budget_s)
    flat = {name: [ms for per_url in samples[name].values() for ms in per_url] for name in samples}
    result = {
        "rounds": rounds,
        "request": Stats.of(flat["request"]),
        "search": Stats.of(flat["search"]),
        "floor": Stats.of(flat["floor"]),
        "per_query": median(per_query_ratios(samples, "request", "search")),
        "bodies": bodies,
    }
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3):
            for url in urls:
                client.get(url)
        profiler.disable()
        result["profile"] = profile_rows(pstats.Stats(profiler), "tottime", 30)
    return result


def bare_responses(client, urls: list[str]) -> dict[str, tuple[int, str, bytes]]:
    """Each URL's (status, content type, body) as the real app answers it, for `bench.bare`."""
    responses = {}
    for url in urls:
        response = client.get(url)
        responses[url] = (response.status_code, response.content_type, response.data)
    return responses


def path_size(path: Path) -> int:
    """The listing count in an index file's name (render-100k.sqlite -> 100000)."""
    return int(path.stem.split("-")[1].rstrip("k")) * 1000


def section(results: dict[int, dict], label: str) -> str:
    """The Markdown section for these results."""
    lines = ["## Rendering: whole request vs search alone (python -m bench.render)", "",
             f"Code: {label}. In-process, test client vs `backend.search` + `rank_hits`, taking turns "
             f"per URL of the mix; target: request p50 <= {TARGET_RATIO}x search p50. Floor: the bare app "
             "(`bench.bare`, the same bytes from a plain Flask route) through its own test client, taking "
             "the same turns; (search + floor) / search is the best ratio a request could show.", "",
             "| listings | rounds | request p50 | search p50 | ratio (p50s) | per-query median ratio "
             "| floor p50 | best possible ratio | request beyond search + floor | bodies |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for size, r in results.items():
        b = r["bodies"]
        if b["saved"]:
            check = f"{b['urls']} saved"
        elif "compared" in b:
            check = f"{b['compared'] - len(b['differ'])}/{b['compared']} identical"
        else:
            check = "no saved bodies"
        if b["fields_checked"]:
            check += f"; fields= {b['fields_checked'] - len(b['fields_differ'])}/{b['fields_checked']} ok"
        lines.append(f"| {size:,} | {r['rounds']} | {fmt_ms(r['request'].p50)} ms | {fmt_ms(r['search'].p50)} ms "
                     f"| {r['request'].p50 / r['search'].p50:.2f}x | {r['per_query']:.2f}x "
                     f"| {fmt_ms(r['floor'].p50)} ms | {(r['search'].p50 + r['floor'].p50) / r['search'].p50:.2f}x "
                     f"| {fmt_ms(r['request'].p50 - r['search'].p50 - r['floor'].p50)} ms | {check} |")
    for size, r in results.items():
        if "profile" in r:
            lines += ["", f"cProfile of 3 passes of the mix at {size:,} (top by own time):", "",
                      "| function | own s | cumulative s | calls |", "|---|---|---|---|"]
            lines += [f"| `{name}` | {own:.3f} | {cum:.3f} | {calls} |" for name, own, cum, calls in r["profile"]]
    return "\n".join(lines) + "\n"


def run(argv: list[str] | None = None) -> tuple[str, bool]:
    """Run the benchmark; (Markdown section, whether every check passed)."""
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds per layer (default %(default)s)")
    parser.add_argument("--save-bodies", action="store_true",
                        help="write this code's bodies to bench/out/ as the reference for later runs")
    parser.add_argument("--reuse", action="store_true", help="reuse bench/out/render-<size>k.sqlite if present")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of requests")
    parser.add_argument("--label", default="this checkout", help="names the code measured")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    urls = mix.build_mix()
    towns = synth.load_towns(GAZETTEER)
    geocoder = OfflineGazetteer(GAZETTEER)
    results = {}
    for size in parse_sizes(args.sizes):
        started = time.perf_counter()
        path = build_index(size, towns, args.reuse)
        print(f"{size:,}: index ready in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        results[size] = measure(path, urls, geocoder, args.budget, args.save_bodies, args.profile)
    ok = all(not r["bodies"]["differ"] and not r["bodies"]["fields_differ"] for r in results.values())
    return section(results, args.label), ok


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown section; exit 1 when a body differs."""
    text, ok = run(argv)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
