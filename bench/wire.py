"""Bytes on the wire for a widget's first results: `python -m bench.wire [--no-write]`.

What a page embedding `<linkage-search mode="full">` downloads before its first results show,
once someone types 2000 and presses Enter: widget.js, the catalogue of its language (none for
English: the widget asks for none), and the first search it sends. That search is rebuilt from
each side's widget.js (`first_search`): the parameters of its `query()` in their order, with
the form untouched (radius 25 km, sort best, page 1, its PER_PAGE and, where it has them, its
CARD_FIELDS), encoded as the browser's URLSearchParams encodes them (commas as %2C). The
programs' explainers it fetches alongside are counted on their own line.

Before and after side by side, from two servers running at once in one run: "before" is the
base commit (bench.common.BASE_COMMIT, exported under bench/out/ and served by its own code in
a subprocess), "after" is this tree. Every URL is fetched three times from each server, back
to back, over loopback HTTP: with no Accept-Encoding, with `gzip` only, and with what
Chromium sends (`gzip, deflate, br, zstd`). Bytes are counted as read from the socket: status
line, headers and body. Each compressed body is decompressed and compared with the identity
body (they must be the same bytes).

Each side indexes the demo listings with its own code (bench/out/wire.sqlite here, the same
name under the base's tree), or `--index` names a SQLite index both search
(`bench/out/bench-100k.sqlite` after `make bench`). Writes the "Bytes on the wire" section
of bench/RESULTS.md; `--no-write` prints it only.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import re
import shlex
import socket
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import brotli
from werkzeug.serving import make_server

from bench.common import OUT, RESULTS, ROOT, WIRE_SECTION, app_config, replace_section

try:
    from bench.common import BASE_COMMIT, base_tree
except ImportError:  # this file run as the base commit's server, whose bench.common predates them
    BASE_COMMIT = base_tree = None

# A Thursday evening in Sydney, as in the tests: the same sessions every run.
FIXED_NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
WIDGET = "/widget.js"
PROGRAMS = "/v1/programs"
PLACE = "2000"
CLIENTS = (("no Accept-Encoding", None), ("gzip", "gzip"), ("Chromium", "gzip, deflate, br, zstd"))
TARGET_BYTES = 20_000


def first_search(source: str, near: str = PLACE) -> str:
    """The first search a full-mode widget with this source sends for `near`, the rest of the
    form untouched: the names of `query()`'s parameters in their order, the empty ones left out
    as the widget leaves them out, encoded as URLSearchParams encodes them (application/
    x-www-form-urlencoded: `,` is %2C, a space `+`; urlencode's quote_plus does the same)."""
    params = re.search(r"\n    query\(page = 1\) \{.*?const params = \{\n(.*?)\n      \};", source, re.S).group(1)
    names = re.findall(r"^ {8}([a-z_]+):", params, re.M)
    card_fields = re.search(r"const CARD_FIELDS = \[([^\]]*)\]", source)
    values = {
        "near": near,
        # The radius box's default (no `radius` attribute).
        "radius_km": re.search(r'value: this\.getAttribute\("radius"\) \|\| (\d+)', source).group(1),
        # The order menu's first option.
        "sort": re.search(r"const SORTS = \{ ([a-z_]+):", source).group(1),
        "per_page": re.search(r"const PER_PAGE = (\d+);", source).group(1),
        "page": "1",
        "fields": ",".join(re.findall(r'"([a-z_0-9]+)"', card_fields.group(1))) if card_fields else "",
    }
    # Every other control is empty with the form untouched (no goal, any language, English...).
    return "/v1/search?" + urlencode([(name, values[name]) for name in names if values.get(name)])


def build_demo_index(path: Path) -> None:
    """The demo listings in a SQLite index at `path`."""
    from indexers.load import read_sources
    from service.backends.sqlite.backend import SQLiteBackend

    SQLiteBackend(path).load(read_sources([ROOT / "data" / "demo" / "listings.json"]).listings)


def start_server(index: Path):
    """This code's app over `index` served on a free loopback port, in a thread; the server."""
    from service import create_app
    from service.backends.sqlite.backend import SQLiteBackend

    app = create_app(app_config(referrals_path=str(OUT / "wire-referrals.sqlite")),
                     backend=SQLiteBackend(index), clock=lambda: FIXED_NOW)
    # One access-log line per request from the app and the server would bury the table.
    for name in ("werkzeug", "linkage.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_worker(index: Path | None) -> int:
    """The base's side, run in its tree: index the demo listings (unless `index` is given),
    serve, print the port and the first search its widget.js sends, and stop at end of input."""
    if index is None:
        OUT.mkdir(parents=True, exist_ok=True)
        index = OUT / "wire.sqlite"
        build_demo_index(index)
    server = start_server(index)
    source = (ROOT / "service" / "static" / "widget.js").read_text(encoding="utf-8")
    print(server.server_port, first_search(source), flush=True)
    sys.stdin.read()
    server.shutdown()
    return 0


class BaseServer:
    """The base commit's app, exported under bench/out/ and served by its own code from a
    subprocess (`--serve-worker`); `port` and `search` once started."""

    def __init__(self, index: Path | None):
        root = base_tree()
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-worker"]
        if index is not None:
            command += ["--index", str(index.resolve())]
        # The base's own packages (service/, bench/) come first; this file runs as a script.
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
        line = self.proc.stdout.readline().split()
        if len(line) != 2:
            self.close()
            raise RuntimeError(f"the base's server did not start (exit {self.proc.returncode})")
        self.port, self.search = int(line[0]), line[1]

    def close(self) -> None:
        """Stop the subprocess (end of its input)."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


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


def measure_both(index: Path | None) -> dict:
    """Before (the base commit's server) and after (this tree's), both running, each URL
    fetched from one then the other."""
    base = BaseServer(index)
    try:
        if index is None:
            index = OUT / "wire.sqlite"
            build_demo_index(index)
        server = start_server(index)
        try:
            source = (ROOT / "service" / "static" / "widget.js").read_text(encoding="utf-8")
            sides = {"before": (base.port, base.search), "after": (server.server_port, first_search(source))}
            results = {stage: {"rows": {}, "problems": [], "search": search} for stage, (_, search) in sides.items()}
            for kind in ("widget", "search", "programs"):
                for stage, (port, search) in sides.items():
                    path = {"widget": WIDGET, "search": search, "programs": PROGRAMS}[kind]
                    results[stage]["rows"][path] = fetch_all(port, path, results[stage]["problems"])
            for stage, (port, _) in sides.items():
                results[stage]["revisit"] = revisit(port, results[stage])
            return results
        finally:
            server.shutdown()
    finally:
        base.close()


def fetch_all(port: int, path: str, problems: list[str]) -> dict:
    """`path` with each client's Accept-Encoding, back to back, after one fetch that warms the
    asset cache and the index; problems (a status not 200, a body that decodes to other bytes
    than the identity body) added to `problems`."""
    fetch(port, path, CLIENTS[-1][1])
    answers = {label: fetch(port, path, accept) for label, accept in CLIENTS}
    identity = answers[CLIENTS[0][0]]["body"]
    for label, answer in answers.items():
        if answer["status"] != 200:
            problems.append(f"{path} with {label}: status {answer['status']}")
        elif decoded(answer) != identity:
            problems.append(f"{path} with {label}: body differs from the identity body")
    return answers


def revisit(port: int, result: dict) -> dict:
    """A second page view: widget.js revalidated with the ETag the browser kept."""
    kept = result["rows"][WIDGET][CLIENTS[-1][0]]["headers"].get("etag")
    answer = fetch(port, WIDGET, CLIENTS[-1][1], etag=kept)
    if answer["status"] != 304:
        result["problems"].append(f"widget.js revalidated with its ETag: status {answer['status']}, not 304")
    return answer


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
            f"on loopback, running at once in one run: before is base commit {BASE_COMMIT} served by its "
            "own code, after is this tree. Each side's first search is the one its widget.js sends "
            f"in full mode for {PLACE} with the form untouched (rebuilt from that widget.js: its "
            "parameters in order, encoded as URLSearchParams does). Each URL fetched with each "
            "client's Accept-Encoding back to back, before then after; bytes as read from the "
            "socket (status line, headers, body).", width=95),
        "",
        "| | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for stage in ("before", "after"):
        result = results[stage]
        search = result["search"]
        for path, text in ((WIDGET, f"{stage}: `{WIDGET}`"), (search, f"{stage}: first search"),
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
        f"- The first search as sent, before: `{before['search']}`.",
        f"- After: `{after['search']}`.",
        f"- A second page view revalidates widget.js with its ETag: before {before['revisit']['wire']:,} B "
        f"(status {before['revisit']['status']}), after {after['revisit']['wire']:,} B "
        f"(status {after['revisit']['status']}).",
        "- Compressed bodies identical to the identity bodies once decoded: "
        + ("yes, every one." if not problems else "**no**: " + "; ".join(problems)),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, and write the section of bench/RESULTS.md unless --no-write."""
    parser = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None,
                        help="a SQLite index both sides search (default: the demo listings, each side indexing them afresh)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--serve-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_worker:
        return serve_worker(args.index)
    started = datetime.now(timezone.utc)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.index is None:
        index_label = "the demo listings (`data/demo/listings.json`), each side's own copy"
    else:
        index_label = f"`{args.index.resolve().relative_to(ROOT) if args.index.resolve().is_relative_to(ROOT) else args.index.name}`"
    results = measure_both(args.index)
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
