"""Audience tiers, time of day, tonight, typed words and the soonest rule, on a small table.

Every expected answer is worked out by hand below, not by the code under test. The
moment is FIXED_NOW: Thursday 26 November 2026, 08:00 UTC = 7:00 pm in Sydney (AEDT,
UTC+11; no clock change for weeks either side). The searched point is Sydney's centre,
and each in-person listing sits due north of it at the distance in its row, so nearer
means a smaller number. Every listing is in Sydney's zone.

| id | audiences              | km  | session (local)            | minutes from 7 pm             | part      |
|----|------------------------|-----|----------------------------|-------------------------------|-----------|
| a  | everyone               | 1   | Thu 18:00-20:00            | running, 60 left: -60         | evening   |
| b  | family_friends         | 0.5 | Thu 19:30-21:00            | 30                            | evening   |
| c  | everyone               | 2   | Thu 18:00-19:20            | running, 20 left: nearly over | evening   |
| d  | women                  | 3   | Thu 20:00-21:00            | 60                            | evening   |
| e  | everyone               | 4   | Thu 21:00-22:00            | 120                           | evening   |
| f  | everyone, cald         | 5   | Fri 09:00-10:00            | 14 h = 840                    | morning   |
| g  | family_friends, cald   | 6   | Sat 14:00-15:00            | 2 d 19 h = 4020               | afternoon |
| h  | everyone               | 7   | 2nd Wed of month 18:00-19:00 | Wed 9 Dec: 12 d 23 h = 18660 | evening   |
| i  | young_people           | 8   | Thu 23:30-00:30            | 270                           | evening   |
| j  | everyone               | 9   | Fri 00:00-01:00            | 300 (midnight: not tonight)   | none      |
| k  | everyone (online, NSW) | --  | Thu 21:01-22:00            | 121                           | evening   |

Soonest: c is nearly over, so it ranks as 120.5 minutes: after e (120), before k (121).
Tonight: midnight is 300 minutes away, so j (at midnight) is out and a, c (on now) are in.
Substances: b methamphetamine, e and g alcohol, the rest any.
"""

from __future__ import annotations

import pytest

from service.domain.models import Contact, Listing, Location, Session
from tests.tables import served_table, table_app, table_listing

CENTRE = (-33.8688, 151.2093)
KM_PER_DEGREE = 6371.009 * 3.141592653589793 / 180
ROWS = [
    # id, audiences, km, (weekday, start, end, monthly), substances
    ("a", ("everyone",), 1.0, ("thu", "18:00", "20:00", None), ("any",)),
    ("b", ("family_friends",), 0.5, ("thu", "19:30", "21:00", None), ("methamphetamine",)),
    ("c", ("everyone",), 2.0, ("thu", "18:00", "19:20", None), ("any",)),
    ("d", ("women",), 3.0, ("thu", "20:00", "21:00", None), ("any",)),
    ("e", ("everyone",), 4.0, ("thu", "21:00", "22:00", None), ("alcohol",)),
    ("f", ("everyone", "cald"), 5.0, ("fri", "09:00", "10:00", None), ("any",)),
    ("g", ("family_friends", "cald"), 6.0, ("sat", "14:00", "15:00", None), ("alcohol",)),
    ("h", ("everyone",), 7.0, ("wed", "18:00", "19:00", "second"), ("any",)),
    ("i", ("young_people",), 8.0, ("thu", "23:30", "00:30", None), ("any",)),
    ("j", ("everyone",), 9.0, ("fri", "00:00", "01:00", None), ("any",)),
    ("k", ("everyone",), None, ("thu", "21:01", "22:00", None), ("any",)),
]


def make(ident, audiences, km, session, substances) -> Listing:
    """One row of the table as a listing."""
    online = km is None
    return table_listing(
        id=f"t:{ident}", name=f"Table group {ident}", substances=substances,
        formats=("online",) if online else ("in_person",), audiences=audiences,
        location=None if online else Location(address=None, locality="Sydney", state="NSW", postcode="2000",
                                              country="AU", lat=CENTRE[0] + km / KM_PER_DEGREE, lon=CENTRE[1]),
        service_area=("NSW",) if online else (), sessions=(Session(*session),),
        contact=Contact(conference_url="https://example.org/meet" if online else None, phone="02 5550 0101"),
    )


TABLE = [make(*row) for row in ROWS]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("engine", marks=pytest.mark.engine)])
def table_client(request, tmp_path_factory, gazetteer):
    for backend in served_table(request, tmp_path_factory, TABLE, "table"):
        yield table_app(backend, gazetteer).test_client()


