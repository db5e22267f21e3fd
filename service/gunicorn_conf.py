"""gunicorn's production configuration for Linkage.

    gunicorn -c deploy/gunicorn.conf.py            # from the repository or install root

deploy/gunicorn.conf.py, the file deployments name, takes everything from this module, which
ships inside the package so that `linkage serve` (and `make run`) use the same settings.
Every setting can be changed from the environment, so the Docker image, the Kubernetes
Deployment and the systemd unit share this one file:

    WEB_CONCURRENCY            workers (default: usable CPUs + 1, at most MAX_WORKERS)
    HOST, PORT                 where to listen (default 0.0.0.0:8000)
    PROMETHEUS_MULTIPROC_DIR   where workers keep their metrics (default: a private
                               temporary directory, removed when gunicorn exits)

/metrics adds up every worker's series through PROMETHEUS_MULTIPROC_DIR (see
service/observability.py and deploy/README.md).
"""

import atexit
import glob
import math
import os
import shutil
import tempfile

import logging

import gunicorn.config
from gunicorn.glogging import Logger
from gunicorn.workers.sync import SyncWorker

# Each sync worker holds its own copy of the app, its caches and (with SQLite) the index's
# columns, so memory grows with workers: past this many, run another instance instead.
MAX_WORKERS = 8


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, lowered by a cgroup v2 CPU quota
    (a container's CPU limit), which os.cpu_count() does not see."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 CPU limit readable: the affinity mask is the answer
    return cpus


def default_workers() -> int:
    """One worker per usable CPU plus one, so a core never idles while a worker waits on the
    index or the engine; capped at MAX_WORKERS."""
    return min(usable_cpus() + 1, MAX_WORKERS)


wsgi_app = "service.wsgi:app"
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or default_workers())
# Sync workers: searches are CPU-bound Python, and a buffering reverse proxy (nginx, a cloud
# load balancer, an ingress) in front absorbs slow clients. gunicorn's own sync worker, whose
# own error answers (a request it cannot parse, or larger than its limits) also carry the
# security headers (HeaderedSyncWorker, below).
worker_class = "service.gunicorn_conf.HeaderedSyncWorker"

# Load the app once in the master: a broken configuration fails before any worker starts,
# and workers share the loaded code's memory pages (copy-on-write).
preload_app = True

# Request size limits before the app sees anything (the app itself refuses bodies over 64 KB):
# a request line of at most 8 KB, gunicorn's largest, at most 50 headers of at most 8 KB each.
# The app refuses targets over 4 KB itself (service.errors.MAX_REQUEST_TARGET: the longest
# search URL is well under 2 KB), with the error envelope and the security headers. Only what
# is larger than gunicorn's limits gets gunicorn's own bare answer (414, or 400/431 for
# headers): a short fixed HTML page with the reason, no input echoed but its size.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190

# A request is killed after this long; searches take milliseconds, PDF handouts under a second.
timeout = 30
# SIGTERM and HUP give workers this long to finish requests in flight; kept below Docker
# compose's stop_grace_period (25 s) and Kubernetes' terminationGracePeriodSeconds (30 s).
graceful_timeout = 20
# Only threaded or async workers keep connections open; sync workers ignore this. Kept
# below the usual 60 s idle timeout of load balancers for when the worker class changes.
keepalive = 5

# Workers are not recycled after N requests: `make bench-load` shows their memory flat, and
# each recycled worker would leave its metrics files behind for good (counts must not go
# backwards), growing the metrics directory and every scrape. A crashed worker is replaced.
max_requests = 0

# Access log lines on standard output, the app's JSON logs on standard error. Every line goes
# through PrivateLogger (below): the request line with its coordinates rounded and no search
# words, as the app's own log keeps them, and no referring page (an embedding site's own URL
# may carry its visitor's search), whatever the format names.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
logger_class = "service.gunicorn_conf.PrivateLogger"


# The headers every answer carries (service.errors.register_security_headers), for the
# answers gunicorn writes itself: a short HTML page that runs nothing and is framed by no one.
GUNICORN_ERROR_HEADERS = (b"X-Content-Type-Options: nosniff\r\n"
                          b"Referrer-Policy: strict-origin-when-cross-origin\r\n"
                          b"Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
                          b"X-Frame-Options: DENY\r\n")


