"""The CSV reader: a spreadsheet export plus a TOML mapping, read into native records."""

import copy
import re
import tomllib

import pytest
from marshmallow import ValidationError

from indexers.records import MAX_SHOWN_VALUE, ReadOptions
from indexers.sources.csv_source import (
    compile_mapping,
    load_mapping,
    parse_monthly,
    parse_time,
    parse_weekday,
    read_csv,
)
from service.domain.programs import stance_for
from service.domain.schemas import load_listing
from tests.conftest import ROOT

MAPPINGS = ROOT / "data" / "mappings"
EXAMPLE_TOML = MAPPINGS / "example.toml"
EXAMPLE_CSV = MAPPINGS / "example.csv"
FICTION_PHONE = re.compile(r"^0[2378] 5550 \d{4}$")
OPTIONS = ReadOptions(source_name="Sheet")


def to_listing(record):
    """What the pipeline does before validating: stance fields from the program's stance,
    a placeholder where the geocoder would put coordinates."""
    data = copy.deepcopy(record.data)
    stance = stance_for(data.get("program"))
    assert stance is not None, data.get("program")
    for name in record.defaults_allowed:
        value = getattr(stance, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    location = data.get("location")
    if location and location["lat"] is None:
        location.update(lat=-33.0, lon=151.0, approximate=True)
    return load_listing(data)


def read(path, mapping, options=OPTIONS):
    return list(read_csv(path, mapping, options))


def by_position(records):
    return {r.position: r for r in records}


def fields_of(record):
    return {p.field for p in record.problems}


# --- The shipped example ---------------------------------------------------------------

@pytest.fixture(scope="module")
def example():
    return read(EXAMPLE_CSV, load_mapping(EXAMPLE_TOML), ReadOptions(source_name="example"))


def test_example_loads_every_row_into_valid_listings(example):
    assert all(r.data is not None and not r.problems for r in example), [r.problems for r in example if r.problems]
    listings = [to_listing(r) for r in example]
    assert len(listings) == 8
    # Every data row is used: 12 rows (one of them over two lines), one session each.
    rows = sum(len(re.findall(r"\d+", r.position)) for r in example)
    assert rows == 12
    assert sum(len(x.sessions) for x in listings) == 12
    assert {x.source.name for x in listings} == {"CSV example — fictional"}
    assert all(x.id.startswith("example:") for x in listings)


def test_example_shows_merged_sessions_hybrid_monthly_and_a_row_to_geocode(example):
    records = {r.data["id"]: r for r in example}
    newtown = records["example:NSW-101"]
    # Its first row has a two-line description, so the next row starts on line 4.
    assert newtown.position == "lines 2, 4"
    assert [s["weekday"] for s in newtown.data["sessions"]] == ["tue", "thu"]
    assert "\n" in newtown.data["description"]
    assert [s["weekday"] for s in records["example:NSW-107"].data["sessions"]] == ["mon", "wed", "fri"]
    assert records["example:NSW-102"].data["formats"] == ["in_person", "online"]
    assert records["example:NSW-103"].data["sessions"] == [
        {"weekday": "sat", "start": "10:00", "end": "11:30", "monthly": "first"}]
    newcastle = records["example:NSW-104"].data["location"]
    assert newcastle["lat"] is None and newcastle["lon"] is None
    assert newcastle["locality"] == "Newcastle" and newcastle["postcode"] == "2300"
    online = records["example:NSW-105"].data
    assert "location" not in online and online["service_area"] == ["AU"]
    assert records["example:NSW-106"].data["open_meeting"] is False
    # The sheet says nothing about approach or goals: the program's stance may fill them in.
    assert {"approach", "goals"} <= newtown.defaults_allowed
    assert "audiences" not in newtown.defaults_allowed  # the "Who for" column gave it


def test_example_is_fictional():
    text = EXAMPLE_CSV.read_text(encoding="utf-8")
    for phone in re.findall(r"\b0\d[ \d]{8,}\b", text):
        assert FICTION_PHONE.match(phone.strip()), phone
    for url in re.findall(r"https?://[^\s,\"]+", text + EXAMPLE_TOML.read_text(encoding="utf-8")):
        assert url.startswith("https://example.org/"), url
    for email in re.findall(r"[\w.+-]+@[\w.-]+", text):
        assert email.endswith("@example.org"), email
    assert "fictional" in tomllib.loads(EXAMPLE_TOML.read_text(encoding="utf-8"))["defaults"]["source.name"]


# --- A hostile sheet -------------------------------------------------------------------

MAPPING = {
    "csv": {"delimiter": ",", "encoding": "utf-8"},
    "defaults": {"kind": "group", "timezone": "Australia/Sydney", "program": "SMART Recovery"},
    "columns": {
        "id": "ID",
        "name": "Name",
        "open_meeting": "Open",
        "formats": {"column": "Format", "split": ";", "map": {"F2F": "in_person", "Hybrid": ["in_person", "online"]}},
        "description": "Notes",
        "location.locality": "Suburb",
        "location.postcode": "Postcode",
        "location.lat": "Lat",
        "location.lon": "Lon",
        "sessions": {"day": "Day", "start": "Start", "end": "End"},
    },
}
HEADER = b"ID,Name,Open,Format,Notes,Suburb,Postcode,Lat,Lon,Day,Start,End\n"
GOOD = b"g1,Good group,yes,F2F,,Newtown,2042,-33.89,151.17,Tue,7pm,8:30 PM\n"


def hostile_rows():
    big = b"x" * (1024 * 1024)
    return [
        GOOD,                                                                        # 2
        b"b1,Bad day,yes,F2F,,Newtown,2042,-33.89,151.17,Funday,19:00,20:00\n",      # 3
        b"b2,Bad time,yes,F2F,,Newtown,2042,-33.89,151.17,Wed,25:99,20:00\n",        # 4
        b"b3,Bad lat,yes,F2F,,Newtown,2042,-133.9,151.17,Wed,19:00,20:00\n",         # 5
        b"b4,Bad bool,maybe,F2F,,Newtown,2042,-33.89,151.17,Wed,19:00,20:00\n",      # 6
        b"b5,Caf\xe9 \xff,yes,F2F,,Newtown,2042,-33.89,151.17,Wed,19:00,20:00\n",    # 7
        b"b6,Too long,yes,F2F,,Newtown,2042,-33.89,151.17,Wed,19:00,20:00,extra\n",  # 8
        b"b7,Too short,yes,F2F\n",                                                   # 9
        b"b8,Huge day,yes,F2F,,Newtown,2042,-33.89,151.17," + big + b",19:00,20:00\n",  # 10
        b"b9," + big + b",yes,F2F,,Newtown,2042,-33.89,151.17,Wed,19:00,20:00\n",    # 11
        b"s1,<script>alert(1)</script> group,yes,Hybrid,,Newtown,2042,,,Thu,18:00,19:00\n",  # 12
        b'g2,Two-line notes,yes,F2F,"first line\nsecond line",Newtown,2042,,,Fri,10am,11am\n',  # 13-14
        b",No id,yes,F2F,,Newtown,2042,-33.89,151.17,Wed,19:00,20:00\n",             # 15
        b",,,,,,,,,,,\n",                                                            # 16 (blank)
        b"g3,Last good,Y,F2F,,Newtown,2042,-33.89,151.17,Sat,9:30,10:30\n",          # 17
    ]


@pytest.fixture()
def hostile(tmp_path):
    path = tmp_path / "hostile.csv"
    path.write_bytes(HEADER + b"".join(hostile_rows()))
    return by_position(read(path, MAPPING))


@pytest.mark.parametrize("position, field, fragment", [
    ("line 3", "Day", "unknown weekday"),
    ("line 4", "Start", "not a 24-hour time"),
    ("line 5", "Lat", "out of range"),
    ("line 6", "Open", "not yes/no"),
    ("line 7", "_row", "not valid utf-8"),
    ("line 8", "_row", "13 cells but the header has 12"),
    ("line 9", "_row", "4 cells but the header has 12"),
    ("line 10", "Day", "unknown weekday"),
    ("line 15", "ID", "missing"),
])
def test_hostile_rows_are_problems_with_line_and_field(hostile, position, field, fragment):
    record = hostile[position]
    assert record.data is None
    assert record.source == "hostile.csv"
    problems = [p for p in record.problems if p.field == field]
    assert problems, record.problems
    assert fragment in problems[0].problem
    for problem in record.problems:
        assert problem.value is None or len(str(problem.value)) <= MAX_SHOWN_VALUE + 1


def test_hostile_sheet_still_gives_its_good_rows(hostile):
    good = {r.position: r for r in hostile.values() if r.data is not None}
    assert set(good) == {"line 2", "line 11", "line 12", "line 13", "line 17"}
    for position in ("line 2", "line 12", "line 13", "line 17"):
        to_listing(good[position])
    assert good["line 13"].data["description"] == "first line\nsecond line"
    assert good["line 17"].data["open_meeting"] is True
    # Names are plain text: the markup goes (the script with its content), the words stay.
    script = good["line 12"].data
    assert script["name"] == "group"
    assert script["formats"] == ["in_person", "online"]
    assert script["location"]["lat"] is None  # left for the geocoder


def test_a_megabyte_cell_is_read_and_the_schema_refuses_it(hostile):
    record = hostile["line 11"]
    assert len(record.data["name"]) == 1024 * 1024
    with pytest.raises(ValidationError) as caught:
        to_listing(record)
    assert "name" in caught.value.messages
    value = next(p.value for p in hostile["line 10"].problems if p.field == "Day")
    assert len(value) <= MAX_SHOWN_VALUE + 1


def test_one_bad_cell_is_one_problem(hostile):
    assert [(p.field, p.value) for p in hostile["line 5"].problems] == [("Lat", "-133.9")]


def test_latitude_without_longitude_is_a_problem(tmp_path):
    path = tmp_path / "half.csv"
    path.write_bytes(HEADER + b"h1,Half,yes,F2F,,Newtown,2042,-33.89,,Tue,7pm,8pm\n")
    (record,) = read(path, MAPPING)
    assert [(p.field, p.value) for p in record.problems] == [("Lat", "-33.89")]


def test_undecodable_row_names_the_byte(hostile):
    problem = next(p for p in hostile["line 7"].problems if p.field == "_row")
    assert problem.problem == "not valid utf-8"
    assert "0xE9" in problem.value


def test_an_unclosed_quote_is_reported_where_it_starts(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_bytes(HEADER + GOOD + b'q1,"Unclosed,yes,F2F,,Newtown,2042,,,Wed,19:00,20:00\n' + GOOD)
    records = by_position(read(path, MAPPING))
    assert records["line 2"].data is not None
    problem = records["line 3"].problems[0]
    assert problem.field == "_row" and "lines 3-4" in problem.problem and "unclosed quote" in problem.problem


def test_empty_cells_are_absent_not_empty_strings(hostile):
    data = hostile["line 2"].data
    assert "description" not in data
    assert data["sessions"] == [{"weekday": "tue", "start": "19:00", "end": "20:30"}]
    assert data["id"] == "sheet:g1"
    assert data["location"]["country"] == "AU"


def test_a_missing_column_is_reported_on_the_header_line(tmp_path):
    path = tmp_path / "missing.csv"
    # Headers match ignoring case and surrounding spaces ("Postcode"), not other spellings ("Lon").
    path.write_bytes(HEADER.replace(b"Postcode", b" POSTCODE ").replace(b"Lon,", b"Long,") + GOOD)
    records = read(path, MAPPING)
    assert len(records) == 1 and records[0].position == "line 1" and records[0].data is None
    assert fields_of(records[0]) == {"Lon"}
    assert "not in the header (mapped to location.lon) (did you mean 'Long'?)" == records[0].problems[0].problem


def test_an_empty_file_is_one_problem(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\n\n")
    records = read(path, MAPPING)
    assert [(r.position, r.data, fields_of(r)) for r in records] == [("line 1", None, {"_file"})]


# --- Merging, ids ----------------------------------------------------------------------

def write(tmp_path, text, encoding="utf-8", name="sheet.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


SMALL = {
    "defaults": {"kind": "group", "timezone": "Australia/Sydney"},
    "columns": {
        "id": "ID", "name": "Name", "program": "Program", "location.locality": "Suburb",
        "location.state": "State", "location.postcode": "Postcode",
        "sessions": {"day": "Day", "start": "Start", "end": "End"},
    },
}


def test_rows_with_one_id_merge_and_disagreements_are_problems(tmp_path):
    path = write(tmp_path, "ID,Name,Program,Suburb,State,Postcode,Day,Start,End\n"
                           "a,Alpha,AA,Newtown,NSW,2042,Mon,19:00,20:00\n"
                           "b,Beta,NA,Newtown,NSW,2042,Tue,19:00,20:00\n"
                           "a,,,,,,Wed,19:00,20:00\n"
                           "b,Beta,NA,Glebe,NSW,2037,Thu,19:00,20:00\n"
                           "a,Alpha,AA,Newtown,NSW,2042,Mon,19:00,20:00\n")
    records = by_position(read(path, SMALL))
    alpha = records["lines 2, 4, 6"].data
    assert [s["weekday"] for s in alpha["sessions"]] == ["mon", "wed"]  # the repeated row adds nothing
    beta = records["lines 3, 5"]
    assert beta.data is None
    assert {(p.field, p.problem.split(":")[0]) for p in beta.problems} == {
        ("Suburb", "line 5"), ("Postcode", "line 5")}
    assert "differs from line 3 (Newtown)" in beta.problems[0].problem


def test_ids_are_cleaned_and_collisions_refused(tmp_path):
    path = write(tmp_path, "ID,Name,Program,Suburb,State,Postcode,Day,Start,End\n"
                           "AA 12/b,One,AA,Newtown,NSW,2042,Mon,19:00,20:00\n"
                           "AA 12 b,Two,AA,Newtown,NSW,2042,Tue,19:00,20:00\n"
                           "%%%,Three,AA,Newtown,NSW,2042,Tue,19:00,20:00\n")
    records = by_position(read(path, SMALL, ReadOptions(source_name="My Sheet")))
    assert records["line 2"].data["id"] == "my-sheet:AA-12-b"
    assert records["line 3"].data is None and "line 2" in records["line 3"].problems[0].problem
    assert fields_of(records["line 4"]) == {"ID"}


def test_without_an_id_column_ids_are_stable_hashes(tmp_path):
    mapping = copy.deepcopy(SMALL)
    del mapping["columns"]["id"]
    rows = ["Alpha,AA,Newtown,NSW,2042,Mon,19:00,20:00", "Alpha,AA,Newtown,NSW,2042,Wed,19:00,20:00",
            "Beta,NA,Glebe,NSW,2037,Mon,7pm,8pm"]
    header = "Name,Program,Suburb,State,Postcode,Day,Start,End\n"
    first = read(write(tmp_path, header + "\n".join(rows) + "\n", name="a.csv"), mapping)
    second = read(write(tmp_path, header + "\n".join(reversed(rows)).upper()
                        .replace("ALPHA", "alpha ") + "\n", name="b.csv"), mapping)
    ids = [r.data["id"] for r in first]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"sheet:[0-9a-f]{16}", i) for i in ids)
    assert sorted(ids) == sorted(r.data["id"] for r in second)  # order, case and spacing do not matter


def test_defaults_fill_what_cells_leave_and_the_state_gives_a_zone(tmp_path):
    mapping = copy.deepcopy(SMALL)
    del mapping["defaults"]["timezone"]
    mapping["defaults"]["location.state"] = "NT"
    path = write(tmp_path, "ID,Name,Program,Suburb,State,Postcode,Day,Start,End\n"
                           "d1,Darwin group,AA,Darwin,,800,Mon,19:00,20:00\n"
                           "o1,Online group,AA,,,,Tue,19:00,20:00\n")
    records = by_position(read(path, mapping, ReadOptions(source_name="nt", timezone=None)))
    darwin = records["line 2"].data
    assert darwin["location"]["state"] == "NT" and darwin["location"]["postcode"] == "0800"
    assert darwin["timezone"] == "Australia/Darwin"
    online = records["line 3"].data
    assert "location" not in online  # a default never invents a location
    assert "timezone" not in online  # nothing says which zone: the schema will say so


def test_numbered_weekdays_need_a_day_base_and_duration_gives_an_end(tmp_path):
    text = "ID,Name,Program,Suburb,State,Postcode,Day,Start,End\nn1,N,AA,Newtown,NSW,2042,0,19:00,\n"
    path = write(tmp_path, text)
    problem = read(path, SMALL)[0].problems
    assert {p.field for p in problem} == {"Day", "End"}
    mapping = copy.deepcopy(SMALL)
    mapping["columns"]["sessions"].update(day_base="sunday0", duration=90)
    assert read(path, mapping)[0].data["sessions"] == [{"weekday": "sun", "start": "19:00", "end": "20:30"}]


# --- Encodings -------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig"])
def test_encodings(tmp_path, encoding):
    mapping = copy.deepcopy(SMALL)
    mapping["csv"] = {"encoding": encoding, "delimiter": ";"}
    text = ("ID;Name;Program;Suburb;State;Postcode;Day;Start;End\r\n"
            "c1;Café – “Kings Cross”;AA;Potts Point;NSW;2011;Thursday;7:30pm;9pm\r\n")
    path = write(tmp_path, text, encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    (record,) = read(path, mapping)
    assert not record.problems
    assert record.data["name"] == "Café – “Kings Cross”"
    assert record.data["sessions"] == [{"weekday": "thu", "start": "19:30", "end": "21:00"}]


def test_a_bom_is_ignored_even_when_the_mapping_says_utf_8(tmp_path):
    path = write(tmp_path, "ID,Name,Program,Suburb,State,Postcode,Day,Start,End\n"
                           "c1,Name,AA,Newtown,NSW,2042,Mon,19:00,20:00\n", "utf-8-sig")
    (record,) = read(path, SMALL)
    assert record.data["id"] == "sheet:c1"


def test_cp1252_bytes_in_a_utf8_sheet_are_a_row_problem(tmp_path):
    path = write(tmp_path, "ID,Name,Program,Suburb,State,Postcode,Day,Start,End\n"
                           "c1,Café,AA,Newtown,NSW,2042,Mon,19:00,20:00\n"
                           "c2,Plain,AA,Newtown,NSW,2042,Mon,19:00,20:00\n", "cp1252")
    records = by_position(read(path, SMALL))
    assert records["line 2"].problems[0].problem == "not valid utf-8"
    assert records["line 3"].data["name"] == "Plain"


# --- The mapping itself ----------------------------------------------------------------

def mutate(change):
    mapping = copy.deepcopy(MAPPING)
    change(mapping)
    return mapping


@pytest.mark.parametrize("change, key", [
    (lambda m: m["columns"].update({"locaton.locality": "Suburb"}), "locaton.locality"),
    (lambda m: m["columns"].update({"location": {"column": "Suburb"}}), "location"),
    (lambda m: m["columns"]["formats"].update({"spilt": ";"}), "spilt"),
    (lambda m: m["columns"]["formats"]["map"].update({"Zoom": "onlin"}), "Zoom"),
    (lambda m: m["columns"].update({"name": {"column": "Name", "split": ";"}}), "name"),
    (lambda m: m["columns"]["sessions"].update({"ends": "End"}), "ends"),
    (lambda m: m["columns"]["sessions"].update({"day_base": "tuesday0"}), "day_base"),
    (lambda m: m["columns"]["sessions"].update({"duration": "90"}), "duration"),
    (lambda m: m["columns"].update({"open_meeting": {"column": "Open", "map": {"sometimes": "maybe"}}}), "sometimes"),
    (lambda m: m.update({"colums": {}}), "colums"),
    (lambda m: m["csv"].update({"delimeter": ";"}), "delimeter"),
    (lambda m: m["csv"].update({"encoding": "utf-16"}), "encoding"),
    (lambda m: m["csv"].update({"encoding": "no-such-codec"}), "encoding"),
    (lambda m: m["csv"].update({"delimiter": ";;"}), "delimiter"),
    (lambda m: m["defaults"].update({"timezone": "Mars/Olympus"}), "timezone"),
    (lambda m: m["defaults"].update({"kind": "meeting"}), "kind"),
    (lambda m: m["defaults"].update({"sessions": []}), "sessions"),
    (lambda m: m["defaults"].update({"location.lat": 123}), "location.lat"),
    (lambda m: m["columns"].pop("name"), "name"),
])
def test_mapping_errors_name_the_key(change, key):
    with pytest.raises(ValueError) as caught:
        compile_mapping(mutate(change))
    assert f"'{key}'" in str(caught.value) or f"[{key}]" in str(caught.value) or f"{key}:" in str(caught.value)


def test_read_csv_checks_the_mapping_before_reading(tmp_path):
    bad = mutate(lambda m: m["columns"].update({"nmae": "Name"}))
    with pytest.raises(ValueError, match="'nmae'.*did you mean 'name'"):
        read_csv(tmp_path / "never-opened.csv", bad, OPTIONS)


def test_load_mapping_reports_toml_errors_and_accepts_unquoted_dotted_keys(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[columns\nname = 'Name'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.toml: not valid TOML"):
        load_mapping(broken)
    dotted = tmp_path / "dotted.toml"
    dotted.write_text('[defaults]\nkind = "group"\nlocation.country = "AU"\n'
                      '[columns]\nname = "Name"\nlocation.locality = { column = "Suburb" }\n', encoding="utf-8")
    plan = compile_mapping(load_mapping(dotted))
    assert plan.defaults == {"kind": "group", "location.country": "AU"}
    assert [(c.target.name, c.header) for c in plan.columns] == [("name", "Name"), ("location.locality", "Suburb")]


def test_every_shipped_mapping_loads_and_reads_the_headers_its_file_names():
    shipped = sorted(MAPPINGS.glob("*.toml"))
    assert [path.name for path in shipped] == ["example.toml"]  # a new mapping is added here too
    for path in shipped:
        # The headers as the TOML itself says them, read apart from the mapping code.
        with open(path, "rb") as fh:
            columns = tomllib.load(fh)["columns"]
        written = {(target, spec if isinstance(spec, str) else spec["column"])
                   for target, spec in columns.items() if target != "sessions"}
        written |= {(f"sessions.{name}", columns["sessions"][key])
                    for key, name in (("day", "weekday"), ("start", "start"), ("end", "end"), ("monthly", "monthly"))
                    if key in columns.get("sessions", {})}
        plan = compile_mapping(load_mapping(path))
        assert set(plan.headers()) == written, path.name
        # Its sample sheet has every one of them.
        header_row = path.with_suffix(".csv").read_text(encoding="utf-8").splitlines()[0].split(",")
        assert {header for _, header in written} <= set(header_row), path.name


# --- Cell parsers ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("19:00", "19:00"), ("7pm", "19:00"), ("7:30 PM", "19:30"), ("7.30pm", "19:30"), ("9:05", "09:05"),
    ("12am", "00:00"), ("12:15 pm", "12:15"), ("1930", "19:30"), ("19:00:00", "19:00"), ("noon", "12:00"),
    ("7:30\u202fp.m.", "19:30"), ("24:00", "00:00"),
])
def test_times(text, expected):
    assert parse_time(text) == (expected, None)


@pytest.mark.parametrize("text", ["7", "25:00", "13pm", "19:60", "tea time", "19:00:30", ""])
def test_bad_times(text):
    value, why = parse_time(text)
    assert value is None and why


@pytest.mark.parametrize("text, base, expected", [
    ("Monday", None, "mon"), ("mon", None, "mon"), ("TUES", None, "tue"), ("Thurs.", None, "thu"),
    ("weds", None, "wed"), ("Sundays", None, "sun"), ("0", "sunday0", "sun"), ("0", "monday0", "mon"),
    ("7", "monday1", "sun"), ("1", "monday1", "mon"),
])
def test_weekdays(text, base, expected):
    assert parse_weekday(text, base) == (expected, None)


@pytest.mark.parametrize("text, base", [("S", None), ("Funday", None), ("3", None), ("7", "sunday0"),
                                        ("0", "monday1")])
def test_bad_weekdays(text, base):
    value, why = parse_weekday(text, base)
    assert value is None and why


def test_monthly_rules():
    assert [parse_monthly(t) for t in ("1st", "First Saturday", "2", "third", "4th", "Last", "5th")] == [
        "first", "first", "second", "third", "fourth", "last", None]


def test_a_cell_over_the_csv_limit_is_a_row_problem(tmp_path, monkeypatch):
    import csv

    from indexers.sources import csv_source

    previous = csv.field_size_limit()
    monkeypatch.setattr(csv_source, "FIELD_SIZE_LIMIT", 1000)
    csv.field_size_limit(1000)
    try:
        path = tmp_path / "limit.csv"
        path.write_bytes(HEADER + GOOD + b"big," + b"y" * 5000 + b",yes,F2F,,Newtown,2042,,,Tue,7pm,8pm\n"
                         + GOOD.replace(b"g1,", b"g9,"))
        records = by_position(read(path, MAPPING))
    finally:
        csv.field_size_limit(previous)
    assert records["line 2"].data and records["line 4"].data
    problem = records["line 3"].problems[0]
    assert problem.field == "_row" and "field larger than field limit" in problem.problem
