"""BMLT (Narcotics Anonymous' meeting servers): recorded GetSearchResults responses load, the
hand-made fixtures cover what the recordings lack, bad values are reported by BMLT's field
name and the meeting's id_bigint, and a root server is asked page by page.

Expected values are read by hand from the fixture files (tests/fixtures/feeds/bmlt; which
meeting and field is said beside each), and from BMLT's own definitions: weekday_tinyint is
the stored weekday plus one, Sunday = 1 (bmlt-server MeetingResource::getWeekdayTinyint).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from indexers.pipeline import prepare
from indexers.records import ReadOptions, Record
from indexers.sources import detect, fetch, read
from indexers.sources.bmlt import endpoint, fetch_root_server, parse_clock, read_bmlt
from indexers.sources.native import FeedError
from service.domain.meeting_guide import NEWCOMER_TEXT
from tests.conftest import FEEDS

BMLT = FEEDS / "bmlt"
RECORDED = {day: BMLT / f"meeting-search-42.867970-day{day}.json" for day in (2, 3, 4)}
HANDMADE = BMLT / "handmade-venues-zones-durations.json"
BAD = BMLT / "handmade-bad-values.json"
NEW_YORK = ReadOptions("NA Finger Lakes", timezone="America/New_York", country="US")


def records(path_or_bytes, options=NEW_YORK) -> list[Record]:
    raw = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return list(read_bmlt(raw, options, "feed.json"))


def by_id(found: list[Record]) -> dict[str, Record]:
    return {r.record_id: r for r in found}


# --- the recordings -------------------------------------------------------------------------


@pytest.mark.parametrize("day, count, weekday", [(2, 53, "mon"), (3, 54, "tue"), (4, 62, "wed")])
def test_every_recorded_meeting_loads_on_its_weekday(day, count, weekday):
    # Counts: the number of "id_bigint" keys in each recording; each was asked for one
    # weekday_tinyint (2 = Monday, 3 = Tuesday, 4 = Wednesday with Sunday = 1).
    found = records(RECORDED[day])
    assert len(found) == count
    assert all(r.data is not None and not r.problems for r in found), [r.problems for r in found if r.problems][:3]
    assert {r.data["sessions"][0]["weekday"] for r in found} == {weekday}
    result = prepare(found, geocoder=None)
    assert len(result.listings) == count and not result.rejections


def test_a_recorded_meeting_field_by_field():
    # day3, first meeting: id_bigint 1795 "New Hope", 12:00:00, formats "O,B,BT,D,St,WC",
    # St. Johns Episcopal Church, 32 East Main St., Clifton Springs, NY, 42.961098,-77.132737.
    record = by_id(records(RECORDED[3]))["1795"]
    data = record.data
    assert record.record_name == "New Hope" and record.position == "record 1"
    assert data["id"] == "na-finger-lakes:1795"
    assert data["name"] == "New Hope" and data["program"] == "Narcotics Anonymous"
    # No duration_time in the recording: the server's default duration, one hour.
    assert data["sessions"] == [{"weekday": "tue", "start": "12:00", "end": "13:00"}]
    assert data["timezone"] == "America/New_York"
    assert data["formats"] == ["in_person"] and data["service_area"] == []
    assert data["location"] == {"address": "32 East Main St.", "locality": "Clifton Springs", "state": "NY",
                                "postcode": None, "country": "US", "lat": 42.961098, "lon": -77.132737,
                                "approximate": False}
    assert data["open_meeting"] is True  # O = Open (world_id OPEN)
    assert data["accessibility"] == ["wheelchair_access"]  # WC = Wheelchair (WCHR)
    assert data["first_visit"] == {"what_to_expect": NEWCOMER_TEXT}  # B = Beginners (BEG)
    assert data["description"] == "Meets at St. Johns Episcopal Church."
    assert "audiences" not in data and "audiences" in record.defaults_allowed


def test_recorded_venue_notes_and_unmarked_meetings():
    found = by_id(records(RECORDED[2]))
    # day2 record 1, id 2566: location_info "Admin Conference Room", venue "Clifton springs Hospital".
    assert found["2566"].data["description"] == "Meets at Clifton springs Hospital.\n\nAdmin Conference Room"
    # day2 record 2, id 2622 "A New Way of Life": formats "", neither open nor closed; BMLT
    # reads that as closed by default (server-info.json: "default_closed_status": true).
    assert found["2622"].data["open_meeting"] is False
    # day2 record 29, id 1988 "Just For Today": formats "" too; 18:30:00.
    assert found["1988"].data["sessions"] == [{"weekday": "mon", "start": "18:30", "end": "19:30"}]


def test_recordings_without_a_zone_need_one_and_say_which_meeting():
    # The recordings carry no time_zone: without --timezone every meeting is reported.
    found = records(RECORDED[4], ReadOptions("NA", country="US"))
    assert len(found) == 62 and all(r.data is None for r in found)
    first = found[0]  # day4 record 1: id 2533 "Never Look Back"
    assert (first.record_id, first.record_name) == ("2533", "Never Look Back")
    assert [p.field for p in first.problems] == ["time_zone"]


def test_without_the_servers_formats_the_stock_key_strings_are_read():
    # A plain array (no "formats" beside it) is read with BMLT's stock key strings: day3 id
    # 1795 has O and WC.
    plain = json.dumps(json.loads(RECORDED[3].read_bytes())["meetings"]).encode()
    data = by_id(records(plain))["1795"].data
    assert data["open_meeting"] is True and data["accessibility"] == ["wheelchair_access"]


def test_a_recording_is_detected_as_bmlt_and_meeting_guide_still_as_meeting_guide():
    assert detect(fetch(str(RECORDED[2]))) == "bmlt"
    assert detect(fetch(str(FEEDS / "meeting-guide" / "sussex-county-de-aa.json"))) == "meeting-guide"
    # GetFormats alone is not a meeting list.
    assert detect(fetch(str(BMLT / "formats.json"))) != "bmlt"


# --- the hand-made meetings: venues, zones, durations, shared ids ---------------------------


def handmade(**options) -> dict[str, Record]:
    return by_id(records(HANDMADE, ReadOptions("NA Australia", timezone="Australia/Brisbane", **options)))


def test_a_virtual_meeting():
    # 9001: venue_type 2, Sunday (1) 19:00:00 for 01:30:00, Australia/Sydney, formats C,W,VM,
    # a Zoom link, only a town (Sydney NSW) and no coordinates.
    data = handmade()["9001"].data
    assert data["formats"] == ["online"] and data["location"] is None and data["service_area"] == ["AU"]
    assert data["sessions"] == [{"weekday": "sun", "start": "19:00", "end": "20:30"}]
    assert data["timezone"] == "Australia/Sydney"
    assert data["contact"]["conference_url"] == "https://zoom.us/j/5555555555"
    assert data["open_meeting"] is False and data["audiences"] == ["women"]
    assert data["description"] == "Online: Meeting ID 555 5555 5555, passcode on request"


def test_a_hybrid_meeting_read_by_shared_format_ids():
    # 9002: venue_type 3, Monday 12:30:00 for 01:00:00, Australia/Melbourne; link and phone;
    # format_shared_id_list 17,33,55 where this server calls 33 (world_id WCHR) "Wh".
    data = handmade()["9002"].data
    assert data["formats"] == ["in_person", "online", "phone"] and data["service_area"] == ["AU"]
    assert data["sessions"] == [{"weekday": "mon", "start": "12:30", "end": "13:30"}]
    assert data["contact"]["conference_url"] == "https://meet.jit.si/example-na-lunchtime"
    assert data["contact"]["conference_phone"] == "+61 3 5555 5555"
    assert data["accessibility"] == ["wheelchair_access"] and data["open_meeting"] is True
    assert data["location"] == {"address": "12 Example Street", "locality": "Fitzroy", "state": "VIC",
                                "postcode": "3065", "country": "AU", "lat": -37.799, "lon": 144.978,
                                "approximate": False}
    assert data["description"] == ("Meets at Example Neighbourhood House.\n\nUpstairs, ring the bell\n\n"
                                   "Bring your own lunch.")


def test_a_meeting_past_midnight_in_spanish_for_newcomers():
    # 9003: Friday (6) 23:00:00 for 02:00:00 in Australia/Perth; formats O,ES,B.
    data = handmade()["9003"].data
    assert data["sessions"] == [{"weekday": "fri", "start": "23:00", "end": "01:00"}]
    assert data["timezone"] == "Australia/Perth"
    assert data["languages"] == ["es"] and data["first_visit"] == {"what_to_expect": NEWCOMER_TEXT}
    assert data["name"] == "Reunión de Medianoche"


def test_missing_zone_duration_shared_ids_and_zero_coordinates():
    # 9004: no time_zone (the feed's --timezone), no duration_time (one hour), no
    # format_shared_id_list (key strings YP,GL), coordinates "0","0" (none: geocoded later).
    data = handmade()["9004"].data
    assert data["timezone"] == "Australia/Brisbane"
    assert data["sessions"] == [{"weekday": "sat", "start": "10:00", "end": "11:00"}]
    assert data["audiences"] == ["young_people", "lgbtiq"]
    assert data["location"]["lat"] is None and data["location"]["locality"] == "Brisbane"
    assert data["open_meeting"] is False  # neither O nor C: the server's default, closed
    assert handmade()["9004"].record_name == "Young and Proud"


def test_a_closed_room_whose_meeting_goes_on_by_phone():
    # 9005: venue_type 3, formats C,TC (temporarily closed facility), a phone number only.
    data = handmade()["9005"].data
    assert data["formats"] == ["phone"] and data["status"] == "active"
    assert data["contact"]["conference_phone"] == "+61 8 5555 5555"


def test_shared_ids_win_over_key_strings_of_another_language():
    # Formats asked for in another language (GetFormats&lang_enum=de) have other key strings
    # than the meeting's `formats`; the shared ids (9002: 17,33,55) still say what they are.
    doc = json.loads(HANDMADE.read_bytes())
    meeting = {**doc["meetings"][1], "formats": "Of,Ro,Hy"}  # keys no format here carries
    data = records(json.dumps({"meetings": [meeting], "formats": doc["formats"]}).encode())[0].data
    assert data["accessibility"] == ["wheelchair_access"] and data["open_meeting"] is True
    assert "online" in data["formats"]


def test_an_unknown_key_falls_back_from_stale_shared_ids():
    meeting = json.loads(HANDMADE.read_bytes())["meetings"][2]  # 9003, O,ES,B
    stale = {**meeting, "format_shared_id_list": "900,901"}  # ids this server does not list
    raw = json.dumps({"meetings": [stale], "formats": json.loads(HANDMADE.read_bytes())["formats"]}).encode()
    data = records(raw)[0].data
    assert data["languages"] == ["es"] and data["open_meeting"] is True


def test_the_hand_made_meetings_pass_the_pipeline():
    result = prepare(list(handmade().values()), geocoder=None)
    # 9004 has no coordinates and no geocoder here: reported on its location, by BMLT's name.
    assert {x.id for x in result.listings} == {f"na-australia:{n}" for n in ("9001", "9002", "9003", "9005")}
    assert [(r.record_id, r.field) for r in result.rejections] == [("9004", "location_street")]


# --- bad values --------------------------------------------------------------------------------


def test_each_bad_value_is_reported_by_bmlt_field_and_meeting_id_while_the_good_one_loads():
    found = records(BAD, ReadOptions("NA test", timezone="Australia/Sydney"))
    result = prepare(found, geocoder=None)
    # handmade-bad-values.json, one bad value per meeting (README beside it).
    reported = {(r.record_id, r.field) for r in result.rejections}
    assert reported == {
        ("9101", "weekday_tinyint"),        # "8"
        ("9102", "start_time"),             # "25:00:00"
        ("9103", "latitude"),               # "95.5"
        ("9104", "time_zone"),              # "Mars/Olympus_Mons"
        ("9105", "venue_type"),             # "4"
        ("9106", "virtual_meeting_link"),   # "zoom meeting 555 5555"
        ("9107", "meeting_name"),           # ""
        ("9108", "duration_time"),          # "ninety"
        (None, "id_bigint"),                # "" ("No Id")
        ("9110", "location_street"),        # in person, no address, no coordinates
    }
    values = {r.field: r.value for r in result.rejections}
    assert values["weekday_tinyint"] == "8" and values["latitude"] == "95.5" and values["start_time"] == "25:00:00"
    names = {r.record_id: r.record_name for r in result.rejections}
    assert names["9103"] == "Bad Latitude" and names[None] == "No Id"
    assert [x.id for x in result.listings] == ["na-test:9111"]
    line = next(str(r) for r in result.rejections if r.record_id == "9101")
    assert line == "feed.json: record 1 (id 9101, 'Bad Weekday'): weekday_tinyint: must be 1-7 (1 = Sunday) (value: 8)"


def test_schema_problems_are_named_as_bmlt_names_them():
    # A problem the schema or the pipeline finds names Linkage's field; the record's
    # feed_fields turn it into BMLT's: native "location.lat" is "latitude".
    record = by_id(records(HANDMADE, ReadOptions("NA", timezone="Australia/Sydney")))["9003"]
    assert record.feed_field("location.lat") == "latitude"
    assert record.feed_field("sessions.0.start") == "start_time"
    assert record.feed_field("contact.conference_url") == "virtual_meeting_link"
    assert record.feed_field("timezone") == "time_zone"


@pytest.mark.parametrize("meeting, field", [
    ("not an object", "_record"),
    ({"id_bigint": "1", "weekday_tinyint": 3, "start_time": 1900}, "start_time"),
    ({"id_bigint": ["1"], "meeting_name": "x"}, "id_bigint"),
    ({"id_bigint": "1", "meeting_name": "x", "weekday_tinyint": "2", "start_time": "19:00:00",
      "latitude": "north", "longitude": "1", "location_street": "1 A St"}, "latitude"),
    ({"id_bigint": "1", "meeting_name": "x", "weekday_tinyint": "2", "start_time": "19:00:00",
      "duration_time": "24:00:00", "location_street": "1 A St"}, "duration_time"),
])
def test_hostile_meetings_are_reported_not_crashed_on(meeting, field):
    found = records(json.dumps([meeting]).encode())
    assert found[0].data is None and field in {p.field for p in found[0].problems}


def test_numbers_where_strings_are_expected_are_read():
    meeting = {"id_bigint": 17, "meeting_name": "Numbers", "weekday_tinyint": 1, "start_time": "08:00",
               "latitude": -33.87, "longitude": 151.21, "location_street": "1 A St", "time_zone": "Australia/Sydney"}
    data = records(json.dumps([meeting]).encode())[0].data
    assert data["id"].endswith(":17") and data["sessions"][0] == {"weekday": "sun", "start": "08:00", "end": "09:00"}


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xfe", "not UTF-8"),
    (b"{not json", "invalid JSON"),
    (b'{"formats": []}', "GetSearchResults"),
    (b'"text"', "GetSearchResults"),
    ((BMLT / "formats.json").read_bytes(), "a GetFormats answer"),
])
def test_an_unreadable_response_is_one_clear_error(raw, message):
    with pytest.raises(FeedError, match=message):
        read_bmlt(raw, NEW_YORK, "feed.json")


def test_an_unknown_configured_zone_is_refused_before_any_record():
    with pytest.raises(FeedError, match="not an IANA zone"):
        read_bmlt(RECORDED[2].read_bytes(), ReadOptions("NA", timezone="New York"), "feed.json")


@pytest.mark.parametrize("value, minutes", [("19:30:00", 1170), ("07:05", 425), ("00:00:00", 0), ("", None)])
def test_clock_values(value, minutes):
    assert parse_clock(value, "start_time") == minutes


@pytest.mark.parametrize("value", ["24:00:00", "7pm", "19:60:00", "1930"])
def test_bad_clock_values_name_the_field(value):
    assert parse_clock(value, "start_time").field == "start_time"


# --- a root server, page by page ------------------------------------------------------------
# A stand-in for a root server's client_interface/json/: it answers GetFormats and
# GetServerInfo with the recordings and pages the three recorded days' meetings as
# bmlt-server's SwitcherController does (page_size, page_num from 1, sort_keys).


def _all_recorded_meetings() -> list[dict]:
    meetings = []
    for path in RECORDED.values():
        meetings.extend(json.loads(path.read_bytes())["meetings"])
    return meetings


class RootServer(BaseHTTPRequestHandler):
    pages_ignored = False  # a server too old to page answers everything every time
    asked: list

    def do_GET(self):  # noqa: N802 - the http.server name
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.asked.append(query)
        if not parts.path.endswith("/main_server/client_interface/json/"):
            body, kind = b"<html>BMLT</html>", "text/html"
        elif query.get("switcher") == "GetFormats":
            body, kind = (BMLT / "formats.json").read_bytes(), "application/json"
        elif query.get("switcher") == "GetServerInfo":
            body, kind = (BMLT / "server-info.json").read_bytes(), "application/json"
        elif query.get("switcher") == "GetSearchResults":
            meetings = sorted(_all_recorded_meetings(), key=lambda m: int(m["id_bigint"]))
            if "page_size" in query and not self.pages_ignored:
                size, number = int(query["page_size"]), int(query.get("page_num", 1))
                meetings = meetings[(number - 1) * size:number * size]
            body, kind = json.dumps(meetings).encode(), "application/json"
        else:
            self.send_error(422)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def root_server():
    handler = type("Handler", (RootServer,), {"asked": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/main_server"
    server.shutdown()
    server.server_close()


def test_a_root_server_is_read_page_by_page(root_server):
    handler, url = root_server
    meetings, formats, default_closed = fetch_root_server(url, max_bytes=10**7, timeout_s=10, deadline_s=60,
                                                          page_size=50)
    # 53 + 54 + 62 recorded meetings: pages of 50, 50, 50 and 19.
    assert len(meetings) == 169 and len({m["id_bigint"] for m in meetings}) == 169
    assert len(formats) == 44 and default_closed is True  # formats.json entries; server-info.json
    pages = [q for q in handler.asked if q.get("switcher") == "GetSearchResults"]
    assert [q["page_num"] for q in pages] == ["1", "2", "3", "4"]
    assert all(q["page_size"] == "50" and q["sort_keys"] == "id_bigint" for q in pages)


def test_a_server_that_ignores_paging_is_read_once(root_server):
    handler, url = root_server
    handler.pages_ignored = True
    meetings, _, _ = fetch_root_server(url, max_bytes=10**7, timeout_s=10, deadline_s=60, page_size=50)
    assert len(meetings) == 169


def test_a_root_server_url_is_detected_and_imported(root_server):
    handler, url = root_server
    feed = fetch(url + "/")
    assert feed.raw is None and detect(feed) == "bmlt"
    assert feed.name == url.split("/")[2]  # 127.0.0.1:port: reports name the server
    found = list(read(feed, "auto", NEW_YORK))
    assert len(found) == 169 and all(r.data is not None for r in found)


def test_a_geographic_query_is_kept_and_paged(root_server):
    handler, url = root_server
    query = url + "/client_interface/json/?switcher=GetSearchResults&lat_val=42.86797&long_val=-76.98&geo_width_km=50"
    found = list(read(fetch(query), "bmlt", NEW_YORK))
    assert len(found) == 169
    asked = [q for q in handler.asked if q.get("switcher") == "GetSearchResults"][0]
    assert (asked["lat_val"], asked["long_val"], asked["geo_width_km"]) == ("42.86797", "-76.98", "50")


def test_a_size_bound_stops_a_large_server(root_server):
    _, url = root_server
    with pytest.raises(FeedError, match="larger than"):
        fetch_root_server(url, max_bytes=20_000, timeout_s=10, deadline_s=60, page_size=50)


def test_a_page_that_is_not_a_bmlt_answer_is_a_clear_error(root_server):
    _, url = root_server
    with pytest.raises(FeedError, match="not a BMLT JSON answer"):
        fetch_root_server(url.replace("/main_server", "/elsewhere"), max_bytes=10**7, timeout_s=10, deadline_s=60)


def test_endpoint_addresses():
    interface = "https://na.example.org/main_server/client_interface/json/"
    assert endpoint("https://na.example.org/main_server/") == (interface, {})
    base, search = endpoint("https://na.example.org/main_server/client_interface/json/"
                            "?switcher=GetSearchResults&services=5&recursive=1&page_num=3")
    assert base == interface and search == {"services": "5", "recursive": "1"}
    with pytest.raises(FeedError, match="GetSearchResults"):
        endpoint("https://na.example.org/main_server/client_interface/json/?switcher=GetFormats")
