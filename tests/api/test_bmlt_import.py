"""`linkage index --format bmlt` end to end: BMLT responses (recorded and hand-made, see
tests/fixtures/feeds/bmlt/README.md) load into SQLite and /v1/search finds the meetings;
bad values are reported by BMLT's field name and the meeting's id_bigint."""

import json
import os
import subprocess
import sys

from service import create_app
from service.backends.sqlite.backend import SQLiteBackend
from tests.conftest import FEEDS, FIXED_NOW, ROOT
from tests.unit.test_bmlt import root_server  # noqa: F401 - a stand-in root server (pytest fixture)

BMLT = FEEDS / "bmlt"


def run_import(tmp_path, name, *args):
    db = tmp_path / f"{name}.sqlite"
    report = tmp_path / f"{name}.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "indexers", "index", "--format", "bmlt", "--sqlite-path", str(db),
         "--report", str(report), "--source-name", name, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "LINKAGE_SOURCES_DIR": str(tmp_path / f"{name}-sources")},
    )
    lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    return result, SQLiteBackend(db), [json.loads(line) for line in lines]


def search(backend, gazetteer, query):
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer,
                     clock=lambda: FIXED_NOW)
    response = app.test_client().get("/v1/search", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_recorded_meetings_import_and_are_found_near_geneva_ny(tmp_path, gazetteer):
    days = [str(BMLT / f"meeting-search-42.867970-day{day}.json") for day in (2, 3, 4)]
    result, backend, rejections = run_import(tmp_path, "finger-lakes", *days, "--timezone", "America/New_York",
                                             "--country", "US")
    assert result.returncode == 0, result.stderr
    assert not rejections
    # 53 + 54 + 62 meetings in the three recordings.
    assert backend.count() == 169
    # day3 id 1795 "New Hope", Clifton Springs NY (42.961098,-77.132737), Tuesday 12:00.
    found = search(backend, gazetteer, {"lat": "42.961098", "lon": "-77.132737", "radius_km": "2",
                                        "day": "tue", "per_page": "50"})
    names = {item["name"] for item in found["items"]}
    assert "New Hope" in names
    new_hope = next(item for item in found["items"] if item["name"] == "New Hope")
    assert new_hope["program"] == "Narcotics Anonymous" and new_hope["approach"] == "twelve_step"
    assert new_hope["timezone"] == "America/New_York"
    assert [(s["weekday"], s["start"], s["end"]) for s in new_hope["sessions"]] == [("tue", "12:00", "13:00")]


def test_hand_made_venues_import_and_online_meetings_are_found(tmp_path, gazetteer):
    result, backend, rejections = run_import(
        tmp_path, "na-australia", str(BMLT / "handmade-venues-zones-durations.json"),
        "--timezone", "Australia/Brisbane")
    assert result.returncode == 0, result.stderr
    assert not rejections
    assert {x.id for x in backend.listings()} == {f"na-australia:{n}" for n in (9001, 9002, 9003, 9004, 9005)}
    # 9001 is virtual only, 9002 hybrid, 9005 by phone while its room is closed.
    online = search(backend, gazetteer, {"format": "online,phone", "per_page": "50"})
    assert {item["id"] for item in online["items"]} == {"na-australia:9001", "na-australia:9002",
                                                         "na-australia:9005"}
    # 9002, Fitzroy VIC, Monday 12:30 for an hour, in person as well.
    fitzroy = search(backend, gazetteer, {"near": "Fitzroy VIC", "format": "in_person"})
    assert [item["name"] for item in fitzroy["items"]] == ["Lunchtime Hybrid"]
    assert fitzroy["items"][0]["contact"]["conference_url"] == "https://meet.jit.si/example-na-lunchtime"
    # 9004 had "0","0" for coordinates: found again from its address (Brisbane QLD 4000).
    brisbane = search(backend, gazetteer, {"near": "Brisbane QLD"})
    assert "Young and Proud" in {item["name"] for item in brisbane["items"]}


def test_bad_values_are_reported_by_bmlt_field_and_id_while_the_good_one_loads(tmp_path):
    # --max-reject 1: load the one good meeting although ten of eleven are bad.
    result, backend, rejections = run_import(tmp_path, "na-bad", str(BMLT / "handmade-bad-values.json"),
                                             "--max-reject", "1")
    assert result.returncode == 0, result.stderr
    assert [x.id for x in backend.listings()] == ["na-bad:9111"]
    # handmade-bad-values.json: one bad value per meeting (README beside it).
    assert {(r["record_id"], r["field"], r["value"]) for r in rejections} == {
        ("9101", "weekday_tinyint", "8"),
        ("9102", "start_time", "25:00:00"),
        ("9103", "latitude", "95.5"),
        ("9104", "time_zone", "Mars/Olympus_Mons"),
        ("9105", "venue_type", "4"),
        ("9106", "virtual_meeting_link", "zoom meeting 555 5555"),
        ("9107", "meeting_name", ""),
        ("9108", "duration_time", "ninety"),
        (None, "id_bigint", ""),
        ("9110", "location_street", None),
    }
    assert "record 3 (id 9103, 'Bad Latitude'): latitude: out of range" in result.stderr


def test_a_feed_without_zones_and_no_timezone_is_reported_meeting_by_meeting(tmp_path):
    result, backend, rejections = run_import(tmp_path, "no-zone", str(BMLT / "meeting-search-42.867970-day2.json"))
    assert result.returncode == 1
    assert len(rejections) == 53 and {r["field"] for r in rejections} == {"time_zone"}
    # day2 record 1: id 2566 "Step up and Be Free".
    assert (rejections[0]["record_id"], rejections[0]["record_name"]) == ("2566", "Step up and Be Free")


def test_a_root_server_url_imports_every_page(tmp_path, gazetteer, root_server):  # noqa: F811
    # The stand-in server pages the three recordings (169 meetings) as bmlt-server does.
    handler, url = root_server
    result, backend, rejections = run_import(tmp_path, "na-server", url, "--timezone", "America/New_York",
                                             "--country", "US")
    assert result.returncode == 0, result.stderr
    assert not rejections and backend.count() == 169
    assert [q["switcher"] for q in handler.asked] == ["GetFormats", "GetServerInfo", "GetSearchResults"]
    # day4 id 1802 "We Together Hand in Hand", 10 Prospect St., Auburn NY (42.944002,-76.53942).
    found = search(backend, gazetteer, {"lat": "42.944002", "lon": "-76.53942", "radius_km": "1", "day": "wed"})
    assert "We Together Hand in Hand" in {item["name"] for item in found["items"]}
