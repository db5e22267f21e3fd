"""Every real feed the tests carry (tests/fixtures/feeds) imports, and searches then find what it holds; the 211 Miami export too where ../shared/realdata has it."""

import json
import os
import subprocess
import sys


from service import create_app
from service.backends.sqlite.backend import SQLiteBackend
from tests.conftest import FIXED_NOW, ROOT

from tests.conftest import FEEDS, REALDATA, realdata_or_skip  # noqa: E402


def run_import(tmp_path, *args, name="feed"):
    db = tmp_path / f"{name}.sqlite"
    report = tmp_path / f"{name}.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "indexers", "index", "--sqlite-path", str(db), "--report", str(report),
         "--source-name", name, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "LINKAGE_SOURCES_DIR": str(tmp_path / f"{name}-sources")},
    )
    rejections = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()] \
        if report.exists() else []
    return result, SQLiteBackend(db), rejections


def counts(result) -> dict:
    line = result.stdout.strip().splitlines()[-1]
    return {part.rsplit(" ", 1)[0]: int(part.rsplit(" ", 1)[1]) for part in line.split(", ")}


def search(backend, gazetteer, query):
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    response = app.test_client().get("/v1/search", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_sussex_meeting_guide(tmp_path, gazetteer):
    result, backend, _ = run_import(tmp_path, str(FEEDS / "meeting-guide" / "sussex-county-de-aa.json"),
                                    "--program", "Alcoholics Anonymous", "--timezone", "America/New_York",
                                    "--country", "US", name="sussex")
    assert result.returncode == 0, result.stderr
    numbers = counts(result)
    assert numbers["loaded"] >= 0.95 * numbers["read"] and numbers["read"] == 123
    found = search(backend, gazetteer, {"near": "38.72,-75.08", "radius_km": "30", "sort": "soonest",
                                        "tz": "America/New_York"})
    assert found["total"] > 20
    first = found["items"][0]
    assert first["timezone"] == "America/New_York" and first["program"] == "Alcoholics Anonymous"
    assert first["approach"] == "twelve_step" and first["next_sessions"][0]["start"].endswith(("-05:00", "-04:00"))


def test_edmonton_meeting_guide(tmp_path, gazetteer):
    result, backend, rejections = run_import(
        tmp_path, str(FEEDS / "meeting-guide" / "edmonton-ca-aa.json"), "--program", "AA",
        "--timezone", "America/Edmonton", "--country", "CA", name="edmonton")
    assert result.returncode == 0, result.stderr
    numbers = counts(result)
    assert numbers["read"] == 315 and numbers["loaded"] >= 0.95 * 315
    assert numbers["geocoded"] > 200  # the feed has no coordinates at all
    # Addresses the geocoder cannot place, named as the feed has them: one `address` string
    # per meeting (no formatted_address, no city), and each meeting by its slug and name.
    assert all(r["field"] == "address" for r in rejections)
    assert all(r["record_id"] and r["record_name"] for r in rejections)
    found = search(backend, gazetteer, {"near": "Edmonton, CA", "per_page": "50"})
    assert found["total"] > 100
    assert all(i["location"] is None or i["location"]["approximate"] for i in found["items"])


def test_eating_disorders_anonymous_needs_a_zone(tmp_path):
    feed = str(FEEDS / "meeting-guide" / "eating-disorders-anonymous.json")
    result, _, rejections = run_import(tmp_path, feed, "--program", "Eating Disorders Anonymous", name="eda")
    assert result.returncode == 1
    assert rejections and all(r["field"] == "timezone" for r in rejections)
    assert "no time zone" in rejections[0]["problem"]
    assert all(r["record_id"] and r["record_name"] for r in rejections)  # each meeting's slug and name
    result, backend, _ = run_import(tmp_path, feed, "--program", "Eating Disorders Anonymous",
                                    "--timezone", "America/New_York", "--country", "US", name="eda-zoned")
    numbers = counts(result)
    assert result.returncode == 0, result.stderr
    assert numbers["loaded"] >= 0.95 * numbers["read"]


def test_hsds_3_examples(tmp_path):
    examples = FEEDS / "hsds" / "hsds3-spec-examples"
    for name, path in (("full", examples / "json" / "service_full.json"),
                       ("list", examples / "json" / "service_list.json"),
                       ("tabular", examples / "csv")):
        result, backend, _ = run_import(tmp_path, str(path), "--format", "hsds", "--timezone", "Europe/London",
                                        "--country", "GB", "--max-reject", "1", name=name)
        assert result.returncode == 0, (name, result.stderr)
        assert backend.count() >= 1


def test_open211_miami_hsds1(tmp_path, gazetteer):
    result, backend, _ = run_import(tmp_path, str(realdata_or_skip(REALDATA / "hsds" / "open211-miami-hsds1")), "--format", "hsds",
                                    "--timezone", "America/New_York", "--country", "US", name="miami")
    assert result.returncode == 0, result.stderr
    located = [x for x in backend.listings() if x.location is not None]
    assert len(located) >= 3500
    found = search(backend, gazetteer, {"near": "Miami, US", "radius_km": "30"})
    assert found["total"] > 1000
    assert found["query"]["near"]["country"] == "US"
