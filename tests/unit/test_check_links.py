"""`linkage check-links`: planning, classification, bounded concurrency, the store, the command.

Network checks go only to a server on 127.0.0.1 started here (with allow_private, as the
checker refuses local addresses by default); the rest injects a fake fetch and a fake resolver.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sqlite3
import ssl
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from indexers import cli, links
from indexers.links import Outcome, Probe
from service import link_checks
from service.link_checks import LinkCheck
from service.backends.sqlite.backend import SQLiteBackend
from service.domain.models import Contact

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
# Only stops a broken test from hanging; no test passes or fails on how long anything took.
GUARD_S = 10


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
            server.targets.append(self.path)
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
            if server.hold_until is not None and not server.released:
                # Held until that many are in flight at once, then every one is let go: a client
                # that sends in parallel shows it as a count, not as a time.
                if server.in_flight >= server.hold_until:
                    server.released = True
                    server.lock.notify_all()
                elif not server.lock.wait_for(lambda: server.released, timeout=GUARD_S):
                    server.guard_expired = True
        try:
            if path == "/slow":
                server.stopping.wait(GUARD_S)  # answers only once the test is over
            else:
                time.sleep(server.delay)  # work, so that requests overlap when the client allows it
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
        fixed = {"/ok": 200, "/missing": 404, "/gone": 410, "/broken": 500, "/busy": 429, "/slow": 200,
                 "/caf%C3%A9": 200}
        if path in fixed:
            return fixed[path], None
        if path == "/no-head":
            return (405 if self.command == "HEAD" else 200), None
        if path == "/moved":
            return 301, "/missing"
        if path == "/loop":
            return 302, "/loop"
        if path == "/utf8-moved":
            # Raw UTF-8 bytes on the wire, as some servers send (send_header writes Latin-1).
            return 301, "/café".encode("utf-8").decode("latin-1")
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
    httpd.lock = threading.Condition()
    httpd.seen, httpd.targets, httpd.in_flight, httpd.peak, httpd.delay = [], [], 0, 0, 0.0
    httpd.hold_until, httpd.released, httpd.guard_expired = None, False, False
    httpd.stopping = threading.Event()
    httpd.recovering_status = 404
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.stopping.set()
    httpd.shutdown()
    httpd.server_close()


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


FETCH = links.urllib_fetch(links.user_agent_for("https://linkage.example/"), allow_private=True)
LOCAL = {"allow_private": True}  # the test server is on 127.0.0.1 and a random port


def resolver(table):
    """A fake name lookup: host -> addresses, anything else does not exist."""
    def resolve(host):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]
    return resolve


# A public address for the fake hosts: never connected to, the fetch is scripted.
PUBLIC = resolver({f"{name}.example": ["93.184.215.14"] for name in
                   ["a", "public", "zoom", "xn--bcher-kva", *(f"site{n}" for n in range(10))]})


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
        f"{base}/café?q=ü b": ("ok", 200),
        f"{base}/utf8-moved": ("ok", 200),
        base.replace("http:", "https:") + "/ok": ("unsure", None),  # TLS to a plain HTTP server
        refused: ("dead", None),
    }
    results = links.check_urls(expected, FETCH, concurrency=8, per_host=8, timeout=0.3, **LOCAL)
    assert {url: (o.status, o.http_status) for url, o in results.items()} == expected
    assert results[f"{base}/missing"].reason == "page not found (404)"
    assert results[f"{base}/gone"].reason == "page gone (410)"
    assert results[f"{base}/broken"].reason == "server error (500)"
    assert results[f"{base}/loop"].reason == "too many redirects"
    assert results[f"{base}/slow"].reason == "timed out"
    assert results[refused].reason == "connection refused"
    tls = results[base.replace("http:", "https:") + "/ok"]
    assert tls.reason == "secure connection failed" and "SSL" in tls.detail  # OpenSSL's words stay out
    # Non-ASCII links are sent percent-encoded as UTF-8, as a browser sends them.
    assert "/caf%C3%A9?q=%C3%BC%20b" in server.targets and "/caf%C3%A9" in server.targets
    # HEAD refused, GET confirms; a 429 is not asked again.
    assert [m for m, p, _ in server.seen if p == "/no-head"] == ["HEAD", "GET"]
    assert [m for m, p, _ in server.seen if p == "/busy"] == ["HEAD"]
    assert {agent for _, _, agent in server.seen} == {"Linkage link checker (+https://linkage.example)"}


def test_no_more_than_the_per_host_limit_is_in_flight(server):
    server.delay, server.hold_until = 0.05, 2
    urls = [f"{server.base}/ok?n={n}" for n in range(12)]
    results = links.check_urls(urls, FETCH, concurrency=8, per_host=2, timeout=GUARD_S + 5, **LOCAL)
    assert {o.status for o in results.values()} == {"ok"} and len(results) == 12
    # In parallel: the first two were held until both were open at once; and never more.
    assert server.released and not server.guard_expired
    assert server.peak == 2


def test_no_more_than_the_concurrency_limit_is_in_flight(server):
    server.delay, server.hold_until = 0.05, 3
    urls = [f"{server.base}/ok?n={n}" for n in range(12)]
    results = links.check_urls(urls, FETCH, concurrency=3, per_host=10, timeout=GUARD_S + 5, **LOCAL)
    assert {o.status for o in results.values()} == {"ok"} and len(results) == 12
    assert server.released and not server.guard_expired
    assert server.peak == 3


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
    (Probe(error="tls_expired"), "dead"),
    (Probe(error="tls_mismatch"), "dead"),
    (Probe(error="tls", detail="unable to get local issuer certificate"), "unsure"),
    (Probe(error="too_many_redirects"), "dead"),
    (Probe(error="timeout"), "unsure"),
    (Probe(error="connection"), "unsure"),
    (Probe(error="unreachable"), "unsure"),
    (Probe(error="private"), "unsure"),
    (Probe(error="port", detail="8080"), "unsure"),
])
def test_classify(probe, status):
    assert links.classify(probe).status == status


@pytest.mark.parametrize("probe, reason", [
    (Probe(404), "page not found (404)"),
    (Probe(410), "page gone (410)"),
    (Probe(503), "server error (503)"),
    (Probe(403), "access denied (403)"),
    (Probe(error="dns", detail="[Errno -2] Name or service not known"), "site address does not exist"),
    (Probe(error="refused"), "connection refused"),
    (Probe(error="tls_expired", detail="[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
     "security certificate expired"),
    (Probe(error="tls_mismatch", detail="Hostname mismatch"), "certificate does not match the site"),
    (Probe(error="too_many_redirects", detail="more than 5"), "too many redirects"),
    (Probe(error="timeout"), "timed out"),
    (Probe(error="private", detail="127.0.0.1"), "not checked: private or local address"),
    (Probe(error="port", detail="8080"), "not checked: port 8080"),
])
def test_reasons_are_plain_and_detail_is_kept_apart(probe, reason):
    outcome = links.classify(probe)
    assert outcome.reason == reason and outcome.detail == probe.detail


def verify_error(code, message):
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    exc.verify_code, exc.verify_message = code, message
    return exc


def test_request_errors_map_to_kinds():
    assert links.probe_for_error(socket.gaierror(socket.EAI_NONAME, "Name or service not known")).error == "dns"
    assert links.probe_for_error(socket.gaierror(socket.EAI_AGAIN, "Try again")).error == "dns_temporary"
    assert links.probe_for_error(ConnectionRefusedError()).error == "refused"
    assert links.probe_for_error(TimeoutError()).error == "timeout"
    assert links.probe_for_error(ConnectionResetError()).error == "connection"
    assert links.probe_for_error(OSError(errno.ENETUNREACH, "Network is unreachable")).error == "unreachable"
    # Only certificates that prove the site broken are dead; the codes are OpenSSL's, as Python reports them.
    assert links.probe_for_error(verify_error(10, "certificate has expired")).error == "tls_expired"
    assert links.probe_for_error(verify_error(62, "Hostname mismatch")).error == "tls_mismatch"
    assert links.probe_for_error(verify_error(64, "IP address mismatch")).error == "tls_mismatch"
    assert links.probe_for_error(verify_error(20, "unable to get local issuer certificate")).error == "tls"
    assert links.probe_for_error(ssl.SSLCertVerificationError("bad cert")).error == "tls"
    assert links.probe_for_error(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")).error == "tls"


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
    assert links.check_url("https://a.example/x", fetch, 1, resolve=PUBLIC).status == "ok"
    loop = scripted({"https://a.example/l": Probe(302, "https://a.example/l")})
    assert links.check_url("https://a.example/l", loop, 1, max_redirects=3, resolve=PUBLIC).status == "dead"
    assert len(loop.asked) == 4  # the first request and three hops, HEAD only: no status to confirm
    odd = scripted({"https://a.example/m": Probe(302, "mailto:x@example.org")})
    assert links.check_url("https://a.example/m", odd, 1, resolve=PUBLIC).status == "unsure"


def test_a_head_error_is_confirmed_with_get():
    fetch = scripted({("HEAD", "https://a.example/"): Probe(404), ("GET", "https://a.example/"): Probe(200)})
    assert links.check_url("https://a.example/", fetch, 1, resolve=PUBLIC) == Outcome("ok", 200, "working (200)")


def test_local_and_private_addresses_are_not_requested():
    names = resolver({"public.example": ["93.184.215.14"], "127.0.0.1": ["127.0.0.1"],
                      "intranet.example": ["10.0.0.5"], "metadata.example": ["169.254.169.254"],
                      "mixed.example": ["93.184.215.14", "192.168.1.1"]})
    fetch = scripted({"https://public.example/": Probe(302, "http://127.0.0.1/admin"),
                      "https://public.example/in": Probe(301, "https://intranet.example/")})
    for url in ["http://127.0.0.1/", "https://public.example/", "https://public.example/in",
                "http://metadata.example/latest/meta-data/", "https://mixed.example/"]:
        outcome = links.check_url(url, fetch, 1, resolve=names)
        assert (outcome.status, outcome.reason) == ("unsure", "not checked: private or local address"), url
    assert fetch.asked == [("HEAD", "https://public.example/"), ("HEAD", "https://public.example/in")]
    ports = links.check_url("https://public.example:8443/", fetch, 1, resolve=names)
    assert ports.reason == "not checked: port 8443" and len(fetch.asked) == 2
    links.check_url("https://public.example:443/", fetch, 1, resolve=names)
    assert fetch.asked[2] == ("HEAD", "https://public.example:443/")  # the web ports are fine


def test_the_network_fetch_itself_refuses_local_addresses(server):
    """The backstop: the connection is opened only to the address checked, whatever the name says later."""
    fetch = links.urllib_fetch("test")
    assert fetch("HEAD", f"{server.base}/ok", 1) == Probe(error="port", detail=str(server.server_address[1]))
    assert fetch("HEAD", "http://127.0.0.1/", 1) == Probe(error="private", detail="127.0.0.1")
    assert links.check_url(f"{server.base}/ok", fetch, 1).reason.startswith("not checked: port")
    assert server.seen == []


@pytest.mark.parametrize("address, public", [
    ("93.184.215.14", True), ("2606:4700::6810:84e5", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1", False), ("fd00::1", False), ("::ffff:127.0.0.1", False),
    ("2002:7f00:1::1", False), ("64:ff9b::a00:1", False),
])
def test_only_globally_routable_addresses_are_public(address, public):
    assert links.is_public_address(address) is public


def test_non_ascii_links_are_sent_encoded():
    assert links.ascii_url("https://bücher.example/straße?q=ü b") == \
        "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC%20b"
    assert links.ascii_url("https://a.example/a%20b?x=1&y=%C3%BC") == "https://a.example/a%20b?x=1&y=%C3%BC"
    fetch = scripted({"https://xn--bcher-kva.example/caf%C3%A9": Probe(200)})
    assert links.check_url("https://Bücher.example/café", fetch, 1, resolve=PUBLIC).status == "ok"
    bad = links.check_url("https://" + "ü" * 70 + ".example/", fetch, 1, resolve=PUBLIC)
    assert (bad.status, bad.reason) == ("unsure", "link address could not be read")


def test_per_host_limit_holds_across_many_hosts_without_parking_workers():
    """Two requests to the busy host are held open until every other site has been checked:
    that finishes only if the free workers went on to the other hosts instead of waiting."""
    changed = threading.Condition()
    in_flight, peaks = {}, {"total": 0}
    state = {"sites_done": 0, "released": False, "guard_expired": False}

    def fetch(method, url, timeout):
        host = urlsplit(url).hostname
        with changed:
            in_flight[host] = in_flight.get(host, 0) + 1
            peaks[host] = max(peaks.get(host, 0), in_flight[host])
            peaks["total"] = max(peaks["total"], sum(in_flight.values()))
            if host == "zoom.example" and not state["released"]:
                state["released"] = changed.wait_for(
                    lambda: state["released"] or (state["sites_done"] == 10 and in_flight[host] == 2),
                    timeout=GUARD_S)
                state["guard_expired"] |= not state["released"]
                changed.notify_all()
            in_flight[host] -= 1
            if host != "zoom.example":
                state["sites_done"] += 1
                changed.notify_all()
        return Probe(200)

    # Most links on one video service, as in real meeting lists.
    urls = [f"https://zoom.example/j/{n}" for n in range(30)] + [f"https://site{n}.example/" for n in range(10)]
    results = links.check_urls(urls, fetch, concurrency=6, per_host=2, timeout=1, resolve=PUBLIC)
    assert len(results) == 40 and {o.status for o in results.values()} == {"ok"}
    assert state["released"] and not state["guard_expired"]
    assert peaks.pop("total") <= 6
    assert peaks.pop("zoom.example") == 2
    assert max(peaks.values()) == 1  # one link each on the other sites


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


def stamp(moment):
    return moment.isoformat(timespec="seconds")


def test_store_round_trip_and_dead_links_by_listing(tmp_path):
    path = tmp_path / "var" / "link-checks.sqlite"
    assert link_checks.load_checks(path) == [] and link_checks.dead_links(path, ["s:1"]) == {}
    now, earlier = stamp(NOW), stamp(NOW - timedelta(days=3))
    checks = [
        LinkCheck("https://a.example/", ("s:1", "s:2"), "dead", 404, "page not found (404)", earlier, now),
        LinkCheck("https://b.example/", ("s:1",), "unsure", None, "timed out", earlier, now),
        LinkCheck("https://c.example/", ("s:3",), "ok", 200, "working (200)", None, now),
        LinkCheck("https://d.example/", ("s:3",), "dead", 410, "page gone (410)", now, now),  # not confirmed
    ]
    link_checks.save_checks(path, checks)
    assert link_checks.load_checks(path) == checks
    assert link_checks.dead_links(path, ["s:1", "s:3", "s:9"]) == {"s:1": [checks[0]]}
    link_checks.save_checks(path, [replace(checks[0], status="ok", http_status=200, first_failed_at=None)])
    assert link_checks.dead_links(path, ["s:1", "s:2"]) == {}
    assert [c.url for c in link_checks.load_checks(path)] == ["https://a.example/"]
    assert os.listdir(path.parent) == [path.name]  # nothing left beside it


@pytest.mark.parametrize("failing_for, shown", [
    (timedelta(0), False), (timedelta(days=1, hours=23), False), (link_checks.CONFIRM_DEAD_AFTER, True),
    (timedelta(days=9), True),
])
def test_a_dead_link_is_shown_only_once_a_later_check_confirms_it(tmp_path, failing_for, shown):
    check = LinkCheck("https://a.example/", ("s:1",), "dead", 404, "page not found (404)",
                      stamp(NOW - failing_for), stamp(NOW))
    link_checks.save_checks(tmp_path / "checks.sqlite", [check])
    assert link_checks.confirmed_dead(check) is shown
    assert link_checks.dead_links(tmp_path / "checks.sqlite", ["s:1"]) == ({"s:1": [check]} if shown else {})
    # Failing long ago but unsure now (a timeout): not dead.
    assert not link_checks.confirmed_dead(replace(check, status="unsure", first_failed_at=stamp(NOW - timedelta(days=9))))


def test_the_previous_file_stays_whole_when_a_save_is_interrupted(tmp_path):
    path = tmp_path / "checks.sqlite"
    kept = LinkCheck("https://a.example/", ("s:1",), "dead", 404, "page not found (404)",
                     stamp(NOW - timedelta(days=3)), stamp(NOW))
    link_checks.save_checks(path, [kept])
    os.chmod(path, 0o640)

    def interrupted():
        yield replace(kept, url="https://b.example/")
        raise KeyboardInterrupt  # Ctrl-C (or a kill) half-way through writing

    with pytest.raises(KeyboardInterrupt):
        link_checks.save_checks(path, interrupted())
    assert link_checks.load_checks(path) == [kept] and os.listdir(tmp_path) == [path.name]
    # A leftover from a run killed outright is cleared by a later save once it is old.
    leftover = tmp_path / ".checks.sqlite.0123.new"
    leftover.write_bytes(b"half a file")
    os.utime(leftover, (time.time() - 2 * link_checks.LEFTOVER_AGE_S,) * 2)
    link_checks.save_checks(path, [replace(kept, reason="page gone (410)")])
    assert os.listdir(tmp_path) == [path.name] and link_checks.load_checks(path)[0].reason == "page gone (410)"
    assert os.stat(path).st_mode & 0o777 == 0o640  # the web app's group can still read it


@pytest.mark.parametrize("content", [b"", b"not a database at all, just some bytes" * 100, "foreign", "bad json"])
def test_a_damaged_file_flags_nothing_and_never_breaks_the_app(tmp_path, caplog, content):
    path = tmp_path / "checks.sqlite"
    if content == "foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE other (x)")
    elif content == "bad json":
        link_checks.save_checks(path, [LinkCheck("https://a.example/", ("s:1",), "dead", 404, "page not found (404)",
                                           stamp(NOW - timedelta(days=3)), stamp(NOW))])
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE link_checks SET listing_ids = '[not json'")
    else:
        path.write_bytes(content)
    logger = logging.getLogger("linkage")
    logger.addHandler(caplog.handler)  # "linkage" may not propagate once the app configured logging
    try:
        with caplog.at_level(logging.WARNING, logger="linkage"):
            assert link_checks.dead_links(path, ["s:1"]) == {}
    finally:
        logger.removeHandler(caplog.handler)
    assert any("cannot read link checks" in record.getMessage() for record in caplog.records)
    with pytest.raises((sqlite3.Error, ValueError)):
        link_checks.load_checks(path)  # the command reports it; only the web app must carry on


def test_each_version_of_the_file_is_read_once_however_many_pages_ask(tmp_path, monkeypatch):
    path = tmp_path / "checks.sqlite"
    dead = LinkCheck("https://a.example/", ("s:1", "s:2"), "dead", 404, "page not found (404)",
                     stamp(NOW - timedelta(days=3)), stamp(NOW))
    link_checks.save_checks(path, [dead])
    opened = []
    real = link_checks._read_only
    monkeypatch.setattr(link_checks, "_read_only", lambda where: opened.append(where) or real(where))
    for _ in range(50):  # fifty searches, each asking for its page of ids
        assert link_checks.dead_links(path, ["s:2", "s:9", "s:1"]) == {"s:1": [dead], "s:2": [dead]}
    assert len(opened) == 1
    # The next run replaces the file: the next page reads the new one, once.
    gone = replace(dead, url="https://b.example/", listing_ids=("s:9",))
    link_checks.save_checks(path, [replace(dead, status="ok", http_status=200, first_failed_at=None), gone])
    for _ in range(50):
        assert link_checks.dead_links(path, ["s:1", "s:9"]) == {"s:9": [gone]}
    assert len(opened) == 2
    # What a caller does with its answer does not change the next one's.
    link_checks.dead_links(path, ["s:9"])["s:9"].clear()
    assert link_checks.dead_links(path, ["s:9"]) == {"s:9": [gone]}


def test_a_damaged_file_is_reported_once_not_on_every_search(tmp_path):
    path = tmp_path / "checks.sqlite"
    path.write_bytes(b"not a database at all, just some bytes" * 100)
    said = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: said.append(record.getMessage())
    logger = logging.getLogger("linkage")
    logger.addHandler(handler)
    try:
        for _ in range(20):
            assert link_checks.dead_links(path, ["s:1"]) == {}
    finally:
        logger.removeHandler(handler)
    assert [message for message in said if "cannot read link checks" in message] == [
        f"cannot read link checks from {path}, flagging no dead links: file is not a database"]


def test_a_run_where_most_hosts_cannot_be_reached_looks_like_our_network():
    def run(failing, working, error="dns"):
        results = {f"https://down{n}.example/": Outcome("dead", None, "", error) for n in range(failing)}
        results |= {f"https://up{n}.example/": Outcome("ok", 200, "working (200)") for n in range(working)}
        return results

    assert links.network_looks_down(run(3, 2))
    assert links.network_looks_down(run(6, 4, "refused")) and links.network_looks_down(run(6, 0, "dns_temporary"))
    assert not links.network_looks_down(run(5, 5))  # half is not most
    assert not links.network_looks_down(run(4, 0))  # too few hosts to tell
    assert not links.network_looks_down(run(9, 1, "timeout"))
    # A host with one working link is reachable, however many of its other links fail.
    mixed = run(6, 0) | {f"https://down{n}.example/ok": Outcome("ok", 200, "working (200)") for n in range(3)}
    assert not links.network_looks_down(mixed)


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
            "--timeout", "2", "--concurrency", "4", "--per-host", "2", "--allow-private-addresses"]

    assert cli.main(args) == 0
    out = capsys.readouterr().out
    today = datetime.now(timezone.utc).date().isoformat()
    assert f"dead (failing since {today})  {base}/missing  page not found (404)  listings: {ids[0]}" in out
    assert (f"dead (failing since {today})  {base}/recovering  page not found (404)  "
            f"listings: {', '.join(sorted(ids[1:3]))}") in out
    assert f"unsure  {base}/broken  server error (500)  listings: {ids[1]}" in out
    assert out.strip().splitlines()[-1] == \
        "checked 5 of 5 links from 4 listings: 2 ok, 2 dead (0 confirmed), 1 unsure"
    assert server.peak <= 2
    assert link_checks.dead_links(store, ids) == {}  # one failing check is not enough to show a link as dead

    # As if that run had been three days ago: the next run confirms what still fails.
    link_checks.save_checks(store, [replace(c, first_failed_at=c.first_failed_at.replace(today, "2000-01-01"))
                              if c.first_failed_at else c for c in link_checks.load_checks(store)])
    server.recovering_status = 200
    assert cli.main([*args, "--only-dead"]) == 0
    out = capsys.readouterr().out
    assert f"dead (confirmed)  {base}/missing  page not found (404)  listings: {ids[0]}" in out
    assert not any(line.startswith("unsure") for line in out.splitlines())
    assert f"{base}/recovering" not in out
    assert link_checks.dead_links(store, ids) == {ids[0]: [c for c in link_checks.load_checks(store) if c.url.endswith("/missing")]}
    recovered = next(c for c in link_checks.load_checks(store) if c.url.endswith("/recovering"))
    assert recovered.status == "ok" and recovered.first_failed_at is None

    assert cli.main([*args, "--limit", "1"]) == 0
    assert "checked 1 of 5 links from 4 listings:" in capsys.readouterr().out
    assert len(link_checks.load_checks(store)) == 5  # the unchecked four keep their last results


def test_check_links_records_nothing_when_the_network_looks_down(demo_listings, tmp_path, capsys):
    """Every host refusing at once is this machine's trouble; the last good results stay."""
    # Six hosts (127.0.0.0/8 is all loopback on Linux), each refusing on a closed port.
    port = int(refused_url().rsplit(":", 1)[1].strip("/"))
    listings = [replace(listing, contact=Contact(website=f"http://127.0.0.{n + 2}:{port}/"))
                for n, listing in enumerate(demo_listings[:6])]
    db, store = tmp_path / "index.sqlite", tmp_path / "link-checks.sqlite"
    SQLiteBackend(db).load(listings)
    before = [LinkCheck(listings[0].contact.website, (listings[0].id,), "ok", 200, "working (200)", None,
                        stamp(NOW))]
    link_checks.save_checks(store, before)
    code = cli.main(["check-links", "--backend", "sqlite", "--sqlite-path", str(db), "--link-checks-path",
                     str(store), "--timeout", "2", "--allow-private-addresses"])
    assert code == 1
    err = capsys.readouterr().err
    assert "6 of 6 links, on most of their sites, could not be looked up" in err and "nothing was recorded" in err
    assert link_checks.load_checks(store) == before


def test_check_links_fails_clearly_when_the_index_cannot_be_read(tmp_path, capsys):
    code = cli.main(["check-links", "--backend", "sqlite", "--sqlite-path", str(tmp_path / "missing.sqlite"),
                     "--link-checks-path", str(tmp_path / "checks.sqlite")])
    assert code == 1
    assert "cannot read the listings: no index at missing.sqlite" in capsys.readouterr().err
    assert not (tmp_path / "checks.sqlite").exists()
