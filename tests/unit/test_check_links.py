"""`linkage check-links`: planning, classification, bounded concurrency, the store, the command.

Network checks go only to a server on 127.0.0.1 started here; the rest injects a fake fetch.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from indexers import cli, links
from indexers.links import LinkCheck, Outcome, Probe
from service.backends.sqlite import SQLiteBackend
from service.models import Contact

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


# -- a local server ----------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Answers by path; counts requests in flight while it 'works' on them."""

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.answer()

    def do_GET(self):
        self.answer()

    def answer(self):
        server = self.server
        path = urlsplit(self.path).path
        with server.lock:
            server.seen.append((self.command, path, self.headers.get("User-Agent")))
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
        try:
            time.sleep(1.0 if path == "/slow" else server.delay)
        finally:
            # Counted out before answering, so the client never has fewer in flight than this.
            with server.lock:
                server.in_flight -= 1
        status, location = self.route(path)
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def route(self, path):
        fixed = {"/ok": 200, "/missing": 404, "/gone": 410, "/broken": 500, "/busy": 429, "/slow": 200}
        if path in fixed:
            return fixed[path], None
        if path == "/no-head":
            return (405 if self.command == "HEAD" else 200), None
        if path == "/moved":
            return 301, "/missing"
        if path == "/loop":
            return 302, "/loop"
        if path == "/recovering":
            return self.server.recovering_status, None
        return 404, None


class Server(ThreadingHTTPServer):
    request_queue_size = 64  # the default 5 drops connections when a test opens ten at once

    def handle_error(self, request, client_address):
        pass  # a client that timed out leaves a broken pipe behind; expected here


@pytest.fixture()
def server():
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.lock = threading.Lock()
    httpd.seen, httpd.in_flight, httpd.peak, httpd.delay = [], 0, 0, 0.0
    httpd.recovering_status = 404
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


FETCH = links.urllib_fetch(links.user_agent_for("https://linkage.example/"))


# -- against the local server ------------------------------------------------------------


def test_links_are_classified_from_what_the_server_answers(server):
    base, refused = server.base, refused_url()
    expected = {
        f"{base}/ok": ("ok", 200),
        f"{base}/missing": ("dead", 404),
        f"{base}/gone": ("dead", 410),
        f"{base}/broken": ("unsure", 500),
        f"{base}/busy": ("unsure", 429),
        f"{base}/no-head": ("ok", 200),
        f"{base}/moved": ("dead", 404),
        f"{base}/loop": ("dead", None),
        f"{base}/slow": ("unsure", None),
        refused: ("dead", None),
    }
    started = time.monotonic()
    results = links.check_urls(expected, FETCH, concurrency=8, per_host=8, timeout=0.3)
    assert {url: (o.status, o.http_status) for url, o in results.items()} == expected
    assert time.monotonic() - started < 3
    assert "too many redirects" in results[f"{base}/loop"].reason
    assert "timed out" in results[f"{base}/slow"].reason
    assert results[refused].reason == "connection refused"
    # HEAD refused, GET confirms; a 429 is not asked again.
    assert [m for m, p, _ in server.seen if p == "/no-head"] == ["HEAD", "GET"]
    assert [m for m, p, _ in server.seen if p == "/busy"] == ["HEAD"]
    assert {agent for _, _, agent in server.seen} == {"Linkage link checker (+https://linkage.example)"}


def test_no_more_than_the_per_host_limit_is_in_flight(server):
    server.delay = 0.05
    urls = [f"{server.base}/ok?n={n}" for n in range(12)]
    results = links.check_urls(urls, FETCH, concurrency=8, per_host=2, timeout=2)
    assert {o.status for o in results.values()} == {"ok"} and len(results) == 12
    assert server.peak == 2  # bounded, and still in parallel


def test_no_more_than_the_concurrency_limit_is_in_flight(server):
    server.delay = 0.05
    urls = [f"{server.base}/ok?n={n}" for n in range(12)]
    links.check_urls(urls, FETCH, concurrency=3, per_host=10, timeout=2)
    assert 2 <= server.peak <= 3


# -- without a network -------------------------------------------------------------------


@pytest.mark.parametrize("probe, status", [
    (Probe(200), "ok"),
    (Probe(304), "ok"),
    (Probe(404), "dead"),
    (Probe(410), "dead"),
    (Probe(429), "unsure"),
    (Probe(503), "unsure"),
    (Probe(403), "unsure"),
    (Probe(error="dns"), "dead"),
    (Probe(error="dns_temporary"), "unsure"),
    (Probe(error="refused"), "dead"),
    (Probe(error="tls", detail="certificate has expired"), "dead"),
    (Probe(error="too_many_redirects"), "dead"),
    (Probe(error="timeout"), "unsure"),
    (Probe(error="connection"), "unsure"),
])
def test_classify(probe, status):
    assert links.classify(probe).status == status


