"""Check listings' websites and online-meeting links; record the dead ones.

plan (URL -> listing ids) -> check each distinct URL (bounded threads, at most a few per
host) -> classify (ok | dead | unsure) -> merge with the previous run -> one SQLite file.

A link is called dead only on evidence that it is gone (404/410, no such host, connection
refused, TLS failure, a redirect loop). Timeouts, 429 and 5xx are `unsure`: servers hiccup,
and a referral tool that hides a working meeting link does more harm than one that shows a
broken one.
"""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import ssl
import urllib.error
import urllib.request
from collections import Counter, OrderedDict, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urldefrag, urljoin, urlsplit

from service.models import Listing

DEFAULT_CONCURRENCY = 8
DEFAULT_PER_HOST = 2
DEFAULT_TIMEOUT_S = 10.0
MAX_REDIRECTS = 5
# The contact fields that hold links a client would follow.
LINK_FIELDS = ("website", "conference_url", "registration_url")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Error kinds a fetch reports, and which of them prove a link is gone.
DEAD_ERRORS = {
    "dns": "no such host",
    "refused": "connection refused",
    "tls": "TLS error",
    "too_many_redirects": "too many redirects",
}
UNSURE_ERRORS = {
    "dns_temporary": "DNS lookup failed for now",
    "timeout": "timed out",
    "connection": "connection failed",
    "bad_redirect": "redirect to a non-web address",
    "other": "request failed",
}
STATUSES = ("ok", "dead", "unsure")


@dataclass(frozen=True)
class Probe:
    """What one HTTP request saw: a status (and Location), or an error kind."""

    http_status: int | None = None
    location: str | None = None
    error: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    """A URL's verdict from one run."""

    status: str
    http_status: int | None
    reason: str


@dataclass(frozen=True)
class LinkCheck:
    """One URL as recorded: which listings use it and how it last answered."""

    url: str
    listing_ids: tuple[str, ...]
    status: str
    http_status: int | None
    reason: str
    first_failed_at: str | None
    last_checked_at: str


# A single request, injected: (method, url, timeout in seconds) -> Probe.
Fetch = Callable[[str, str, float], Probe]


# -- planning (pure) ---------------------------------------------------------------------


def listing_urls(listing: Listing) -> list[str]:
    """The web links of one listing, without fragments; mailto:, tel: and the like skipped."""
    urls = []
    for name in LINK_FIELDS:
        value = (getattr(listing.contact, name) or "").strip()
        # The fragment never reaches the server, so page#a and page#b are one check.
        try:
            url = urldefrag(value).url
            parts = urlsplit(url)
        except ValueError:
            continue  # e.g. an unclosed IPv6 bracket: no browser could open it either
        if parts.scheme.lower() in ("http", "https") and parts.hostname and url not in urls:
            urls.append(url)
    return urls


def plan_checks(listings: Iterable[Listing]) -> dict[str, tuple[str, ...]]:
    """Each distinct URL with the ids of the listings that show it, URLs sorted."""
    users: dict[str, set[str]] = {}
    for listing in listings:
        for url in listing_urls(listing):
            users.setdefault(url, set()).add(listing.id)
    return {url: tuple(sorted(users[url])) for url in sorted(users)}


def checking_order(urls: Iterable[str], last_checked: dict[str, str]) -> list[str]:
    """Never-checked URLs first, then the longest unchecked: repeated --limit runs cover all."""
    return sorted(urls, key=lambda url: (url in last_checked, last_checked.get(url, ""), url))


def host_of(url: str) -> str:
    """The host a URL's requests go to (the per-host limit counts by it)."""
    return (urlsplit(url).hostname or "").lower()


# -- classifying (pure) ------------------------------------------------------------------


def classify(probe: Probe) -> Outcome:
    """ok for a final 2xx/3xx; dead for 404/410 and proven-gone errors; unsure otherwise."""
    if probe.error:
        detail = f": {probe.detail}" if probe.detail else ""
        if probe.error in DEAD_ERRORS:
            return Outcome("dead", None, DEAD_ERRORS[probe.error] + detail)
        return Outcome("unsure", None, UNSURE_ERRORS.get(probe.error, UNSURE_ERRORS["other"]) + detail)
    status = probe.http_status
    if status is not None and 200 <= status < 400:
        return Outcome("ok", status, f"HTTP {status}")
    if status in (404, 410):
        return Outcome("dead", status, f"HTTP {status}")
    # 429, 5xx, and 401/403/451 (a login wall or a bot filter): the page may well be there.
    return Outcome("unsure", status, f"HTTP {status}")


