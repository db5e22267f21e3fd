"""Nothing that identifies a client is stored or logged: a real server, searched afterwards.

gunicorn runs the app with the production config (deploy/gunicorn.conf.py: access log and
the app's JSON log); a clinician's session puts identifying details everywhere they could
go (search words, an address as the place, a note for the client's copy, a note sent to the
API by mistake). Then every log line, the referral store's files and every stored format of
the handout are searched for each detail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.unit.test_deploy import GUNICORN_CONF, ROOT, free_port, sqlite_env

# Written as people write them; each must be found nowhere it is not meant to be.
IDENTIFYING = ["Jane Citizen", "3/4/1990", "12 Smith St", "123 456 789A", "jane at gmail dot com",
               "0412/345/678", "0412_345_678", "oh four one two three four five six seven eight"]
NOTE = ("Jane Citizen, DOB 3/4/1990, 12 Smith St Parramatta. CRN 123 456 789A. "
        "Email jane at gmail dot com, mobile 0412/345/678 or 0412_345_678 "
        "(oh four one two three four five six seven eight). Phone the group on 02 5550 2929.")


def call(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """Status and body of a request (errors included)."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def pdf_text(data: bytes, tmp_path) -> str:
    """The text of a PDF, by poppler's pdftotext (installed by make)."""
    path = tmp_path / "copy.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is installed by make install")
def test_identifying_details_reach_only_the_clients_copy(sqlite_backend, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    env = sqlite_env(sqlite_backend, tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2",
                     TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1", LINKAGE_PUBLIC_URL=base)
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONF], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not _up(base):
            assert server.poll() is None, log_path.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)

        # Searches with identifying words and an address as the place.
        for params in ({"near": "12 Smith St Parramatta NSW", "q": "Jane Citizen"},
                       {"near": "2150", "q": "Jane Citizen 0412/345/678 jane at gmail dot com"},
                       {"lat": "-33.815123", "lon": "151.001987", "q": "DOB 3/4/1990 CRN 123 456 789A"}):
            call(f"{base}/v1/search?" + urllib.parse.urlencode(params))
        status, body = call(f"{base}/v1/search?near=2150&per_page=3")
        assert status == 200, body
        ids = [item["id"] for item in json.loads(body)["items"]]

        # A note sent to the API is refused without being echoed.
        json_headers = {"Content-Type": "application/json"}
        status, body = call(f"{base}/v1/referrals", json.dumps({"listing_ids": ids, "note": NOTE}).encode(), json_headers)
        assert status == 422 and b"Jane" not in body
        status, body = call(f"{base}/v1/referrals", json.dumps({
            "listing_ids": ids, "goal": "moderation", "seven_day_goal": "go_to_one_meeting",
            "timezone": "Australia/Sydney"}).encode(), json_headers)
        assert status == 201, body
        made = json.loads(body)
        code = made["code"]

        # The client's copy carries the note, exactly as written (the group's own number too).
        form = urllib.parse.urlencode({"note": NOTE, "print": "1"}).encode()
        status, page = call(f"{base}/r/{code}", form)
        assert status == 200 and "Jane Citizen" in page.decode() and "02 5550 2929" in page.decode()
        status, pdf = call(f"{base}/r/{code}.pdf", urllib.parse.urlencode({"note": NOTE}).encode())
        assert status == 200 and "Jane Citizen" in " ".join(pdf_text(pdf, tmp_path).split())
        call(f"{base}/r/{code}/feedback", urllib.parse.urlencode({"listing_id": ids[0], "outcome": "attended"}).encode())

        # What the link, QR code, SMS and calendar serve holds none of it.
        served = {path: call(f"{base}{path}")[1] for path in (
            f"/r/{code}", f"/r/{code}.txt", f"/r/{code}.ics", f"/v1/referrals/{code}")}
        served[f"/r/{code}.pdf"] = " ".join(pdf_text(call(f"{base}/r/{code}.pdf")[1], tmp_path).split()).encode()
        for path, content in served.items():
            for detail in IDENTIFYING:
                assert detail.encode() not in content, (detail, path)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    logged = log_path.read_text(encoding="utf-8")
    assert '"POST /r/' in logged and "/v1/search" in logged  # the log did record the session
    for detail in IDENTIFYING + ["Smith", "-33.815123", "151.001987"]:
        assert detail not in logged, detail
    stored = [p for p in tmp_path.glob("referrals.sqlite*")]
    assert stored
    for path in stored:
        content = path.read_bytes()
        for detail in IDENTIFYING + ["Parramatta. CRN"]:
            assert detail.encode() not in content, (detail, path.name)


def _up(base: str) -> bool:
    """True once the server answers its health check."""
    try:
        return call(f"{base}/healthz")[0] == 200
    except OSError:
        return False
