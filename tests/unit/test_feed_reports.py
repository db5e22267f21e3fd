"""Import reports a feed's maintainer can act on: each format, a bad record of each kind.

For every format a small feed is built here with good records and bad ones, and imported
with `linkage index --dry-run --report FILE` as a maintainer would run it. Each bad record
must be reported by the field as the feed names it (`latitude`, `day`, the CSV column
header, `schedule.byday` ...) and by the record's own id and name as well as its position,
both in the printed line and in the --report JSON line; the good records still load. The
expected lines are written from the feeds below, by hand.

Names are plain text: markup in a feed's name is stripped at import, never shown as tags.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexers.pipeline import Rejection, prepare
from indexers.records import Problem, Record, plain_name, strip_markup
from service.search.places import StaticGeocoder
from tests.conftest import DEMO, ROOT

# Places the offline gazetteer does not know, so geocoding them fails the way a typo would.
NOWHERE = "1 Nowhere Lane, Qwxzyville"


def index(*args: str) -> subprocess.CompletedProcess:
    """`linkage index --dry-run` as a maintainer runs it, every rejection allowed."""
    return subprocess.run([sys.executable, "-m", "indexers", "index", "--dry-run", "--max-reject", "1", *args],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ}, timeout=180)


def imported(tmp_path: Path, source: Path, *options: str) -> tuple[list[str], list[dict], str]:
    """(printed rejections and warnings, --report JSON lines, the summary line) of one import."""
    report = tmp_path / "report.jsonl"
    result = index("--sqlite-path", str(tmp_path / "index.sqlite"), "--report", str(report), *options, str(source))
    assert result.returncode == 0, result.stderr
    printed = [line for line in result.stderr.splitlines() if line.startswith(("rejected: ", "warning: "))]
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    return printed, lines, result.stdout.strip().splitlines()[-1]


def reported(source, position, field, problem, value, record_id, record_name) -> dict:
    """One --report line as written by hand."""
    return {"source": source, "position": position, "field": field, "problem": problem, "value": value,
            "record_id": record_id, "record_name": record_name}


# --- Meeting Guide ------------------------------------------------------------------------

MEETING_GUIDE = [
    {"slug": "good-morning", "name": "Good Morning Group", "day": 1, "time": "07:00", "end_time": "08:00",
     "latitude": 38.72, "longitude": -75.08, "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA"},
    # A bad latitude; the name's markup and entity are plain text in the report.
    {"slug": "beach-sun", "name": "Beach &amp; Sun <b>Group</b>", "day": 2, "time": "19:00",
     "latitude": 95, "longitude": -75.08, "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA"},
    # No slug: the id locates it. A day out of range.
    {"id": 1234, "name": "Tuesday Night", "day": 9, "time": "19:00",
     "latitude": 38.72, "longitude": -75.08, "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA"},
    {"slug": "late-night", "name": "Late Night", "day": 5, "time": "25:00",
     "latitude": 38.72, "longitude": -75.08, "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA"},
    # No coordinates and an address nobody can find: the geocoder's problem, by the feed's field.
    {"slug": "lost", "name": "Lost Group", "day": 3, "time": "12:00", "formatted_address": NOWHERE},
    # The same slug twice: the second is a duplicate id, named as the feed names ids.
    {"slug": "good-morning", "name": "Good Morning Again", "day": 4, "time": "07:00",
     "latitude": 38.72, "longitude": -75.08, "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA"},
    {"slug": "markup", "name": "<p>Step &amp; Tradition</p><script>alert(1)</script>", "day": 6, "time": "10:00",
     "latitude": 38.72, "longitude": -75.08, "formatted_address": "18 Olive Ave, Rehoboth Beach, DE 19971, USA"},
]


def test_meeting_guide_reports_name_the_feeds_fields_slugs_and_names(tmp_path):
    feed = tmp_path / "mg.json"
    feed.write_text(json.dumps(MEETING_GUIDE), encoding="utf-8")
    printed, lines, summary = imported(tmp_path, feed, "--format", "meeting-guide", "--program", "AA",
                                       "--timezone", "America/New_York", "--country", "US")
    assert printed == [
        "rejected: mg.json: record 2 (id beach-sun, 'Beach & Sun Group'): latitude: out of range (-90 to 90) "
        "(value: 95)",
        "rejected: mg.json: record 3 (id 1234, 'Tuesday Night'): day: must be 0-6 (Sunday = 0) or a list of those "
        "(value: 9)",
        "rejected: mg.json: record 4 (id late-night, 'Late Night'): time: not a time of day (24-hour HH:MM) "
        "(value: 25:00)",
        # The offline geocoder looks for the town (street_level False): "Qwxzyville", in the feed's country.
        "rejected: mg.json: record 5 (id lost, 'Lost Group'): formatted_address: address not found by the geocoder "
        "(value: Qwxzyville, US)",
        "rejected: mg.json: record 6 (id good-morning, 'Good Morning Again'): slug: duplicate id: "
        "mg.json record 1 has it too (value: mg:good-morning)",
    ]
    assert lines == [
        reported("mg.json", "record 2", "latitude", "out of range (-90 to 90)", "95", "beach-sun", "Beach & Sun Group"),
        reported("mg.json", "record 3", "day", "must be 0-6 (Sunday = 0) or a list of those", "9", "1234",
                 "Tuesday Night"),
        reported("mg.json", "record 4", "time", "not a time of day (24-hour HH:MM)", "25:00", "late-night",
                 "Late Night"),
        reported("mg.json", "record 5", "formatted_address", "address not found by the geocoder", "Qwxzyville, US",
                 "lost", "Lost Group"),
        reported("mg.json", "record 6", "slug", "duplicate id: mg.json record 1 has it too", "mg:good-morning",
                 "good-morning", "Good Morning Again"),
    ]
    assert summary.startswith("read 7, loaded 2, rejected 5,")


# --- HSDS 3.0 JSON ------------------------------------------------------------------------

def service(sid, name, location, schedules=(), **extra):
    """An HSDS 3.0 service with one physical location."""
    return {"id": sid, "name": name, "status": "active", **extra,
            "service_at_locations": [{"id": f"sal-{sid}", "location": {"id": f"loc-{sid}", **location}}],
            "schedules": list(schedules)}


PLACE = {"location_type": "physical", "latitude": 25.77, "longitude": -80.19,
         "addresses": [{"address_1": "1 Main St", "city": "Miami", "state_province": "FL", "postal_code": "33101",
                        "country": "US", "address_type": "physical"}]}
WEEKLY = {"freq": "WEEKLY", "byday": "MO", "opens_at": "09:00", "closes_at": "17:00", "timezone": "America/New_York"}

HSDS_PAGE = {
    "total_items": 5, "total_pages": 1, "page_number": 1, "size": 5, "first_page": True, "last_page": True,
    "empty": False,
    "contents": [
        service("svc-good", "Good Counselling", PLACE, [WEEKLY]),
        # Latitude 95 is left out (a warning) and the address cannot be found: a rejection.
        service("svc-lost", "Lost &amp; Found <em>Service</em>",
                {**PLACE, "latitude": 95, "addresses": [{"address_1": "1 Nowhere Lane", "city": "Qwxzyville",
                                                         "country": "US"}]}, [WEEKLY]),
        # A schedule row in no zone, and none configured: no listing.
        service("svc-zone", "Zoneless Clinic", PLACE, [{**WEEKLY, "timezone": None}]),
        # A byday the reader cannot read: that schedule is dropped (a warning), the service loads.
        service("svc-byday", "Odd Days Clinic", PLACE, [{**WEEKLY, "byday": "MO,XX"}]),
        # No id at all: the name still locates it.
        {**service("", "Nameless Id Service", PLACE, [WEEKLY]), "id": None},
    ],
}


def test_hsds_json_reports_name_tables_columns_and_service_ids(tmp_path):
    feed = tmp_path / "services.json"
    feed.write_text(json.dumps(HSDS_PAGE), encoding="utf-8")
    printed, lines, summary = imported(tmp_path, feed, "--format", "hsds", "--source-name", "miami", "--country", "US")
    assert printed == [
        "rejected: miami: service_list item 2 (id svc-lost, 'Lost & Found Service'): address: address not found "
        "by the geocoder (value: Qwxzyville, US)",
        "rejected: miami: service_list item 3 (id svc-zone, 'Zoneless Clinic'): schedule.timezone: no time zone: "
        "the feed gives none and none was configured (set the source's timezone, e.g. America/New_York)",
        "rejected: miami: service_list item 5 ('Nameless Id Service'): service.id: the service has no id",
        "warning: miami: service_list item 2 (id svc-lost, 'Lost & Found Service'): location.latitude: "
        "latitude/longitude out of range; to be geocoded (value: 95, -80.19)",
        "warning: miami: service_list item 4 (id svc-byday, 'Odd Days Clinic'): schedule.byday: "
        "byday is not a list of MO, TU, ... (with 1-4 or -1 before a day when monthly); this schedule is left out "
        "(value: MO,XX)",
    ]
    assert lines[1] == reported(
        "miami", "service_list item 3", "schedule.timezone", "no time zone: the feed gives none and none was "
        "configured (set the source's timezone, e.g. America/New_York)", None, "svc-zone", "Zoneless Clinic")
    assert lines[2] == reported("miami", "service_list item 5", "service.id", "the service has no id", None, None,
                                "Nameless Id Service")
    assert [line["record_id"] for line in lines] == ["svc-lost", "svc-zone", None]
    assert summary.startswith("read 5, loaded 2, rejected 3,")


# --- HSDS tabular -------------------------------------------------------------------------

def write_table(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture()
def package(tmp_path) -> Path:
    """An HSDS 3.0 tabular package (services, locations, addresses, schedules) and one
    HSDS 1.x regular_schedules table."""
    folder = tmp_path / "package"
    folder.mkdir()
    write_table(folder / "services.csv", ["id", "name", "status"], [
        ["t-good", "Good Shelter", "active"],                   # row 2
        ["t-zone", "Night &amp; Day <i>Shelter</i>", "active"],  # row 3: no zone anywhere
        ["t-days", "Weekday Pantry", "active"],                 # row 4: a 1.x row with a bad weekday
        ["t-gone", "Gone Clinic", "active"],                    # row 5: its location is not in the package
    ])
    write_table(folder / "locations.csv", ["id", "name", "latitude", "longitude"], [
        ["l1", "Hall", "25.77", "-80.19"], ["l2", "Church", "25.78", "-80.20"], ["l3", "Pantry", "25.76", "-80.18"],
    ])
    write_table(folder / "service_at_location.csv", ["id", "service_id", "location_id"], [
        ["a1", "t-good", "l1"], ["a2", "t-zone", "l2"], ["a3", "t-days", "l3"], ["a4", "t-gone", "l9"],
    ])
    write_table(folder / "addresses.csv", ["id", "location_id", "address_1", "city", "state_province",
                                           "postal_code", "country", "address_type"], [
        ["ad1", "l1", "1 Main St", "Miami", "FL", "33101", "US", "physical"],
    ])
    write_table(folder / "schedules.csv", ["id", "service_id", "freq", "byday", "opens_at", "closes_at", "timezone"], [
        ["x1", "t-good", "WEEKLY", "MO,TU", "09:00", "17:00", "America/New_York"],
        ["x2", "t-zone", "WEEKLY", "WE", "18:00", "22:00", ""],
    ])
    write_table(folder / "regular_schedules.csv", ["id", "service_id", "weekday", "opens_at", "closes_at"], [
        ["r1", "t-days", "Funday", "09:00", "12:00"],       # row 2
        ["r2", "t-days", "Friday", "09:00", "12:00"],       # row 3
    ])
    return folder


def test_hsds_tabular_reports_name_files_rows_columns_and_service_ids(tmp_path, package):
    printed, lines, summary = imported(tmp_path, package, "--format", "hsds", "--source-name", "pkg",
                                       "--country", "US")
    # t-days has no zone of its own (it is read with the one configured below): it does not
    # load, so its bad schedule row is reported with it, after the problem that stops it.
    funday = ("regular_schedules.csv row 2: weekday is not a day name or a number 1-7 (Monday = 1); "
              "this schedule is left out")
    assert printed == [
        "rejected: pkg: services.csv row 3 (id t-zone, 'Night & Day Shelter'): schedule.timezone: no time zone: "
        "the feed gives none and none was configured (set the source's timezone, e.g. America/New_York)",
        "rejected: pkg: services.csv row 4 (id t-days, 'Weekday Pantry'): regular_schedule.timezone: no time zone: "
        "the feed gives none and none was configured (set the source's timezone, e.g. America/New_York)",
        f"rejected: pkg: services.csv row 4 (id t-days, 'Weekday Pantry'): regular_schedule.weekday: {funday} "
        "(value: Funday)",
        "rejected: pkg: services.csv row 5 (id t-gone, 'Gone Clinic'): location: no location with coordinates or "
        "an address",
        "rejected: pkg: services.csv row 5 (id t-gone, 'Gone Clinic'): service_at_location.location_id: "
        "service_at_location.csv row 5: service_at_location names a location that is not there (value: l9)",
    ]
    assert lines[2] == reported("pkg", "services.csv row 4", "regular_schedule.weekday", funday, "Funday", "t-days",
                                "Weekday Pantry")
    assert lines[4] == reported("pkg", "services.csv row 5", "service_at_location.location_id",
                                "service_at_location.csv row 5: service_at_location names a location that is not there",
                                "l9", "t-gone", "Gone Clinic")
    assert summary.startswith("read 4, loaded 1, rejected 3,")

    # With the zone configured, the 1.x service loads and its bad row stays a warning.
    printed, lines, summary = imported(tmp_path, package, "--format", "hsds", "--source-name", "pkg",
                                       "--country", "US", "--timezone", "America/New_York")
    assert [line["record_id"] for line in lines] == ["t-gone", "t-gone"]
    assert [line for line in printed if line.startswith("warning: ")] == [
        f"warning: pkg: services.csv row 4 (id t-days, 'Weekday Pantry'): regular_schedule.weekday: {funday} "
        "(value: Funday)"]
    assert summary.startswith("read 4, loaded 3, rejected 1,")  # t-zone, too, has a zone now


# --- CSV ----------------------------------------------------------------------------------

MAPPING = """\
[defaults]
kind = "group"
program = "SMART Recovery"
formats = ["in_person"]
timezone = "Australia/Sydney"