class _HeaderedSocket:
    """A client socket that adds GUNICORN_ERROR_HEADERS after the status line of what is sent
    through it: gunicorn writes each error answer in one piece, status line first."""

    def __init__(self, sock):
        self._sock = sock

    def sendall(self, data: bytes):
        """Send the answer with the headers added after its first line."""
        status, newline, rest = data.partition(b"\r\n")
        return self._sock.sendall(status + newline + GUNICORN_ERROR_HEADERS + rest if newline else data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class HeaderedSyncWorker(SyncWorker):
    """gunicorn's sync worker; its own error answers carry the security headers too."""

    def handle_error(self, req, client, addr, exc):
        """gunicorn's error handling, writing through a socket that adds the headers."""
        super().handle_error(req, _HeaderedSocket(client), addr, exc)


class _PrivateText(logging.Filter):
    """gunicorn's error lines quote requests. An invalid request's line is quoted in pieces
    (`Invalid HTTP Version: 'words HTTP/1.1'`) that no rule can tell apart: the quote is left
    out. A request whose handling failed is named by its target, which goes through the same
    rule as the access log's."""

    def filter(self, record: logging.LogRecord) -> bool:
        from service.observability import loggable_text

        message = record.getMessage()
        if message.startswith("Invalid request from") and "'" in message:
            record.msg, record.args = message.split("'", 1)[0] + "(the request's text is not logged)", ()
        elif "?" in message:
            record.msg, record.args = loggable_text(message), ()
        return True


class PrivateLogger(Logger):
    """gunicorn's logger, writing no precise place and no search words.

    Every atom an access-log format can name that carries the request target (the request
    line, path, query string, the raw target in the environ) passes through
    `service.observability.loggable_target`, the rule the app's request log follows; the
    referring page is dropped. Error lines are filtered the same way (_PrivateText).
    """

    # Atoms and environ entries that hold the target, and those that hold a referring page.
    _TARGET_ENVIRON = ("{raw_uri}e", "{request_uri}e", "{path_info}e", "{query_string}e", "{script_name}e")
    _REFERRER = ("f", "{referer}i", "{http_referer}e")

    def setup(self, cfg):
        """gunicorn's setup (run again on reload), with the error log's filter added once."""
        super().setup(cfg)
        if not any(isinstance(f, _PrivateText) for f in self.error_log.filters):
            self.error_log.addFilter(_PrivateText())

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's atoms, the target's ones made loggable."""
        from service.observability import loggable_target

        atoms = super().atoms(resp, req, environ, request_time)
        raw = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
        target = loggable_target(raw)
        path, _mark, query = target.partition("?")
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '-')} {target} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["U"] = path
        atoms["q"] = query
        for key in self._TARGET_ENVIRON:
            if atoms.get(key):
                atoms[key] = loggable_target(atoms[key]) if key != "{query_string}e" else query
        for key in self._REFERRER:
            if key in atoms:
                atoms[key] = "-"
        return atoms

# gunicorn 25.1+ opens a control socket under $HOME by default; the app user's home is not
# writable in the image, and several servers may share a machine (tests, benchmarks).
if "control_socket_disable" in {setting.name for setting in gunicorn.config.KNOWN_SETTINGS}:
    control_socket_disable = True


# --- Prometheus metrics shared by all workers -------------------------------------------
# prometheus_client chooses between in-process and file-backed values when it is first
# imported, which with preload_app is while the master loads the app, after this file is
# read: so the variable is set here, before then.

_OWNED_MARKER = "LINKAGE_OWNED_METRICS_DIR"


def _remove_owned_dir(path: str, owner_pid: int) -> None:
    """Delete the metrics directory this master created (forked workers run atexit too)."""
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)


if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # This file is read again on every HUP; the variable, once set, keeps the same directory.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="linkage-metrics-")
    os.environ[_OWNED_MARKER] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    atexit.register(_remove_owned_dir, os.environ["PROMETHEUS_MULTIPROC_DIR"], os.getpid())
else:
    # The master writes its first (empty) values there while preloading the app.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def on_starting(server):
    """Start the counts from zero: delete what an earlier run left in a given directory.

    Runs once per master start, not on HUP, so a graceful reload keeps the counts.
    """
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if path == os.environ.get(_OWNED_MARKER):
        return  # created empty a moment ago
    for stale in glob.glob(os.path.join(path, "*.db")):
        # The master's own files, opened while preloading, only hold zeros; its workers
        # open new files under their own pids.
        os.remove(stale)


def child_exit(server, worker):
    """A worker is gone: drop its live gauges, keep its counts in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def pre_fork(server, worker):
    """Before each worker forks, in the master: warm the preloaded app's index (the first
    time, or again after a refresh replaced the file), so every worker starts ready, shares
    those pages, and the replaced file's space is freed. The one place warm-up happens."""
    if not server.cfg.preload_app:
        return  # no app in the master: each worker loads its own
    from gunicorn.errors import HaltServer

    from service import warm_up
    from service.backends.contract import BackendUnavailable

    try:
        warm_up(server.app.wsgi())
    except BackendUnavailable as exc:
        # An index that cannot serve (a directory, another format, a damaged file) stops the
        # server with one line naming it, not a traceback.
        raise HaltServer(str(exc), 3) from None