def probe_for_error(exc: BaseException) -> Probe:
    """The error kind of a failed request (the order matters: these classes nest)."""
    detail = str(exc)[:200]
    if isinstance(exc, socket.gaierror):
        # EAI_AGAIN is the resolver failing, not the name missing.
        kind = "dns_temporary" if exc.errno == socket.EAI_AGAIN else "dns"
        return Probe(error=kind, detail=detail)
    if isinstance(exc, ConnectionRefusedError):
        return Probe(error="refused")
    if isinstance(exc, ssl.SSLError):
        return Probe(error="tls", detail=detail)
    if isinstance(exc, TimeoutError):
        return Probe(error="timeout")
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return Probe(error="connection", detail=type(exc).__name__)
    return Probe(error="other", detail=detail or type(exc).__name__)


# -- checking ----------------------------------------------------------------------------


def follow(url: str, method: str, fetch: Fetch, timeout: float, max_redirects: int = MAX_REDIRECTS) -> Probe:
    """Request a URL, following up to max_redirects redirects; the last answer."""
    current = url
    for _ in range(max_redirects + 1):
        probe = fetch(method, current, timeout)
        if probe.error or probe.http_status not in REDIRECTS or not probe.location:
            return probe
        current = urldefrag(urljoin(current, probe.location)).url
        if urlsplit(current).scheme.lower() not in ("http", "https"):
            return Probe(error="bad_redirect", detail=current[:200])
    return Probe(error="too_many_redirects", detail=f"more than {max_redirects}")


def check_url(url: str, fetch: Fetch, timeout: float, max_redirects: int = MAX_REDIRECTS) -> Outcome:
    """HEAD the URL; confirm an HTTP error with GET, since many servers refuse or mishandle HEAD."""
    probe = follow(url, "HEAD", fetch, timeout, max_redirects)
    # A GET before calling a link dead (some servers answer HEAD with 404, 403, 405 or 501),
    # but none after a 429: the server asked us to slow down.
    if probe.http_status is not None and probe.http_status >= 400 and probe.http_status != 429:
        probe = follow(url, "GET", fetch, timeout, max_redirects)
    return classify(probe)


def check_urls(urls: Iterable[str], fetch: Fetch, *, concurrency: int = DEFAULT_CONCURRENCY,
               per_host: int = DEFAULT_PER_HOST, timeout: float = DEFAULT_TIMEOUT_S,
               max_redirects: int = MAX_REDIRECTS,
               progress: Callable[[int], None] | None = None) -> dict[str, Outcome]:
    """Check URLs with at most `concurrency` in flight, and at most `per_host` per host.

    Work is handed to the pool only when its host has room, so a run dominated by one host
    (every meeting on the same video service) never parks workers waiting on that host.
    Redirects to another host count against the first host.
    """
    if concurrency < 1 or per_host < 1:
        raise ValueError("concurrency and per_host must be at least 1")
    queues: OrderedDict[str, deque[str]] = OrderedDict()
    for url in urls:
        queues.setdefault(host_of(url), deque()).append(url)
    busy: Counter[str] = Counter()
    results: dict[str, Outcome] = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="check-links") as pool:
        running = {}
        while queues or running:
            # Hosts in turn, so a long queue for one host does not starve the others.
            for host in list(queues):
                queue = queues[host]
                while queue and len(running) < concurrency and busy[host] < per_host:
                    url = queue.popleft()
                    running[pool.submit(check_url, url, fetch, timeout, max_redirects)] = (url, host)
                    busy[host] += 1
                if not queue:
                    del queues[host]
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                url, host = running.pop(future)
                busy[host] -= 1
                results[url] = future.result()
                if progress:
                    progress(len(results))
    return results


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back: `follow` counts the hops and sees each Location."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def urllib_fetch(user_agent: str) -> Fetch:
    """The network call: one request with the standard library, no redirects followed."""
    opener = urllib.request.build_opener(_NoRedirect)

    def fetch(method: str, url: str, timeout: float) -> Probe:
        request = urllib.request.Request(url, method=method, headers={"User-Agent": user_agent, "Accept": "*/*"})
        try:
            # The body is never read: the status line and headers are the answer.
            with opener.open(request, timeout=timeout) as response:
                return Probe(response.status, response.headers.get("Location"))
        except urllib.error.HTTPError as exc:
            with exc:
                return Probe(exc.code, exc.headers.get("Location") if exc.headers else None)
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, BaseException) else OSError(str(exc.reason))
            return probe_for_error(reason)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # ValueError: a URL http.client will not send (control characters, a bad port).
            return probe_for_error(exc)

    return fetch


def user_agent_for(public_url: str) -> str:
    """Say who is asking, with a page a site owner can read about us."""
    return f"Linkage link checker (+{public_url.rstrip('/')})"


