"""No log line carries a precise place or a search's words: gunicorn with the production config
(deploy/gunicorn.conf.py) serves a few requests that put both everywhere a request can (the
query, a street address as the place, an unknown parameter, the referring page, an invalid
request line, an over-long one); then every line it and the app wrote is searched.

The access-log format names every atom that can carry the request target, so that a
deployment changing the format cannot bring them back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from tests.unit.test_deploy import GUNICORN_CONF, ROOT, free_port, sqlite_env

# A place near Sydney to six decimals (~10 cm) and the words of a search. Their precise parts
# and the words must be in no log line; the place to two decimals (~1 km) may be.
LAT, LON = "-33.867891", "151.207123"
WORDS = "Quixotic Marigold"
ADDRESS = "12 Smith St Parramatta"
SECRETS = ("867891", "207123", "Quixotic", "Marigold", "Smith St", "quixotic", "marigold")
EVERY_TARGET_ATOM = ('%(h)s "%(r)s" U=%(U)s q=%(q)s f=%(f)s ref=%({referer}i)s raw=%({raw_uri}e)s '
                     'qs=%({query_string}e)s pi=%({path_info}e)s %(s)s')


def call(url: str, headers: dict | None = None) -> int:
    """The status of a GET (errors included)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def raw_request(port: int, line: bytes) -> bytes:
    """Send one request line as given (no client would send it) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_no_log_line_holds_a_precise_place_or_search_words(sqlite_backend, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    env = sqlite_env(sqlite_backend, tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1",
                     TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONF, "--access-logformat", EVERY_TARGET_ATOM]
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text(encoding="utf-8")
            try:
                if call(f"{base}/healthz") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)

        searches = [
            {"lat": LAT, "lon": LON, "q": WORDS},
            {"near": f"{LAT},{LON}", "q": WORDS, "format": "in_person"},
            {"near": ADDRESS, "q": WORDS},
            {"near": "2000", WORDS: "1", "note": WORDS},  # unknown parameters carry words too
        ]
        for params in searches:
            query = urllib.parse.urlencode(params)
            assert call(f"{base}/v1/search?{query}") < 500
            assert call(f"{base}/?{query}", headers={"Referer": f"https://clinic.example/?{query}"}) < 500
        assert call(f"{base}/v1/places?q={urllib.parse.quote(WORDS)}") == 200
        # Refused by the app (414) and by gunicorn itself (a line past its limit; a malformed line).
        long_query = urllib.parse.urlencode({"lat": LAT, "lon": LON, "q": WORDS + " x" * 2500})
        assert call(f"{base}/v1/search?{long_query}") == 414
        longer = urllib.parse.urlencode({"lat": LAT, "lon": LON, "q": WORDS + " x" * 5000})
        too_long = raw_request(port, f"GET /v1/search?{longer} HTTP/1.1".encode())
        malformed = raw_request(port, f"GET /v1/search?lat={LAT}&q={WORDS} HTTP/1.1".encode())
        assert too_long.startswith(b"HTTP/1.1 414") and malformed.startswith(b"HTTP/1.1 400")
        # gunicorn's own answers carry the headers every answer of the app carries.
        for answer in (too_long, malformed):
            head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            assert "\r\nX-Content-Type-Options: nosniff\r\n" in head, head
            assert "\r\nX-Frame-Options: DENY\r\n" in head and "frame-ancestors 'none'" in head, head
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    lines = log_path.read_text(encoding="utf-8").splitlines()
    # The requests were logged, with the place to about a kilometre.
    logged = [line for line in lines if '"GET /v1/search?' in line]
    assert len(logged) >= len(searches) + 1, lines
    assert any("lat=-33.87&lon=151.21" in line for line in logged), logged
    assert any("Invalid request" in line for line in lines), lines
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, (secret, line)