[columns]
id = "Meeting ID"
name = "Meeting Name"
"location.locality" = "Suburb"
"location.postcode" = "Postcode"
"location.lat" = "Lat"
"location.lon" = "Lon"
sessions = { day = "Day", start = "Start", end = "End" }
"""

SHEET = [
    ["Meeting ID", "Meeting Name", "Suburb", "Postcode", "Lat", "Lon", "Day", "Start", "End"],
    ["m1", "Newtown SMART", "Newtown", "2042", "-33.89", "151.17", "Tue", "7pm", "8:30pm"],          # line 2
    ["m2", "Glebe <b>SMART</b> &amp; friends", "Glebe", "2037", "95", "151.18", "Wed", "19:00", "20:00"],  # 3
    ["m3", "Funday SMART", "Newtown", "2042", "-33.89", "151.17", "Funday", "19:00", "20:00"],        # line 4
    ["m4", "Qwxzyville SMART", "Qwxzyville", "", "", "", "Thu", "19:00", "20:00"],                   # line 5
    ["m5", "N" * 201, "Newtown", "2042", "-33.89", "151.17", "Fri", "19:00", "20:00"],               # line 6
]


def test_csv_reports_name_column_headers_lines_and_id_cells(tmp_path):
    sheet = tmp_path / "meetings.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(SHEET)
    mapping = tmp_path / "meetings.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    printed, lines, summary = imported(tmp_path, sheet, "--mapping", str(mapping))
    long_name = "N" * 80 + "…"  # reports cut values and names at 80 characters
    assert printed[:3] == [
        "rejected: meetings.csv: line 3 (id m2, 'Glebe SMART & friends'): Lat: out of range (-90 to 90) (value: 95)",
        "rejected: meetings.csv: line 4 (id m3, 'Funday SMART'): Day: unknown weekday (value: Funday)",
        "rejected: meetings.csv: line 5 (id m4, 'Qwxzyville SMART'): Suburb / Postcode: address not found by the "
        "geocoder (value: Qwxzyville)",
    ]
    # The schema's own problem (a name too long), named by the column it came from.
    assert printed[3].startswith(f"rejected: meetings.csv: line 6 (id m5, '{long_name}'): Meeting Name: ")
    assert len(printed) == 4
    assert lines[:3] == [
        reported("meetings.csv", "line 3", "Lat", "out of range (-90 to 90)", "95", "m2", "Glebe SMART & friends"),
        reported("meetings.csv", "line 4", "Day", "unknown weekday", "Funday", "m3", "Funday SMART"),
        reported("meetings.csv", "line 5", "Suburb / Postcode", "address not found by the geocoder", "Qwxzyville",
                 "m4", "Qwxzyville SMART"),
    ]
    assert (lines[3]["field"], lines[3]["record_id"], lines[3]["record_name"]) == ("Meeting Name", "m5", long_name)
    assert summary.startswith("read 5, loaded 1, rejected 4,")


# --- Native -------------------------------------------------------------------------------

def test_native_reports_name_its_own_fields_ids_and_names(tmp_path):
    listings = json.loads(DEMO.read_text(encoding="utf-8"))
    good = listings[0]
    bad = {**listings[1], "id": "demo:bad-place", "name": "Bad <b>Place</b>",
           "location": {**listings[1]["location"], "lat": 95}} if listings[1]["location"] else None
    assert bad is not None, "the demo's second listing has a location"
    feed = tmp_path / "native.json"
    feed.write_text(json.dumps([good, bad]), encoding="utf-8")
    printed, lines, summary = imported(tmp_path, feed, "--format", "native")
    assert [line for line in printed if not line.startswith("rejected: native.json: record 2 (id demo:bad-place, "
                                                             "'Bad Place'): location.lat: ")] == []
    assert len(printed) == 1 and "(value: 95)" in printed[0]
    assert [(line["position"], line["field"], line["value"], line["record_id"], line["record_name"])
            for line in lines] == [("record 2", "location.lat", "95", "demo:bad-place", "Bad Place")]
    assert summary.startswith("read 2, loaded 1, rejected 1,")


# --- Plain-text names ---------------------------------------------------------------------

@pytest.mark.parametrize("written, plain", [
    ("<b>Bold</b> Group", "Bold Group"),
    ("Step &amp; Tradition", "Step & Tradition"),
    ("Men&#039;s Group", "Men's Group"),
    ("<p>First</p><p>Second</p>", "First Second"),
    ("Line<br>break", "Line break"),
    ("<script>alert(1)</script>Safe", "Safe"),
    ("<style>p {color: red}</style>Styled", "Styled"),
    ("<!-- note -->Commented", "Commented"),
    # Markup the feed escaped once more is still markup once decoded: it goes too.
    ("&lt;b&gt;Escaped&lt;/b&gt; Group", "Escaped Group"),
    ("&amp;lt;i&amp;gt;Twice&amp;lt;/i&amp;gt;", "Twice"),
    # Text that only looks a little like markup is kept.
    ("Ages <18 welcome", "Ages <18 welcome"),
    ("AA & Al-Anon", "AA & Al-Anon"),
    ("Heart <3 Group", "Heart <3 Group"),
    ("  Spaced \n\t out  ", "Spaced out"),
])
def test_names_are_plain_text(written, plain):
    assert plain_name(written) == plain


def test_strip_markup_keeps_line_breaks_for_notes():
    assert strip_markup("<p>One</p><p>Two</p>").split() == ["One", "Two"]
    assert "\n" in strip_markup("One<br>Two")


def test_the_pipeline_makes_every_readers_names_plain():
    """Whatever a reader hands over (the BMLT reader's too), the listing's name is plain text,
    and the report's record_name is as well."""
    listing = json.loads(DEMO.read_text(encoding="utf-8"))[0]
    good = Record("feed", "record 1", {**listing, "name": "<em>Emphasised</em> &amp; plain"},
                  record_id=listing["id"], record_name="<em>Emphasised</em> &amp; plain")
    bad = Record("feed", "record 2", {**listing, "id": "demo:other", "name": "<b>Bad</b>", "sessions": "x"},
                 record_id="other", record_name="<b>Bad</b>")
    result = prepare([good, bad], StaticGeocoder({}))
    assert [x.name for x in result.listings] == ["Emphasised & plain"]
    assert {(r.record_id, r.record_name) for r in result.rejections} == {("other", "Bad")}


def test_a_report_line_reads_on_one_terminal_line():
    """Ids, names and values with line breaks or terminal escapes stay on one line, cut short."""
    record = Record("feed.json", "record 3", None, (Problem("latitude", "out of range (-90 to 90)", "95\n"),),
                    record_id="slug\x1b[31m", record_name="Two\nlines " + "x" * 100)
    (rejection,) = prepare([record], None).rejections
    name = "Two lines " + "x" * 70 + "…"
    assert str(rejection) == (f"feed.json: record 3 (id slug\ufffd[31m, '{name}'): latitude: out of range (-90 to 90) "
                              "(value: 95\ufffd)")
    assert "\n" not in rejection.as_json()


def test_a_long_report_ends_with_its_commonest_problems(capsys):
    """A feed wrong everywhere in one way (no zone) says so in one line after the flood."""
    from indexers.commands.index import report
    from indexers.imports import ImportSummary

    zone = "no time zone: the meeting has none and the feed has none configured (--timezone)"
    rejections = [Rejection("mg.json", f"record {n}", "timezone", zone, None, f"m{n}", f"Meeting {n}")
                  for n in range(1, 31)]
    rejections += [Rejection("mg.json", "record 31", "day", "must be 0-6 (Sunday = 0) or a list of those", "9")] * 2
    report(ImportSummary(rejections=rejections), None)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"rejected: mg.json: record 1 (id m1, 'Meeting 1'): timezone: {zone}"
    assert err[-3:] == [
        "most common problems (32 in all):",
        f"  30 records: mg.json: timezone: {zone}",
        "  1 record: mg.json: day: must be 0-6 (Sunday = 0) or a list of those",
    ]
    report(ImportSummary(rejections=rejections[:20]), None)
    assert "most common" not in capsys.readouterr().err
