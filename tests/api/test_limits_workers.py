"""Rate limits hold for a whole server, not per worker: real gunicorn with three workers and
the embedded default storage (a SQLite file beside the referrals) allows the limit in total."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import ROOT
from tests.unit.test_deploy import GUNICORN_CONF, free_port, held_request, sqlite_env

LIMIT = 12


def status(url: str, headers: dict | None = None, data: bytes | None = None) -> int:
    """The HTTP status of a request (errors included)."""
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def answers(url: str) -> bool:
    """True once the server answers the URL with a 200."""
    try:
        return status(url) == 200
    except urllib.error.URLError:
        return False


def test_the_api_limit_holds_across_three_gunicorn_workers(sqlite_backend, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = sqlite_env(sqlite_backend, tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="3",
                     TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env["LINKAGE_API_RATE_LIMIT"] = f"{LIMIT}/minute"
    log_path = tmp_path / "gunicorn.log"
    # The worker's pid in each access log line tells which worker answered.
    command = [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONF, "--access-logformat", "%(p)s %(r)s %(s)s"]
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not answers(f"{base}/healthz"):
            assert server.poll() is None, log_path.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)
        # The worker holding a half-sent request answers it last; the others answer the rest.
        with held_request(port, "/v1/places?q=syd") as held:
            with ThreadPoolExecutor(max_workers=9) as pool:
                statuses = list(pool.map(status, [f"{base}/v1/places?q=syd"] * (LIMIT * 4 - 1)))
        statuses.append(held[0])
        time.sleep(0.3)  # a worker logs just after it has answered
        workers = set(re.findall(r"^<(\d+)> GET /v1/places", log_path.read_text(encoding="utf-8"), re.M))
        assert len(workers) >= 2, "one worker answered every request: the test proves nothing"
        assert statuses.count(200) == LIMIT and statuses.count(429) == LIMIT * 3, statuses
    finally:
        if server.poll() is None:
            server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

