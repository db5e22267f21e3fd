"""The HSDS reader: real HSDS 3.0 examples, the Open211 Miami 1.x export, and hostile packages."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from marshmallow import ValidationError

from indexers.records import ReadOptions
from indexers.sources.hsds import STANCE_FIELDS, read_hsds
from service.domain import vocab
from service.domain.schemas import load_listing

from tests.conftest import FEEDS, REALDATA, realdata_or_skip  # noqa: E402

# The HSDS 3.0 examples and the Ohana sample are copied into the tests (tests/fixtures/feeds);
# the 211 Miami export may not be, and is read from ../shared/realdata when present.
HSDS = FEEDS / "hsds"
MIAMI_OPTIONS = ReadOptions("Open211 Miami", timezone="America/New_York", country="US")
EXAMPLE_OPTIONS = ReadOptions("HSDS example", timezone="Europe/London", country="GB")


@pytest.fixture(scope="module")
def hsds_data() -> Path:
    """The folder of the HSDS examples and the Ohana sample, copied into the tests."""
    return HSDS


def completed(data: dict) -> dict:
    """What the pipeline would add: the clinical stance and, for the schema only, coordinates
    where the address is still to be geocoded."""
    filled = dict(data)
    filled.setdefault("approach", "clinical")
    filled.setdefault("goals", list(vocab.GOALS))
    filled.setdefault("substances", ["any"])
    location = filled.get("location")
    if location and (location.get("lat") is None or location.get("lon") is None):
        filled["location"] = {**location, "lat": 0.0, "lon": 0.0}
    return filled


def validates(data: dict) -> bool:
    try:
        load_listing(completed(data))
    except ValidationError:
        return False
    return True


def with_data(records):
    return [r for r in records if r.data is not None]


# --- Real data ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["service_full.json", "service_list.json"])
def test_hsds3_json_examples_load(hsds_data, name):
    records = list(read_hsds(hsds_data / "hsds3-spec-examples" / "json" / name, EXAMPLE_OPTIONS))
    good = with_data(records)
    assert good, [r.problems for r in records]
    for record in good:
        assert record.data["kind"] == "service"
        assert record.data["id"] == "hsds-example:ac148810-d857-441c-9679-408f346de14b"
        assert record.defaults_allowed == STANCE_FIELDS
        assert not STANCE_FIELDS & record.data.keys()
        assert validates(record.data), record.data


def test_service_full_maps_the_fields(hsds_data):
    (record,) = read_hsds(hsds_data / "hsds3-spec-examples" / "json" / "service_full.json", EXAMPLE_OPTIONS)
    data = record.data
    assert record.position == "service_full"
    assert data["name"] == "Community Counselling"
    assert data["description"].startswith("Provided by Example Organization Inc.\n\nCounselling Services")
    assert data["formats"] == ["in_person"]
    assert data["contact"] == {"phone": "+44 1234 234567 ext. 100", "email": "email@example.com",
                               "website": "http://example.com/counselling"}
    assert data["languages"] == ["ur"]
    assert data["accessibility"] == ["wheelchair_access", "hearing_loop", "public_transport"]
    assert data["cost"] == "fee"  # a cost option of 35 GBP
    assert data["updated_at"] == "2023-03-15" and data["verified_at"] == "2005-01-01"
    assert data["sessions"] == [{"weekday": "thu", "start": "10:00", "end": "18:00"},
                                {"weekday": "fri", "start": "10:00", "end": "18:00"}]
    assert data["timezone"] == "Europe/London"  # the example's numeric "timezone": 3 is not used
    # Latitude 100 is out of range: kept out, with a warning, for the pipeline to geocode.
    assert data["location"]["lat"] is None and data["location"]["address"] == "1-30 Main Street, MyVillage"
    assert {p.field for p in record.problems} >= {"location.latitude", "address.address_type"}


def test_service_list_item_without_location_is_an_online_listing(hsds_data):
    (record,) = read_hsds(hsds_data / "hsds3-spec-examples" / "json" / "service_list.json", EXAMPLE_OPTIONS)
    assert record.position == "service_list item 1"
    assert record.data["location"] is None
    assert record.data["formats"] == ["online"]
    assert record.data["service_area"] == ["GB"]


def test_hsds3_tabular_example_loads(hsds_data):
    records = list(read_hsds(hsds_data / "hsds3-spec-examples" / "csv", EXAMPLE_OPTIONS))
    good = with_data(records)
    assert len(good) == 1, [r.problems for r in records]
    assert good[0].position == "services.csv row 2"
    assert good[0].data["sessions"] == [{"weekday": "thu", "start": "10:00", "end": "18:00"},
                                        {"weekday": "fri", "start": "10:00", "end": "18:00"}]
    assert good[0].data["contact"]["phone"] == "+44 1234 234567 ext. 100"
    assert validates(good[0].data)


def test_monthly_first_saturday_from_the_field_guidance_rows(hsds_data, tmp_path):
    # The guidance file has the package's service id but is not part of the package: put it in
    # place of schedules.csv (whose row is specific to a service_at_location and would win).
    package = tmp_path / "package"
    shutil.copytree(hsds_data / "hsds3-spec-examples" / "csv", package)
    (package / "field-guidance-schedules-example.csv").replace(package / "schedules.csv")
    (record,) = with_data(read_hsds(package, EXAMPLE_OPTIONS))
    sessions = record.data["sessions"]
    assert {"weekday": "sat", "start": "09:00", "end": "17:00", "monthly": "first"} in sessions
    assert [s for s in sessions if s["weekday"] == "mon"] == [
        {"weekday": "mon", "start": "09:00", "end": "12:00"}, {"weekday": "mon", "start": "15:00", "end": "17:00"}]
    assert len(sessions) == 9
    assert validates(record.data)


@pytest.fixture(scope="module")
def miami():
    """The 211 Miami export (skipped on a clone without ../shared/realdata)."""
    return list(read_hsds(realdata_or_skip(REALDATA / "hsds" / "open211-miami-hsds1"), MIAMI_OPTIONS))


def test_miami_export_loads_at_scale(miami):
    good = with_data(miami)
    located = [r for r in good if r.data["location"] and r.data["location"]["lat"] is not None]
    valid = [r for r in good if validates(r.data)]
    # 4,089 services, each at one location. 30 locations have neither coordinates nor an
    # address. Only 2,260 of the 4,089 locations carry latitude/longitude: the others are
    # left for the pipeline to geocode from their street address.
    assert len(miami) == 4089
    assert len(good) >= 3500
    assert len(located) >= 2200
    assert len(valid) >= 0.95 * len(good)
    assert not [r for r in miami for p in r.problems if p.field == "_record"]  # no reader errors
    assert len({r.data["id"] for r in good}) == len(good)


def test_miami_weekday_names_and_12_hour_times(miami):
    by_id = {r.data["id"]: r for r in with_data(miami)}
    girl_scouts = by_id["open211-miami:136"].data
    assert girl_scouts["sessions"] == [{"weekday": day, "start": "09:00", "end": "17:00"}
                                       for day in ("mon", "tue", "wed", "thu", "fri")]
    assert girl_scouts["languages"] == ["en", "es", "ht"]  # English, Spanish, Creole
    assert girl_scouts["contact"]["website"] == "http://www.girlscoutsfl.org"
    assert "###" not in girl_scouts["description"]


def test_ohana_sample_loads(hsds_data):
    records = list(read_hsds(hsds_data / "ohana-sample-csv", ReadOptions("Ohana", timezone="America/Los_Angeles",
                                                                          country="US")))
    good = with_data(records)
    assert len(good) >= 20
    assert all(validates(r.data) for r in good)
    statuses = {r.data["status"] for r in good}
    assert statuses == {"active", "inactive"}  # "defunct" and "inactive" both become inactive


# --- Written packages and documents ---------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def hostile(tmp_path) -> Path:
    """A 1.x/3.0 mixture with good and bad rows."""
    package = tmp_path / "hostile"
    package.mkdir()
    write_csv(package / "organizations.csv", ["id", "name", "url"], [["o1", "Org One", "https://org.example.org"]])
    write_csv(package / "services.csv", ["id", "organization_id", "name", "description", "url", "email", "status", "fees"], [
        ["s1", "o1", "Good service", "<p>Counselling &amp; <b>support</b></p>", "www.good.example.org",
         "help@good.example.org", "active", "Free of charge"],
        ["s2", "o1", "Bad email", "d", "", "not-an-email", "active", ""],
        ["", "o1", "No id", "d", "", "", "active", ""],
        ["s4", "o1", "Bad coordinates", "d", "", "", "active", ""],
        ["s5", "o1", "Bad schedules", "d", "", "", "sometimes", ""],
        ["s6", "o1", "Huge", "word " * 60_000, "", "", "defunct", "$50 per session"],
        ["s7", "o1"],  # a short row: no name, no place
        ["s8", "o1", "PLACEHOLDER", "d", "", "", "active", ""],
        ["s9", "o1", "Closed-day and 24 hour rows", "d", "", "", "temporarily closed", ""],
    ])
    # s8's name holds bytes that are not UTF-8.
    raw = (package / "services.csv").read_bytes().replace(b"PLACEHOLDER", b"Caf\xe9 \xff")
    (package / "services.csv").write_bytes(raw)
    write_csv(package / "locations.csv", ["id", "name", "latitude", "longitude"], [
        ["l1", "One", "25.76", "-80.19"], ["l2", "Two", "", ""], ["l4", "Four", "abc", "-80.1"],
        ["l5", "Five", "25.7", "-80.2"], ["l6", "Six", "25.8", "-80.3"], ["l8", "Eight", "25.9", "-80.1"],
        ["l9", "Nine", "25.9", "-80.1"], ["l1b", "One B", "25.77", "-80.18"],
    ])
    write_csv(package / "services_at_location.csv", ["id", "service_id", "location_id"], [
        ["a1", "s1", "l1"], ["a1b", "s1", "l1b"], ["a2", "s2", "l2"], ["a4", "s4", "l4"], ["a5", "s5", "l5"],
        ["a6", "s6", "l6"], ["a8", "s8", "l8"], ["a9", "s9", "l9"],
    ])
    write_csv(package / "physical_addresses.csv", ["id", "location_id", "address_1", "city", "state_province",
                                                   "postal_code", "country"], [
        ["p2", "l2", "1 Main St", "Miami", "FL ", "33101", "   "],
        ["p4", "l4", "4 Main St", "Miami", "FL", "33101", "United States"],
    ])
    write_csv(package / "phones.csv", ["id", "service_id", "location_id", "number", "type"], [
        ["f1", "s1", "", "305 555 5555", "fax"], ["f2", "s1", "", "305 555 1234", "voice"],
    ])
    write_csv(package / "regular_schedules.csv", ["id", "service_id", "weekday", "opens_at", "closes_at"], [
        ["r1", "s5", "Monday", "9:00am", "5:00"],
        ["r2", "s5", "Funday", "9:00", "17:00"],
        ["r3", "s5", "2", "25:00", "17:00"],
        ["r4", "s5", "7", "10:00", "12:00"],
        ["r5", "s5", "Tuesday", "", ""],
        ["r6", "s9", "Monday", "closed", ""],
    ] + [[f"r9{n}", "s9", str(n), "00:00", "24:00"] for n in range(1, 8)])
    write_csv(package / "schedules.csv", ["id", "service_id", "freq", "interval", "byday", "opens_at", "closes_at", "timezone"], [
        ["x1", "s1", "MONTHLY", "", "1SA,-1FR", "10:00:00Z", "12:00:00Z", "-5"],
        ["x2", "s1", "MONTHLY", "", "5MO", "10:00", "12:00", ""],
        ["x3", "s1", "WEEKLY", "2", "MO", "10:00", "12:00", ""],
        ["x4", "s1", "WEEKLY", "1", "WE", "18:30", "20:00", ""],
        ["x5", "s1", "YEARLY", "", "WE", "18:30", "20:00", ""],
    ])
    return package


def test_hostile_package_reports_bad_rows_and_loads_good_ones(hostile):
    records = list(read_hsds(hostile, MIAMI_OPTIONS))
    by_position = {r.position: r for r in records}

    no_id = by_position["services.csv row 4"]
    assert no_id.data is None and no_id.problems[0].field == "service.id"

    short = by_position["services.csv row 8"]  # s7: named after its organisation, but nowhere
    assert short.data is None and short.problems[0].field == "location"

    good = [r for r in records if r.data and r.data["id"].startswith("open211-miami:s1.")]
    assert sorted(r.data["id"] for r in good) == ["open211-miami:s1.l1", "open211-miami:s1.l1b"]
    s1 = good[0]
    assert s1.position == "services.csv row 2, location l1"
    assert s1.data["description"] == "Provided by Org One.\n\nCounselling & support"
    assert s1.data["cost"] == "free"
    assert s1.data["contact"] == {"phone": "305 555 1234", "email": "help@good.example.org",
                                  "website": "http://www.good.example.org"}
    assert s1.data["sessions"] == [
        {"weekday": "wed", "start": "18:30", "end": "20:00"},
        {"weekday": "fri", "start": "10:00", "end": "12:00", "monthly": "last"},
        {"weekday": "sat", "start": "10:00", "end": "12:00", "monthly": "first"},
    ]
    messages = {p.field: p.problem for p in s1.problems if p.field.startswith("schedule.")}
    assert messages["schedule.byday"].startswith("schedules.csv row 3:") and "5MO" in messages["schedule.byday"]
    assert messages["schedule.interval"].startswith("schedules.csv row 4:")
    assert messages["schedule.freq"].startswith("schedules.csv row 6:") and "YEARLY" in messages["schedule.freq"]

    (s2,) = [r for r in records if r.data and r.data["id"] == "open211-miami:s2"]
    assert "email" not in s2.data["contact"]
    assert [p.field for p in s2.problems] == ["service.email"]
    assert s2.data["location"] == {"address": "1 Main St", "locality": "Miami", "state": "FL", "postcode": "33101",
                                   "country": "US", "lat": None, "lon": None, "approximate": False}

    (s4,) = [r for r in records if r.data and r.data["id"] == "open211-miami:s4"]
    assert s4.data["location"]["lat"] is None and s4.data["location"]["country"] == "US"
    assert any(p.field == "location.latitude" and p.problem.startswith("locations.csv row 4:") for p in s4.problems)

    (s5,) = [r for r in records if r.data and r.data["id"] == "open211-miami:s5"]
    # "9:00am" to "5:00" is 09:00-17:00; weekday 7 is Sunday (ISO numbering, Monday = 1).
    assert s5.data["sessions"] == [{"weekday": "mon", "start": "09:00", "end": "17:00"},
                                   {"weekday": "sun", "start": "10:00", "end": "12:00"}]
    bad_rows = {p.problem.split(":")[0] for p in s5.problems if p.field.startswith("regular_schedule.")}
    assert bad_rows == {"regular_schedules.csv row 3", "regular_schedules.csv row 4", "regular_schedules.csv row 6"}
    assert any(p.field == "service.status" for p in s5.problems) and s5.data["status"] == "active"

    (s6,) = [r for r in records if r.data and r.data["id"] == "open211-miami:s6"]
    assert len(s6.data["description"]) <= 2000 and s6.data["status"] == "inactive" and s6.data["cost"] == "fee"

    (s8,) = [r for r in records if r.data and r.data["id"] == "open211-miami:s8"]
    assert "\ufffd" in s8.data["name"]
    assert any(p.field == "name" and p.problem.startswith("services.csv row 9: column name") for p in s8.problems)

    (s9,) = [r for r in records if r.data and r.data["id"] == "open211-miami:s9"]
    assert s9.data["open_24_7"] is True and "sessions" not in s9.data
    assert s9.data["status"] == "temporarily_closed"

    for record in records:
        if record.data is not None:
            assert validates(record.data), (record.position, record.data)


def test_unreadable_table_is_reported_and_services_still_load(hostile):
    # A field beyond the reader's CSV limit ends that table (what follows cannot be trusted).
    with open(hostile / "phones.csv", "a", encoding="utf-8", newline="") as fh:
        fh.write('f3,s2,,"' + "5" * (5 * 1024 * 1024) + '",voice\nf4,s2,,305 555 0000,voice\n')
    records = list(read_hsds(hostile, MIAMI_OPTIONS))
    (table,) = [r for r in records if r.position == "phones.csv row 4"]
    assert table.data is None and table.problems[0].field == "_file"
    assert "open211-miami:s1.l1" in {r.data["id"] for r in records if r.data}


def test_no_time_zone_means_no_listing(hostile):
    records = list(read_hsds(hostile, ReadOptions("x", country="US")))
    located = [r for r in records if r.position.startswith("services.csv row 2")]
    assert located and all(r.data is None and r.problems[0].field == "schedule.timezone" for r in located)


def test_an_iana_zone_in_the_data_is_used(hostile):
    write_csv(hostile / "schedules.csv", ["id", "service_id", "byday", "opens_at", "closes_at", "timezone"],
              [["x1", "s1", "MO", "09:00", "10:00", "America/Chicago"]])
    records = list(read_hsds(hostile, ReadOptions("x", country="US")))
    assert {r.data["timezone"] for r in records if r.data and r.data["id"].startswith("x:s1")} == {"America/Chicago"}


def test_missing_services_table_and_bad_json(tmp_path):
    (tmp_path / "empty").mkdir()
    (record,) = read_hsds(tmp_path / "empty", MIAMI_OPTIONS)
    assert record.data is None and record.problems[0].field == "_file"
    broken = tmp_path / "broken.json"
    broken.write_text('{"contents": [', encoding="utf-8")
    (record,) = read_hsds(broken, MIAMI_OPTIONS)
    assert record.data is None and "invalid JSON" in record.problems[0].problem
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'[{"id": "a", "name": "Caf\xe9"}]')
    (record,) = read_hsds(latin, MIAMI_OPTIONS)
    assert record.problems[0].problem.startswith("not UTF-8")


def test_hostile_json_values_never_crash(tmp_path):
    items = [
        "not an object",
        {"id": ["list"], "name": "x"},
        {"id": "a", "name": {"dict": 1}, "organization": "text"},
        {"id": "b", "name": "B", "service_at_locations": "nope", "phones": [{"number": 5}], "url": 12},
        {"id": "c", "name": "C" * 5000, "status": ["x"], "languages": [{"code": None, "name": 7}],
         "service_at_locations": [{"location": {"latitude": {"x": 1}, "longitude": "nan",
                                                "addresses": [{"address_1": "1 Road", "country": 3}]}},
                                  {"location": None}, 5],
         "schedules": [{"byday": ["MO"], "opens_at": 9}, {"freq": "MONTHLY", "byday": "1SA", "opens_at": "9am",
                                                         "closes_at": "noon", "interval": "x"}]},
        {"id": "d\u0000/ü" * 50, "name": "D", "service_at_locations": [
            {"location": {"location_type": "virtual", "url": "https://meet.example.org/d"}}]},
    ]
    path = tmp_path / "services.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    records = list(read_hsds(path, MIAMI_OPTIONS))
    assert len(records) == len(items)
    assert [r.position for r in records][:2] == ["item 1", "item 2"]
    assert records[0].data is None and records[1].problems[0].field == "service.id"
    assert not [p for r in records for p in r.problems if p.field == "_record" and "could not be read" in p.problem]
    (c,) = [r for r in records if r.data and r.data["name"].startswith("CCC")]
    assert len(c.data["name"]) <= 200
    assert c.data["sessions"] == [{"weekday": "sat", "start": "09:00", "end": "12:00", "monthly": "first"}]
    (d,) = [r for r in records if r.data and r.data["name"] == "D"]
    assert d.data["formats"] == ["online"] and d.data["contact"]["conference_url"] == "https://meet.example.org/d"
    assert len(d.data["id"].split(":", 1)[1]) <= 120
    for record in records:
        if record.data is not None:
            assert validates(record.data), (record.position, record.data)