# -- recording ---------------------------------------------------------------------------


def merge_checks(previous: Iterable[LinkCheck], plan: dict[str, tuple[str, ...]],
                 results: dict[str, Outcome], now: datetime) -> list[LinkCheck]:
    """The records after a run: checked URLs updated, unchecked ones kept, unused ones dropped.

    Listing ids always come from the current plan, so a listing that changed its website is
    no longer flagged by its old one. first_failed_at is the start of the current failing
    streak, cleared when the URL answers again.
    """
    stamp = now.isoformat(timespec="seconds")
    before = {check.url: check for check in previous}
    merged = []
    for url, listing_ids in plan.items():
        old = before.get(url)
        outcome = results.get(url)
        if outcome is None:
            if old is not None:
                merged.append(replace(old, listing_ids=listing_ids))
            continue
        if outcome.status == "ok":
            first_failed = None
        elif old is not None and old.status != "ok" and old.first_failed_at:
            first_failed = old.first_failed_at
        else:
            first_failed = stamp
        merged.append(LinkCheck(url, listing_ids, outcome.status, outcome.http_status, outcome.reason,
                                first_failed, stamp))
    return merged


SCHEMA = """
CREATE TABLE IF NOT EXISTS link_checks (
    url TEXT PRIMARY KEY,
    listing_ids TEXT NOT NULL,          -- JSON array, for reports
    status TEXT NOT NULL CHECK (status IN ('ok', 'dead', 'unsure')),
    http_status INTEGER,
    reason TEXT NOT NULL,
    first_failed_at TEXT,
    last_checked_at TEXT NOT NULL
);
-- The web app asks by listing id, a page of results at a time.
CREATE TABLE IF NOT EXISTS link_listings (
    listing_id TEXT NOT NULL,
    url TEXT NOT NULL REFERENCES link_checks(url),
    PRIMARY KEY (listing_id, url)
);
"""
COLUMN_NAMES = ("url", "listing_ids", "status", "http_status", "reason", "first_failed_at", "last_checked_at")
COLUMNS = ", ".join(COLUMN_NAMES)


def _row_to_check(row) -> LinkCheck:
    url, listing_ids, status, http_status, reason, first_failed_at, last_checked_at = row
    return LinkCheck(url, tuple(json.loads(listing_ids)), status, http_status, reason,
                     first_failed_at, last_checked_at)


def save_checks(path: str | Path, checks: Iterable[LinkCheck]) -> None:
    """Replace the recorded checks in one transaction (readers see the old set or the new)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executescript(SCHEMA)
            conn.execute("DELETE FROM link_listings")
            conn.execute("DELETE FROM link_checks")
            for check in checks:
                conn.execute(
                    f"INSERT INTO link_checks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (check.url, json.dumps(list(check.listing_ids)), check.status, check.http_status,
                     check.reason, check.first_failed_at, check.last_checked_at),
                )
                conn.executemany("INSERT INTO link_listings (listing_id, url) VALUES (?, ?)",
                                 [(listing_id, check.url) for listing_id in check.listing_ids])
    finally:
        conn.close()


def _read_only(path: Path) -> sqlite3.Connection | None:
    """A read-only connection, or None when no run has recorded anything yet."""
    if not path.exists():
        return None
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def load_checks(path: str | Path) -> list[LinkCheck]:
    """Every recorded check, by URL; empty before the first run."""
    conn = _read_only(Path(path))
    if conn is None:
        return []
    try:
        rows = conn.execute(f"SELECT {COLUMNS} FROM link_checks ORDER BY url").fetchall()
    finally:
        conn.close()
    return [_row_to_check(row) for row in rows]


def dead_links(path: str | Path, listing_ids: Iterable[str]) -> dict[str, list[LinkCheck]]:
    """The dead links of each of these listings (listings with none are left out)."""
    wanted = sorted(set(listing_ids))
    if not wanted:
        return {}
    conn = _read_only(Path(path))
    if conn is None:
        return {}
    found: dict[str, list[LinkCheck]] = {}
    try:
        marks = ",".join("?" * len(wanted))
        rows = conn.execute(
            f"SELECT l.listing_id, {', '.join('c.' + name for name in COLUMN_NAMES)} "
            f"FROM link_listings l JOIN link_checks c ON c.url = l.url "
            f"WHERE c.status = 'dead' AND l.listing_id IN ({marks}) ORDER BY l.listing_id, c.url",
            wanted,
        ).fetchall()
    finally:
        conn.close()
    for listing_id, *row in rows:
        found.setdefault(listing_id, []).append(_row_to_check(row))
    return found
