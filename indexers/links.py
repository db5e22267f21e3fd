"""Check listings' websites and online-meeting links; record the dead ones.

plan (URL -> listing ids) -> check each distinct URL (bounded threads, at most a few per
host) -> classify (ok | dead | unsure) -> merge with the previous run -> one SQLite file.

A link is called dead only on evidence that it is gone (404/410, no such host, connection
refused, an expired or mismatched certificate, a redirect loop), and shown as dead only once
it has failed on checks at least CONFIRM_DEAD_AFTER apart. Timeouts, 429, 5xx and other TLS
failures are `unsure`: servers hiccup, and a referral tool that hides a working meeting link
does more harm than one that shows a broken one.

Links are followed only to public addresses on ports 80 and 443: the checker runs inside the
deployment, and a listing's link must not make it request an internal service.
"""

from __future__ import annotations

import errno
import http.client
import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from collections import Counter, OrderedDict, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Iterable
from urllib.parse import quote, urldefrag, urljoin, urlsplit, urlunsplit

from service.domain.models import Listing
from service.domain.text import LINK_FIELDS, link_url
from service.link_checks import LinkCheck

DEFAULT_CONCURRENCY = 8
DEFAULT_PER_HOST = 2
DEFAULT_TIMEOUT_S = 10.0
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Web ports only: any other port on a public host is more likely a service than a page.
ALLOWED_PORTS = frozenset({80, 443})
# Error kinds a fetch reports: the verdict, and the reason as clinicians read it.
ERRORS = {
    "dns": ("dead", "site address does not exist"),
    "refused": ("dead", "connection refused"),
    "tls_expired": ("dead", "security certificate expired"),
    "tls_mismatch": ("dead", "certificate does not match the site"),
    "too_many_redirects": ("dead", "too many redirects"),
    "dns_temporary": ("unsure", "site address could not be looked up"),
    "unreachable": ("unsure", "site could not be reached"),
    "tls": ("unsure", "secure connection failed"),
    "timeout": ("unsure", "timed out"),
    "connection": ("unsure", "connection failed"),
    "bad_redirect": ("unsure", "redirects to a non-web address"),
    "bad_address": ("unsure", "link address could not be read"),
    "private": ("unsure", "not checked: private or local address"),
    "port": ("unsure", "not checked: port {detail}"),
    "other": ("unsure", "request failed"),
}
# Errors that say more about this machine's network than about a site, when most hosts show them.
NETWORK_ERRORS = frozenset({"dns", "dns_temporary", "refused", "unreachable"})
NETWORK_CHECK_MIN_HOSTS = 5
# OpenSSL's verify codes for certificates that prove the site itself is misconfigured. Others
# (unable to get local issuer certificate, ...) may be this machine's CA store or a missing
# intermediate that browsers fetch themselves.
CERT_EXPIRED = 10  # X509_V_ERR_CERT_HAS_EXPIRED
CERT_MISMATCH = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


@dataclass(frozen=True)
class Probe:
    """What one HTTP request saw: a status (and Location), or an error kind."""

    http_status: int | None = None
    location: str | None = None
    error: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    """A URL's verdict from one run; `detail` is for the operator, never shown to clinicians."""

    status: str
    http_status: int | None
    reason: str
    error: str | None = None
    detail: str = ""


# A single request, injected: (method, url, timeout in seconds) -> Probe.
Fetch = Callable[[str, str, float], Probe]
# A name lookup, injected: host -> the addresses it resolves to (raises socket.gaierror).
Resolve = Callable[[str], list[str]]


