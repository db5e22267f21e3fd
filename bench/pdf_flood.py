"""Search latency while clients flood one handout PDF: without the render cache, and with it.

`python -m bench.pdf_flood [--clients 6] [--seconds 20]` indexes the demo listings, starts
gunicorn with the production config (deploy/gunicorn.conf.py, three workers) twice, and
each time makes one referral, measures search latency alone, then again while CLIENTS
threads fetch that referral's PDF over and over. "before" switches the cache off
(LINKAGE_RENDER_CACHE_BYTES=0, renders unlimited): every fetch renders, as the service did
before handouts were cached. "after" is the default. Prints both side by side, with the
renders the server counted (`linkage_handouts_served_total`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "pdf-flood"
CONF = "deploy/gunicorn.conf.py"
SEARCH = "/v1/search?near=2000&radius_km=25"


def build_index(path: Path) -> None:
    """The demo listings in a SQLite index at `path`."""
    from indexers.load import read_sources
    from service.backends.sqlite.backend import SQLiteBackend

    result = read_sources([ROOT / "data" / "demo" / "listings.json"])
    SQLiteBackend(path).load(result.listings)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    """(status, body) of one request."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def pdf_renders(base: str) -> dict[str, float]:
    """PDFs the server says it rendered and served from its cache."""
    counts = {"rendered": 0.0, "cache": 0.0}
    for family in text_string_to_metric_families(get(base + "/metrics")[1].decode()):
        for sample in family.samples:
            if sample.name == "linkage_handouts_served_total" and sample.labels.get("format") == "pdf":
                counts[sample.labels["source"]] += sample.value
    return counts


def search_latencies(base: str, seconds: float, stop: threading.Event | None = None) -> list[float]:
    """Milliseconds of back-to-back searches for `seconds`."""
    took, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        started = time.perf_counter()
        status, _body = get(base + SEARCH)
        assert status == 200, status
        took.append((time.perf_counter() - started) * 1000)
    return took


def run(mode: str, index: Path, clients: int, seconds: float) -> dict:
    """One server: search p50 alone and under the flood, PDFs fetched, PDFs rendered."""
    state = OUT / mode
    state.mkdir(parents=True, exist_ok=True)
    for old in state.glob("*.sqlite*"):
        old.unlink()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKAGE_")}
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="3", LINKAGE_BACKEND="sqlite",
               LINKAGE_SQLITE_PATH=str(index), LINKAGE_REFERRALS_PATH=str(state / "referrals.sqlite"),
               LINKAGE_LINK_CHECKS_PATH=str(state / "link-checks.sqlite"),
               LINKAGE_API_RATE_LIMIT="1000000/minute")
    if mode == "before":
        env.update(LINKAGE_RENDER_CACHE_BYTES="0", LINKAGE_RENDER_RATE_LIMIT="1000000/minute")
    base = f"http://127.0.0.1:{port}"
    log = open(state / "gunicorn.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", CONF], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        made = json.loads(get(base + "/v1/referrals", json.dumps(
            {"listing_ids": ["demo:g0002", "demo:g0001", "demo:s0001"]}).encode())[1])
        pdf = made["pdf"].replace(made["url"].split("/r/")[0], base)
        search_latencies(base, 2)  # warm every worker
        alone = search_latencies(base, seconds)
        stop, fetched = threading.Event(), []

        def flood():
            while not stop.is_set():
                status, _body = get(pdf)
                fetched.append(status)

        threads = [threading.Thread(target=flood) for _ in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(1)  # the flood under way
        flooded = search_latencies(base, seconds)
        stop.set()
        for thread in threads:
            thread.join()
        return {"alone": alone, "flooded": flooded, "fetched": len(fetched),
                "ok": fetched.count(200), "renders": pdf_renders(base)}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    index = OUT / "linkage.sqlite"
    build_index(index)
    results = {mode: run(mode, index, args.clients, args.seconds) for mode in ("before", "after")}

    def p(values, q):
        return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")

    print(f"{args.clients} clients fetching one handout PDF for {args.seconds:.0f} s; gunicorn, 3 workers\n")
    print(f"| {'':34} | {'before (no cache)':>17} | {'after (cache)':>13} |")
    print(f"|{'-' * 36}|{'-' * 19}|{'-' * 15}|")
    rows = [
        ("search p50 alone (ms)", lambda r: f"{statistics.median(r['alone']):.1f}"),
        ("search p50 during the flood (ms)", lambda r: f"{statistics.median(r['flooded']):.1f}"),
        ("search p95 during the flood (ms)", lambda r: f"{p(r['flooded'], 95):.1f}"),
        ("searches during the flood", lambda r: str(len(r["flooded"]))),
        ("PDF fetches answered 200", lambda r: f"{r['ok']} of {r['fetched']}"),
        ("PDFs rendered", lambda r: f"{r['renders']['rendered']:.0f}"),
        ("PDFs served from the cache", lambda r: f"{r['renders']['cache']:.0f}"),
    ]
    for label, cell in rows:
        print(f"| {label:34} | {cell(results['before']):>17} | {cell(results['after']):>13} |")


if __name__ == "__main__":
    main()