def search(client, **args) -> dict:
    args = {"lat": str(CENTRE[0]), "lon": str(CENTRE[1]), "per_page": "50", **args}
    response = client.get("/v1/search", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def ids(body) -> list[str]:
    return [item["id"].removeprefix("t:") for item in body["items"]]


@pytest.mark.parametrize(("args", "expected"), [
    # Everyone first (nearest first, online last), then the restricted ones, nearest first.
    ({"sort": "distance"}, "a c e f h j k | b d g i"),
    # Best: nearness; the online k counts as 8 km, so between h (7) and j (9).
    ({"sort": "best"}, "a c e f h k j | b d g i"),
    # In progress a first; e (120) before the nearly-over c (120.5) before k (121).
    ({"sort": "soonest"}, "a e c k j f h | b d i g"),
    # For a family member: family groups first, then everyone; women's and young people's out.
    ({"sort": "distance", "audience": "family_friends"}, "b g | a c e f h j k"),
    ({"sort": "soonest", "audience": "family_friends"}, "b g | a e c k j f h"),
    ({"sort": "distance", "audience": "women,young_people"}, "d i | a c e f h j k"),
    ({"sort": "distance", "audience": "cald"}, "f g | a c e h j k"),
    ({"sort": "distance", "audience": "everyone"}, "a c e f h j k"),
    # Time of day by local start; the monthly h counts by its weekday and time.
    ({"sort": "distance", "time": "evening"}, "a c e h k | b d i"),
    ({"sort": "distance", "time": "morning"}, "f"),
    ({"sort": "distance", "day": "fri,sat", "time": "morning,afternoon"}, "f | g"),
    ({"sort": "distance", "day": "fri"}, "f j"),  # j starts at 00:00: Friday, but no part of the day
    ({"sort": "distance", "day": "wed", "time": "evening"}, "h"),
    ({"sort": "distance", "day": "thu", "time": "morning"}, ""),
    # Tonight: until midnight in Sydney, sessions on now included; j (midnight) is tomorrow's.
    ({"sort": "soonest", "tonight": "1"}, "a e c k | b d i"),
    ({"sort": "distance", "tonight": "1", "time": "evening"}, "a c e k | b d i"),
    # Typed words: "son" is family, "ice" methamphetamine (any-substance groups welcome it).
    ({"sort": "distance", "q": "my son uses ice"}, "b | a c f h j k"),
    ({"sort": "distance", "q": "alcohol"}, "a c e f h j k | d g i"),
])
def test_hand_worked_answers(table_client, args, expected):
    body = search(table_client, **args)
    assert ids(body) == expected.replace("|", "").split()
    assert body["total"] == len(ids(body))
    if "audience" not in args and "q" not in args:
        # The heading "For particular groups" can go before the first item not for everyone.
        for_everyone = [item["for_everyone"] for item in body["items"]]
        assert for_everyone == [ident in "acefhjk" for ident in ids(body)]
        assert for_everyone == sorted(for_everyone, reverse=True)


@pytest.mark.parametrize("sort, expected", [
    ("soonest", "a e c k j f h | b d i g"),
    ("distance", "a c e f h j k | b d g i"),
])
def test_the_same_order_in_the_week_clocks_change(table_client, sort, expected):
    """Thursday 1 October 2026, 7:00 pm AEST (UTC+10): Sydney's clocks go forward on Sunday
    4 October, so the stores cannot trust the wall clock this week and settle times with
    zoneinfo. Every session in the table before h is still before the change, so the
    minutes are those of the table; h (second Wednesday: 14 October) stays last."""
    body = search(table_client, sort=sort, at="2026-10-01T19:00:00+10:00")
    assert ids(body) == expected.replace("|", "").split()


def test_restricted_items_say_whom_they_are_for_and_not_that_they_fit(table_client):
    body = search(table_client, sort="distance", goal="moderation")
    by_id = {item["id"].removeprefix("t:"): item for item in body["items"]}
    assert by_id["b"]["why"][0] == "Only for family and friends"
    assert by_id["d"]["why"][0] == "Only for women"
    assert by_id["i"]["why"][0] == "Only for young people"
    assert by_id["g"]["why"][0] == "Only for family and friends, culturally and linguistically diverse communities"
    for ident in "bdgi":
        assert not any(reason.startswith("Fits the goal") for reason in by_id[ident]["why"])
        assert by_id[ident]["for_everyone"] is False
    for ident in "acefhjk":
        assert by_id[ident]["why"][0] == "Fits the goal: cutting down"
        assert by_id[ident]["for_everyone"] is True


def test_a_search_for_that_audience_says_it_fits(table_client):
    body = search(table_client, sort="distance", goal="moderation", audience="family_friends")
    b = body["items"][0]
    assert b["id"] == "t:b" and b["why"][0] == "Fits the goal: cutting down"
    assert "For family and friends" in b["why"] and b["for_everyone"] is False


def test_typed_words_become_filters_with_warnings_and_the_echo(table_client):
    body = search(table_client, q="my son uses ice")
    assert body["query"]["audience"] == ["family_friends"]
    assert body["query"]["substance"] == ["methamphetamine"]
    assert body["query"]["q"] is None
    assert 'read "son" as for family and friends' in body["warnings"]
    assert 'read "ice" as methamphetamine' in body["warnings"]


def test_nearly_over_session_shows_in_progress(table_client):
    body = search(table_client, sort="soonest")
    c = next(item for item in body["items"] if item["id"] == "t:c")
    assert c["next_sessions"][0]["in_progress"] is True
    assert c["next_sessions"][0]["end"] == "2026-11-26T19:20:00+11:00"


def test_tonight_is_echoed_as_minutes_to_midnight(table_client):
    body = search(table_client, tonight="1")
    # 7:00 pm to midnight is 300 minutes; a start at midnight itself is tomorrow's.
    assert body["query"]["tonight"] is True and body["query"]["starts_within"] == 299
    assert body["query"]["time"] == []