class NotChecked(OSError):
    """A request refused before it was made (a private address, a port other than 80/443)."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


# -- planning (pure) ---------------------------------------------------------------------


def listing_urls(listing: Listing) -> list[str]:
    """The web links of one listing, without fragments; mailto:, tel: and the like skipped."""
    urls = []
    for name in LINK_FIELDS:
        url = link_url(getattr(listing.contact, name))
        if url and url not in urls:
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


# WHATWG's path and query percent-encode sets (beyond controls and non-ASCII): what a
# browser encodes before sending, so the server sees what it would from a click.
_PATH_UNSAFE = frozenset(' "<>`{}')
_QUERY_UNSAFE = frozenset(' "<>')


def _percent_encode(text: str, unsafe: frozenset[str]) -> str:
    # Existing %XX escapes are kept as they are.
    return "".join(c if 0x20 < ord(c) < 0x7F and c not in unsafe else quote(c, safe="") for c in text)


def ascii_url(url: str) -> str:
    """The URL as sent: IDNA host, path and query percent-encoded as UTF-8 (raises ValueError)."""
    if url.isascii() and not any(ord(c) <= 0x20 or ord(c) == 0x7F or c in _PATH_UNSAFE for c in url):
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not hostport.isascii():
        port = f":{parts.port}" if parts.port is not None else ""
        hostport = parts.hostname.encode("idna").decode("ascii") + port
    netloc = _percent_encode(userinfo, _PATH_UNSAFE | {"/", "?", "#"}) + at + hostport
    return urlunsplit((parts.scheme, netloc, _percent_encode(parts.path, _PATH_UNSAFE),
                       _percent_encode(parts.query, _QUERY_UNSAFE), ""))


# -- classifying (pure) ------------------------------------------------------------------


def http_reason(status: int) -> str:
    """An HTTP status as a clinician would put it."""
    named = {404: "page not found", 410: "page gone", 401: "login required", 403: "access denied",
             429: "too many requests", 451: "blocked for legal reasons"}
    if status in named:
        return f"{named[status]} ({status})"
    if 200 <= status < 400:
        return f"working ({status})"
    if 400 <= status < 500:
        return f"request refused ({status})"
    if 500 <= status < 600:
        return f"server error ({status})"
    return f"unexpected answer ({status})"


def classify(probe: Probe) -> Outcome:
    """ok for a final 2xx/3xx; dead for 404/410 and proven-gone errors; unsure otherwise."""
    if probe.error:
        status, reason = ERRORS.get(probe.error, ERRORS["other"])
        return Outcome(status, None, reason.format(detail=probe.detail), probe.error, probe.detail)
    status = probe.http_status
    if status is None:
        return Outcome("unsure", None, ERRORS["other"][1], "other", probe.detail)
    if 200 <= status < 400:
        return Outcome("ok", status, http_reason(status))
    if status in (404, 410):
        return Outcome("dead", status, http_reason(status))
    # 429, 5xx, and 401/403/451 (a login wall or a bot filter): the page may well be there.
    return Outcome("unsure", status, http_reason(status))


def probe_for_error(exc: BaseException) -> Probe:
    """The error kind of a failed request (the order matters: these classes nest)."""
    detail = str(exc)[:200]
    if isinstance(exc, NotChecked):
        return Probe(error=exc.kind, detail=exc.detail)
    if isinstance(exc, socket.gaierror):
        # EAI_AGAIN is the resolver failing, not the name missing.
        kind = "dns_temporary" if exc.errno == socket.EAI_AGAIN else "dns"
        return Probe(error=kind, detail=detail)
    if isinstance(exc, ConnectionRefusedError):
        return Probe(error="refused")
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", None)
        kind = "tls_expired" if code == CERT_EXPIRED else "tls_mismatch" if code in CERT_MISMATCH else "tls"
        return Probe(error=kind, detail=detail)
    if isinstance(exc, ssl.SSLError):
        return Probe(error="tls", detail=detail)
    if isinstance(exc, TimeoutError):
        return Probe(error="timeout")
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return Probe(error="unreachable", detail=detail)
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return Probe(error="connection", detail=type(exc).__name__)
    return Probe(error="other", detail=detail or type(exc).__name__)


def network_looks_down(results: dict[str, Outcome]) -> bool:
    """Whether most hosts failed to resolve or connect: this machine's network, not the links.

    A host counts as failing when every URL checked on it did; hosts not checked (private
    addresses, other ports) are left out, and too few hosts prove nothing.
    """
    failing: dict[str, bool] = {}
    for url, outcome in results.items():
        if outcome.error in ("private", "port"):
            continue
        host = host_of(url)
        failing[host] = failing.get(host, True) and outcome.error in NETWORK_ERRORS
    return len(failing) >= NETWORK_CHECK_MIN_HOSTS and 2 * sum(failing.values()) > len(failing)


# -- where requests may go ---------------------------------------------------------------


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (not loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address)
    if ip.is_multicast or not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 wrapped in IPv6 (mapped, 6to4, NAT64) reaches the IPv4 address inside.
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public_address(str(inner))
    return True


def system_resolve(host: str) -> list[str]:
    """The addresses a host name resolves to, in the system's preferred order."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def refusal(url: str, resolve: Resolve = system_resolve) -> Probe | None:
    """Why a URL must not be requested (a port other than 80/443, an address not public), or None."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    if port not in ALLOWED_PORTS:
        return Probe(error="port", detail=str(port))
    try:
        addresses = resolve(parts.hostname or "")
    except OSError as exc:
        return probe_for_error(exc)  # no such host: no need to ask again by requesting
    private = [address for address in addresses if not is_public_address(address)]
    if private or not addresses:
        return Probe(error="private", detail=", ".join(private))
    return None


# -- checking ----------------------------------------------------------------------------


def follow(url: str, method: str, fetch: Fetch, timeout: float, max_redirects: int = MAX_REDIRECTS, *,
           allow_private: bool = False, resolve: Resolve = system_resolve) -> Probe:
    """Request a URL, following up to max_redirects redirects; the last answer.

    Each hop is checked against `refusal` first unless allow_private (tests on a local server).
    """
    current = url
    for _ in range(max_redirects + 1):
        try:
            target = ascii_url(current)
            refused = None if allow_private else refusal(target, resolve)
        except ValueError as exc:  # a host IDNA cannot encode, a port out of range
            return Probe(error="bad_address", detail=str(exc)[:200])
        if refused:
            return refused
        probe = fetch(method, target, timeout)
        if probe.error or probe.http_status not in REDIRECTS or not probe.location:
            return probe
        try:
            current = urldefrag(urljoin(target, probe.location)).url
        except ValueError:
            return Probe(error="bad_redirect", detail=probe.location[:200])
        parts = urlsplit(current)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return Probe(error="bad_redirect", detail=current[:200])
    return Probe(error="too_many_redirects", detail=f"more than {max_redirects}")


def check_url(url: str, fetch: Fetch, timeout: float, max_redirects: int = MAX_REDIRECTS, *,
              allow_private: bool = False, resolve: Resolve = system_resolve) -> Outcome:
    """HEAD the URL; confirm an HTTP error with GET, since many servers refuse or mishandle HEAD."""
    hops = {"allow_private": allow_private, "resolve": resolve}
    probe = follow(url, "HEAD", fetch, timeout, max_redirects, **hops)
    # A GET before calling a link dead (some servers answer HEAD with 404, 403, 405 or 501),
    # but none after a 429: the server asked us to slow down.
    if probe.http_status is not None and probe.http_status >= 400 and probe.http_status != 429:
        probe = follow(url, "GET", fetch, timeout, max_redirects, **hops)
    return classify(probe)


def check_urls(urls: Iterable[str], fetch: Fetch, *, concurrency: int = DEFAULT_CONCURRENCY,
               per_host: int = DEFAULT_PER_HOST, timeout: float = DEFAULT_TIMEOUT_S,
               max_redirects: int = MAX_REDIRECTS, allow_private: bool = False,
               resolve: Resolve = system_resolve,
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
    hops = {"allow_private": allow_private, "resolve": resolve}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="check-links") as pool:
        running = {}
        while queues or running:
            # Hosts in turn, so a long queue for one host does not starve the others.
            for host in list(queues):
                queue = queues[host]
                while queue and len(running) < concurrency and busy[host] < per_host:
                    url = queue.popleft()
                    running[pool.submit(check_url, url, fetch, timeout, max_redirects, **hops)] = (url, host)
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


def _connect_public(address, timeout, source_address=None):
    """socket.create_connection, only to public addresses on ports 80/443.

    The name is looked up here, once, and the socket opened to the address checked: a name
    that resolved to a public address in `refusal` cannot switch to a private one now.
    """
    host, port = address
    if port not in ALLOWED_PORTS:
        raise NotChecked("port", str(port))
    addresses = system_resolve(host)
    private = [ip for ip in addresses if not is_public_address(ip)]
    if private or not addresses:
        raise NotChecked("private", ", ".join(private))
    error: OSError | None = None
    for ip in addresses:
        try:
            return socket.create_connection((ip, port), timeout, source_address)
        except OSError as exc:
            error = exc
    raise error


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public  # http.client's own seam for this


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public  # TLS (and SNI) still use the host name


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self):
        self.tls = ssl.create_default_context()
        super().__init__(context=self.tls)

    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, context=self.tls)


def _utf8_header(value: str | None) -> str | None:
    """http.client reads headers as Latin-1; a Location sent as raw UTF-8 is read back as UTF-8."""
    if value is None or value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def urllib_fetch(user_agent: str, *, allow_private: bool = False) -> Fetch:
    """The network call: one request with the standard library, no redirects followed.

    Connections go only to public addresses on ports 80/443 unless allow_private (tests
    against a local server). Proxy settings in the environment are ignored: the addresses
    checked must be the addresses connected to.
    """
    handlers = [urllib.request.ProxyHandler({}), _NoRedirect]
    if not allow_private:
        handlers += [_PublicHTTPHandler, _PublicHTTPSHandler()]
    opener = urllib.request.build_opener(*handlers)

    def fetch(method: str, url: str, timeout: float) -> Probe:
        request = urllib.request.Request(url, method=method, headers={"User-Agent": user_agent, "Accept": "*/*"})
        try:
            # The body is never read: the status line and headers are the answer.
            with opener.open(request, timeout=timeout) as response:
                return Probe(response.status, _utf8_header(response.headers.get("Location")))
        except urllib.error.HTTPError as exc:
            with exc:
                return Probe(exc.code, _utf8_header(exc.headers.get("Location")) if exc.headers else None)
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


