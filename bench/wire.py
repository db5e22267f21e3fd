"""Bytes on the wire for a widget's first results: `python -m bench.wire [--no-write]`.

What a page embedding `<linkage-search>` downloads before its first results show: widget.js,
the catalogue of its language (none for English: the widget asks for none), and the first
search it sends for near=2000 (`sort=best&per_page=20&page=1`, what `query(1)` builds with
the form untouched). The programs' explainers it fetches alongside are counted on their
own line. Every URL is fetched three times in one run, side by side, over loopback HTTP
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
PROGRAMS = "/v1/programs"
CLIENTS = (("no Accept-Encoding", None), ("gzip", "gzip"), ("Chromium", "gzip, deflate, br, zstd"))
TARGET_BYTES = 20_000


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


def measure(index: Path) -> dict:
    """Every URL with each client's Accept-Encoding, from one server, side by side."""
    from service import create_app
    from service.backends.sqlite.backend import SQLiteBackend

    app = create_app(app_config(referrals_path=str(OUT / "wire-referrals.sqlite")),
                     backend=SQLiteBackend(index), clock=lambda: FIXED_NOW)
    # One access-log line per request from the app and the server would bury the table.
    for name in ("werkzeug", "linkage.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        rows, problems = {}, []
        for path in (WIDGET, FIRST_SEARCH, PROGRAMS):
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
        return {"rows": rows, "revisit": revisit, "problems": problems}
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _kb(n: int) -> str:
    return f"{n / 1000:.1f} KB"


def render(result: dict, index_label: str, command: str, started: datetime) -> str:
    """The "Bytes on the wire" section of bench/RESULTS.md."""
    rows = result["rows"]
    labels = [label for label, _ in CLIENTS]
    before = labels[0]

    def total(paths, label):
        return sum(rows[p][label]["wire"] for p in paths)

    def encoding(path, label):
        return rows[path][label]["headers"].get("content-encoding", "identity")

    lines = [
        WIRE_SECTION,
        "",
        textwrap.fill(
            f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC; index: {index_label}. One server "
            "(the app on loopback), each URL fetched with each client's Accept-Encoding back to back; "
            "bytes as read from the socket (status line, headers, body). Without Accept-Encoding is "
            "what every client received before responses were compressed.", width=95),
        "",
        "| | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for path in (WIDGET, FIRST_SEARCH, PROGRAMS):
        lines.append(f"| `{path}` | " + " | ".join(
            f"{rows[path][label]['wire']:,} B ({encoding(path, label)})" for label in labels) + " |")
    first = (WIDGET, FIRST_SEARCH)
    lines.append("| **widget.js + first search** | " + " | ".join(
        f"**{_kb(total(first, label))}**" + ("" if label == before else
                                             f" ({total(first, label) / total(first, before):.0%})")
        for label in labels) + " |")
    every = (WIDGET, FIRST_SEARCH, PROGRAMS)
    lines.append("| with the programs fetched alongside | " + " | ".join(
        _kb(total(every, label)) for label in labels) + " |")
    best = min(total(first, label) for label in labels[1:])
    lines += [
        "",
        f"- Target ≤ {_kb(TARGET_BYTES)} for widget.js + first search: "
        f"{_kb(best)} with the best encoding offered, "
        f"**{'met' if best <= TARGET_BYTES else 'not met'}**. "
        f"widget.js alone is {_kb(rows[WIDGET][labels[-1]]['wire'])} in brotli; the search "
        f"{_kb(rows[FIRST_SEARCH][labels[-1]]['wire'])}.",
        f"- A second page view revalidates widget.js with its ETag: {result['revisit']['wire']:,} B "
        f"(status {result['revisit']['status']}).",
        f"- Compressed bodies identical to the identity bodies once decoded: "
        + ("yes, every one." if not result["problems"] else "**no**: " + "; ".join(result["problems"])),
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
    result = measure(index)
    command = shlex.join(["python", "-m", "bench.wire", *(argv or [])])
    text = render(result, index_label, command, started)
    print(text)
    if not args.no_write:
        current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        RESULTS.write_text(replace_section(current, WIRE_SECTION, text), encoding="utf-8")
        print(f"\nWrote the section to {RESULTS.relative_to(ROOT)}.")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
