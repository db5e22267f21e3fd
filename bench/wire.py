"""Bytes on the wire for a widget's first results: `python -m bench.wire [--no-write]`.

What a page embedding `<linkage-search>` downloads before its first results show: widget.js,
the catalogue of its language (none for English: the widget asks for none), and the first
search it sends for near=2000 (`sort=best&per_page=20&page=1`, what `query(1)` builds with
the form untouched, with `fields=` the widget's CARD_FIELDS). The programs' explainers it
fetches alongside are counted on their own line. Before and after side by side: "before" is
widget.js served as its source (LINKAGE_MINIFY_WIDGET off) and the search for whole items;
"after" is widget.js minified and the search for the card's fields, as the widget sends it. Every URL is fetched three times in one run, side by side, over loopback HTTP
from the same server: with no Accept-Encoding (what every client got before responses were
compressed), with `gzip` only, and with what Chromium sends (`gzip, deflate, br, zstd`).
Bytes are counted as read from the socket: status line, headers and body. Each compressed
body is decompressed and compared with the identity body (they must be the same bytes).

The demo listings are indexed into bench/out/wire.sqlite, or `--index` names a SQLite index
(`bench/out/bench-100k.sqlite` after `make bench`). Writes the "Bytes on the wire" section
of bench/RESULTS.md; `--no-write` prints it only.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import re
import shlex
import socket
import sys
import textwrap
import threading
from datetime import datetime, timezone
from pathlib import Path

import brotli
from werkzeug.serving import make_server

from bench.common import OUT, RESULTS, ROOT, WIRE_SECTION, app_config, replace_section

# A Thursday evening in Sydney, as in the tests: the same sessions every run.
FIXED_NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
WIDGET = "/widget.js"
FIRST_SEARCH = "/v1/search?near=2000&sort=best&per_page=20&page=1"
WIDGET_SOURCE = ROOT / "service" / "static" / "widget.js"
PROGRAMS = "/v1/programs"
CLIENTS = (("no Accept-Encoding", None), ("gzip", "gzip"), ("Chromium", "gzip, deflate, br, zstd"))
TARGET_BYTES = 20_000


def widget_first_search() -> str:
    """The first search as widget.js now builds it: per_page its PER_PAGE, fields its CARD_FIELDS."""
    source = WIDGET_SOURCE.read_text(encoding="utf-8")
    per_page = re.search(r"const PER_PAGE = (\d+);", source).group(1)
    fields = re.search(r"const CARD_FIELDS = \[([^\]]*)\]", source)
    names = ",".join(re.findall(r'"([a-z_0-9]+)"', fields.group(1))) if fields else ""
    return (f"/v1/search?near=2000&sort=best&per_page={per_page}&page=1"
            + (f"&fields={names}" if names else ""))


def build_demo_index(path: Path) -> None:
    """The demo listings in a SQLite index at `path`."""
    from indexers.load import read_sources
    from service.backends.sqlite.backend import SQLiteBackend

    SQLiteBackend(path).load(read_sources([ROOT / "data" / "demo" / "listings.json"]).listings)


def fetch(port: int, path: str, accept: str | None, etag: str | None = None) -> dict:
    """One GET over a fresh connection: bytes read from the socket, headers, body."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             "Accept: */*"]
    if accept:
        lines.append(f"Accept-Encoding: {accept}")
    if etag:
        lines.append(f"If-None-Match: {etag}")
    raw = b""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return {"status": int(status_line.split()[1]), "wire": len(raw), "body": body, "headers": headers}


def decoded(answer: dict) -> bytes:
    """The body with its Content-Encoding undone."""
    encoding = answer["headers"].get("content-encoding")
    if encoding == "gzip":
        return gzip.decompress(answer["body"])
    if encoding == "br":
        return brotli.decompress(answer["body"])
    if encoding:
        raise ValueError(f"unexpected Content-Encoding {encoding!r}")
    return answer["body"]


def measure_both(index: Path) -> dict:
    """Before (widget.js as its source, whole items) and after (minified, the card's fields),
    from two servers over the same index, run one after the other in one process."""
    search = widget_first_search()
    return {"before": measure(index, minify=False, search=FIRST_SEARCH),
            "after": measure(index, minify=True, search=search)}


def measure(index: Path, minify: bool = True, search: str = FIRST_SEARCH) -> dict:
    """Every URL with each client's Accept-Encoding, from one server, side by side."""
    from service import create_app
    from service.backends.sqlite.backend import SQLiteBackend

    app = create_app(app_config(referrals_path=str(OUT / "wire-referrals.sqlite")),
                     backend=SQLiteBackend(index), clock=lambda: FIXED_NOW)
    app.config["LINKAGE_MINIFY_WIDGET"] = minify
    # One access-log line per request from the app and the server would bury the table.
    for name in ("werkzeug", "linkage.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        rows, problems = {}, []
        for path in (WIDGET, search, PROGRAMS):
            fetch(port, path, CLIENTS[-1][1])  # the asset cache and the index warm, once
            answers = {label: fetch(port, path, accept) for label, accept in CLIENTS}
            identity = answers[CLIENTS[0][0]]["body"]
            for label, answer in answers.items():
                if answer["status"] != 200:
                    problems.append(f"{path} with {label}: status {answer['status']}")
                elif decoded(answer) != identity:
                    problems.append(f"{path} with {label}: body differs from the identity body")
            rows[path] = answers
        # A second page view: widget.js revalidated with the ETag the browser kept.
        kept = rows[WIDGET][CLIENTS[-1][0]]["headers"].get("etag")
        revisit = fetch(port, WIDGET, CLIENTS[-1][1], etag=kept)
        if revisit["status"] != 304:
            problems.append(f"widget.js revalidated with its ETag: status {revisit['status']}, not 304")
        return {"rows": rows, "revisit": revisit, "problems": problems, "search": search}
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _kb(n: int) -> str:
    return f"{n / 1000:.1f} KB"


def render(results: dict, index_label: str, command: str, started: datetime) -> str:
    """The "Bytes on the wire" section of bench/RESULTS.md: before and after, side by side."""
    labels = [label for label, _ in CLIENTS]
    plain, browser = labels[0], labels[-1]

    def total(result, paths, label):
        return sum(result["rows"][p][label]["wire"] for p in paths)

    def encoding(result, path, label):
        return result["rows"][path][label]["headers"].get("content-encoding", "identity")

    lines = [
        WIRE_SECTION,
        "",
        textwrap.fill(
            f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC; index: {index_label}. Two servers "
            "(the app on loopback) measured one after the other in one run: before (widget.js as its "
            "readable source, the first search for whole items) and after (widget.js minified, the "
            "first search for the fields the result cards show, as the widget now sends it). Each URL "
            "fetched with each client's Accept-Encoding back to back; bytes as read from the socket "
            "(status line, headers, body).", width=95),
        "",
        "| | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for stage in ("before", "after"):
        result = results[stage]
        search = result["search"]
        name = "first search" + (" (`fields=` the card's)" if "fields=" in search else "")
        for path, text in ((WIDGET, f"{stage}: `{WIDGET}`"), (search, f"{stage}: {name}"),
                           (PROGRAMS, f"{stage}: `{PROGRAMS}`")):
            lines.append(f"| {text} | " + " | ".join(
                f"{result['rows'][path][label]['wire']:,} B ({encoding(result, path, label)})"
                for label in labels) + " |")
        first = (WIDGET, search)
        lines.append(f"| **{stage}: widget.js + first search** | " + " | ".join(
            f"**{_kb(total(result, first, label))}**" for label in labels) + " |")
    before, after = results["before"], results["after"]
    first_before = (WIDGET, before["search"])
    first_after = (WIDGET, after["search"])
    best_before = total(before, first_before, browser)
    best_after = total(after, first_after, browser)
    problems = before["problems"] + after["problems"]
    lines += [
        "",
        f"- Target ≤ {_kb(TARGET_BYTES)} for widget.js + first search with Chromium's Accept-Encoding: "
        f"before {_kb(best_before)}, after {_kb(best_after)} ({best_after / best_before:.0%} of before), "
        f"**{'met' if best_after <= TARGET_BYTES else 'not met'}**. After: widget.js "
        f"{_kb(after['rows'][WIDGET][browser]['wire'])} in brotli, the search "
        f"{_kb(after['rows'][after['search']][browser]['wire'])}; without compression "
        f"{_kb(total(after, first_after, plain))} (before {_kb(total(before, first_before, plain))}).",
        f"- The first search as sent: `{after['search']}`.",
        f"- A second page view revalidates widget.js with its ETag: {after['revisit']['wire']:,} B "
        f"(status {after['revisit']['status']}).",
        "- Compressed bodies identical to the identity bodies once decoded: "
        + ("yes, every one." if not problems else "**no**: " + "; ".join(problems)),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, and write the section of bench/RESULTS.md unless --no-write."""
    parser = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None,
                        help="a SQLite index to search (default: the demo listings, indexed afresh)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    started = datetime.now(timezone.utc)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.index is None:
        index = OUT / "wire.sqlite"
        build_demo_index(index)
        index_label = "the demo listings (`data/demo/listings.json`)"
    else:
        index = args.index
        index_label = f"`{index.resolve().relative_to(ROOT) if index.resolve().is_relative_to(ROOT) else index.name}`"
    results = measure_both(index)
    command = shlex.join(["python", "-m", "bench.wire", *(argv or [])])
    text = render(results, index_label, command, started)
    print(text)
    if not args.no_write:
        current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        RESULTS.write_text(replace_section(current, WIRE_SECTION, text), encoding="utf-8")
        print(f"\nWrote the section to {RESULTS.relative_to(ROOT)}.")
    return 1 if results["before"]["problems"] or results["after"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
