"""`time` judged on the searcher's clock, opening hours by overlap, 24/7 in every part.

Every expected answer is worked by hand below. The moment is Thursday 3 December 2026,
08:00 UTC: Perth is UTC+8 (no daylight saving), Hobart and Sydney UTC+11 (AEDT), so a
Hobart or Sydney wall-clock time is 3 hours earlier in Perth. Parts of the day: morning
05:00-12:00, afternoon 12:00-17:00, evening 17:00-24:00. Every listing is online or by
phone for all of Australia, so each search below reaches all of them.

| id | kind     | zone   | hours (local)     | in Perth           | in Hobart          |
|----|----------|--------|-------------------|--------------------|--------------------|
| a  | group    | Hobart | Thu 18:00-19:30   | Thu 15:00 (aft.)   | Thu 18:00 (eve.)   |
| b  | group    | Hobart | Thu 21:00-22:00   | Thu 18:00 (eve.)   | Thu 21:00 (eve.)   |
| c  | helpline | Sydney | open 24/7         | every part         | every part         |
| d  | helpline | Perth  | Mon 09:00-21:00   | Mon mor, aft, eve  | Mon 12:00-24:00: aft, eve |
| e  | helpline | Perth  | Mon 09:00-17:00   | Mon mor, aft       | Mon 12:00-20:00: aft, eve |
| f  | group    | Hobart | Tue 02:00-03:00   | Mon 23:00 (eve.)   | Tue 02:00 (none)   |
| g  | service  | Sydney | Wed 09:00-17:00   | Wed 06:00-14:00: mor, aft | Wed mor, aft |

e closes at 17:00 on the dot: open until then is not open in the evening. Groups count by
their start alone: a (18:00-19:30 Hobart) is never "afternoon and evening" anywhere.
"""

from __future__ import annotations

import pytest

from service.domain.models import Contact, Listing, Session, Source
from tests.tables import served_table, table_app, table_listing

AT = "2026-12-03T08:00:00Z"
ZONES = {"hobart": "Australia/Hobart", "sydney": "Australia/Sydney", "perth": "Australia/Perth"}
ROWS = [
    # id, kind, zone, session (weekday, start, end) or None for 24/7
    ("a", "group", "hobart", ("thu", "18:00", "19:30")),
    ("b", "group", "hobart", ("thu", "21:00", "22:00")),
    ("c", "helpline", "sydney", None),
    ("d", "helpline", "perth", ("mon", "09:00", "21:00")),
    ("e", "helpline", "perth", ("mon", "09:00", "17:00")),
    ("f", "group", "hobart", ("tue", "02:00", "03:00")),
    ("g", "service", "sydney", ("wed", "09:00", "17:00")),
]


def make(ident, kind, zone, session) -> Listing:
    """One row of the table as a listing available anywhere in Australia."""
    return table_listing(
        id=f"z:{ident}", kind=kind, name=f"Zone table {kind} {ident}",
        approach="secular_peer" if kind == "group" else "clinical",
        formats=("phone",) if kind == "helpline" else ("online",), service_area=("AU",), timezone=ZONES[zone],
        sessions=(Session(*session),) if session else (), open_24_7=session is None,
        contact=Contact(conference_url="https://example.org/meet" if kind != "helpline" else None,
                        phone="1800 555 010"),
        source=Source(name="Test zone table"),
    )


TABLE = [make(*row) for row in ROWS]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("engine", marks=pytest.mark.engine)])
def zone_client(request, tmp_path_factory, gazetteer):
    for backend in served_table(request, tmp_path_factory, TABLE, "zones"):
        yield table_app(backend, gazetteer).test_client()


def found(client, **args) -> set[str]:
    """Ids (without the prefix) of every listing a search returns."""
    response = client.get("/v1/search", query_string={"at": AT, "per_page": "50", **args})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return {item["id"].removeprefix("z:") for item in response.get_json()["items"]}


@pytest.mark.parametrize(("args", "expected"), [
    # A Perth search reads every session on Perth's clock.
    ({"near": "6000", "time": "evening"}, "bcdf"),
    ({"near": "6000", "time": "afternoon"}, "acdeg"),
    ({"near": "6000", "time": "morning"}, "cdeg"),
    ({"near": "6000", "time": "evening", "kind": "helpline"}, "cd"),
    # Hobart's Tuesday 02:00 is Perth's Monday 23:00.
    ({"near": "6000", "day": "mon", "time": "evening"}, "cdf"),
    ({"near": "6000", "day": "tue", "time": "evening"}, "c"),
    ({"near": "6000", "day": "thu", "time": "afternoon"}, "ac"),
    # The same listings from Hobart: Perth's 09:00-17:00 is 12:00-20:00 there.
    ({"near": "7000", "time": "evening"}, "abcde"),
    ({"near": "7000", "day": "mon", "time": "morning"}, "c"),
    # No place: the viewer's zone, else each listing's own.
    ({"tz": "Australia/Perth", "time": "evening"}, "bcdf"),
    ({"time": "evening"}, "abcd"),
    ({"time": "afternoon"}, "cdeg"),
])
def test_parts_of_the_day_on_the_searchers_clock(zone_client, args, expected):
    assert found(zone_client, **args) == set(expected)


def test_the_place_wins_over_the_viewers_zone(zone_client):
    # A Hobart worker searching for a Perth client: Perth's clock.
    assert found(zone_client, near="6000", tz="Australia/Hobart", time="evening") == set("bcdf")