def test_request_errors_map_to_kinds():
    assert links.probe_for_error(socket.gaierror(socket.EAI_NONAME, "Name or service not known")).error == "dns"
    assert links.probe_for_error(socket.gaierror(socket.EAI_AGAIN, "Try again")).error == "dns_temporary"
    assert links.probe_for_error(ConnectionRefusedError()).error == "refused"
    assert links.probe_for_error(TimeoutError()).error == "timeout"
    assert links.probe_for_error(ConnectionResetError()).error == "connection"
    assert links.probe_for_error(ssl.SSLCertVerificationError("bad cert")).error == "tls"


def scripted(answers):
    """A fake fetch answering (method, url) from a mapping, recording what it was asked."""
    asked = []

    def fetch(method, url, timeout):
        asked.append((method, url))
        return answers.get((method, url), answers.get(url, Probe(404)))

    fetch.asked = asked
    return fetch


def test_redirects_are_followed_with_a_cap_and_only_to_web_addresses():
    fetch = scripted({"https://a.example/x": Probe(301, "/y"), "https://a.example/y": Probe(200)})
    assert links.check_url("https://a.example/x", fetch, 1).status == "ok"
    loop = scripted({"https://a.example/l": Probe(302, "https://a.example/l")})
    assert links.check_url("https://a.example/l", loop, 1, max_redirects=3).status == "dead"
    assert len(loop.asked) == 4  # the first request and three hops, HEAD only: no status to confirm
    odd = scripted({"https://a.example/m": Probe(302, "mailto:x@example.org")})
    assert links.check_url("https://a.example/m", odd, 1).status == "unsure"


def test_a_head_error_is_confirmed_with_get():
    fetch = scripted({("HEAD", "https://a.example/"): Probe(404), ("GET", "https://a.example/"): Probe(200)})
    assert links.check_url("https://a.example/", fetch, 1) == Outcome("ok", 200, "HTTP 200")


def test_per_host_limit_holds_across_many_hosts_without_parking_workers():
    lock = threading.Lock()
    in_flight, peaks = {}, {"total": 0}

    def fetch(method, url, timeout):
        host = urlsplit(url).hostname
        with lock:
            in_flight[host] = in_flight.get(host, 0) + 1
            peaks[host] = max(peaks.get(host, 0), in_flight[host])
            peaks["total"] = max(peaks["total"], sum(in_flight.values()))
        time.sleep(0.01)
        with lock:
            in_flight[host] -= 1
        return Probe(200)

    # Most links on one video service, as in real meeting lists.
    urls = [f"https://zoom.example/j/{n}" for n in range(30)] + [f"https://site{n}.example/" for n in range(10)]
    results = links.check_urls(urls, fetch, concurrency=6, per_host=2, timeout=1)
    assert len(results) == 40
    assert peaks.pop("total") <= 6
    assert max(peaks.values()) <= 2
    assert peaks["zoom.example"] == 2


def test_plan_maps_each_distinct_web_url_to_its_listings(demo_listings):
    a, b, c = demo_listings[:3]
    a = replace(a, contact=Contact(website="https://x.example/#about", conference_url="https://zoom.example/j/1"))
    b = replace(b, contact=Contact(website="https://x.example/", registration_url="mailto:join@example.org"))
    c = replace(c, contact=Contact(email="c@example.org"))
    assert links.plan_checks([c, b, a]) == {
        "https://x.example/": tuple(sorted([a.id, b.id])),
        "https://zoom.example/j/1": (a.id,),
    }


def test_unchecked_and_oldest_links_go_first():
    last = {"https://a.example/": "2026-11-02T00:00:00+00:00", "https://b.example/": "2026-11-01T00:00:00+00:00"}
    assert links.checking_order(["https://a.example/", "https://b.example/", "https://c.example/"], last) == [
        "https://c.example/", "https://b.example/", "https://a.example/"]


def test_merge_keeps_the_failing_streak_and_clears_it_on_recovery():
    url, other = "https://a.example/", "https://b.example/"
    first = links.merge_checks([], {url: ("s:1",)}, {url: Outcome("dead", 404, "HTTP 404")}, NOW)
    assert first[0].first_failed_at == NOW.isoformat(timespec="seconds")
    later = NOW + timedelta(days=1)
    second = links.merge_checks(first, {url: ("s:1", "s:2")}, {url: Outcome("unsure", 503, "HTTP 503")}, later)
    assert second[0].first_failed_at == first[0].first_failed_at
    assert second[0].listing_ids == ("s:1", "s:2") and second[0].status == "unsure"
    # Not checked this time (--limit): kept with today's listing ids; a URL no listing uses is dropped.
    third = links.merge_checks(second, {url: ("s:2",), other: ("s:3",)}, {}, later)
    assert third == [replace(second[0], listing_ids=("s:2",))]
    recovered = links.merge_checks(third, {url: ("s:2",)}, {url: Outcome("ok", 200, "HTTP 200")}, later)
    assert recovered[0].status == "ok" and recovered[0].first_failed_at is None


def test_store_round_trip_and_dead_links_by_listing(tmp_path):
    path = tmp_path / "var" / "link-checks.sqlite"
    assert links.load_checks(path) == [] and links.dead_links(path, ["s:1"]) == {}
    stamp = NOW.isoformat(timespec="seconds")
    checks = [
        LinkCheck("https://a.example/", ("s:1", "s:2"), "dead", 404, "HTTP 404", stamp, stamp),
        LinkCheck("https://b.example/", ("s:1",), "unsure", None, "timed out", stamp, stamp),
        LinkCheck("https://c.example/", ("s:3",), "ok", 200, "HTTP 200", None, stamp),
    ]
    links.save_checks(path, checks)
    assert links.load_checks(path) == checks
    assert links.dead_links(path, ["s:1", "s:3", "s:9"]) == {"s:1": [checks[0]]}
    links.save_checks(path, [replace(checks[0], status="ok", http_status=200, first_failed_at=None)])
    assert links.dead_links(path, ["s:1", "s:2"]) == {}
    assert [c.url for c in links.load_checks(path)] == ["https://a.example/"]


# -- the command -------------------------------------------------------------------------


def test_check_links_command_records_dead_links_and_their_recovery(server, demo_listings, tmp_path, capsys):
    base = server.base
    contacts = [
        Contact(website=f"{base}/ok", conference_url=f"{base}/missing"),
        Contact(website=f"{base}/recovering", conference_url=f"{base}/broken"),
        Contact(website=f"{base}/recovering#who", email="x@example.org"),
        Contact(website=f"{base}/no-head"),
    ]
    listings = [replace(listing, contact=contact) for listing, contact in zip(demo_listings, contacts)]
    ids = [listing.id for listing in listings]
    db, store = tmp_path / "index.sqlite", tmp_path / "link-checks.sqlite"
    SQLiteBackend(db).load(listings)
    args = ["check-links", "--backend", "sqlite", "--sqlite-path", str(db), "--link-checks-path", str(store),
            "--timeout", "2", "--concurrency", "4", "--per-host", "2"]

    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert f"dead  {base}/missing  (HTTP 404)  listings: {ids[0]}" in out
    assert f"dead  {base}/recovering  (HTTP 404)  listings: {', '.join(sorted(ids[1:3]))}" in out
    assert f"unsure  {base}/broken  (HTTP 500)  listings: {ids[1]}" in out
    assert out.strip().splitlines()[-1] == "checked 5 of 5 links from 4 listings: 2 ok, 2 dead, 1 unsure"
    assert server.peak <= 2
    dead = links.dead_links(store, ids)
    assert sorted(dead) == sorted(ids[:3]) and dead[ids[2]][0].url == f"{base}/recovering"

    server.recovering_status = 200
    assert cli.main([*args, "--only-dead"]) == 0
    out = capsys.readouterr().out
    assert not any(line.startswith("unsure") for line in out.splitlines())
    assert f"{base}/recovering" not in out
    assert links.dead_links(store, ids) == {ids[0]: [c for c in links.load_checks(store) if c.url.endswith("/missing")]}
    recovered = next(c for c in links.load_checks(store) if c.url.endswith("/recovering"))
    assert recovered.status == "ok" and recovered.first_failed_at is None

    assert cli.main([*args, "--limit", "1"]) == 0
    assert "checked 1 of 5 links from 4 listings:" in capsys.readouterr().out
    assert len(links.load_checks(store)) == 5  # the unchecked four keep their last results


def test_check_links_fails_clearly_when_the_index_cannot_be_read(tmp_path, capsys):
    code = cli.main(["check-links", "--backend", "sqlite", "--sqlite-path", str(tmp_path / "missing.sqlite"),
                     "--link-checks-path", str(tmp_path / "checks.sqlite")])
    assert code == 1
    assert "cannot read the listings: no index at missing.sqlite" in capsys.readouterr().err
    assert not (tmp_path / "checks.sqlite").exists()
