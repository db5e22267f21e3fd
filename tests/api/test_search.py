"""GET /v1/search through the app, on every backend."""

import json
from datetime import datetime

import pytest
from geopy.distance import great_circle
from werkzeug.datastructures import MultiDict

from service.domain import schedule
from service.search.params import parse_search
from tests.conftest import FIXED_NOW
from tests import reference
from tests.reference import search_ids


def get(client, url):
    response = client.get(url)
    assert response.mimetype == "application/json", response.data[:200]
    return response.status_code, response.get_json()


def test_goal_and_format_filters_with_why_and_next_sessions(client):
    status, body = get(client, "/v1/search?near=2000&goal=moderation&format=online")
    assert status == 200 and body["total"] > 0
    for item in body["items"]:
        assert "moderation" in item["goals"] and "online" in item["formats"]
        assert item["why"], item["id"]
        assert "next_sessions" in item and "timezone" in item and "sessions" in item
    assert any(item["next_sessions"] for item in body["items"])


def test_soonest_lists_by_next_start_with_nothing_ended(client):
    at = "2026-03-01T20:00:00%2B10:00"
    status, body = get(client, f"/v1/search?near=4000&sort=soonest&at={at}&tz=Australia/Brisbane&per_page=50")
    assert status == 200
    moment = datetime.fromisoformat("2026-03-01T20:00:00+10:00")
    keys = []
    for item in body["items"]:
        for session in item["next_sessions"]:
            assert datetime.fromisoformat(session["end"]) > moment
            assert session["viewer_start"].endswith("+10:00")
            assert session["in_progress"] == (datetime.fromisoformat(session["start"]) <= moment)
        first = item["next_sessions"][0] if item["next_sessions"] else None
        keys.append(0.0 if item["open_24_7"] else
                    (datetime.fromisoformat(first["start"]) - moment).total_seconds() if first else float("inf"))
    assert keys == sorted(keys)
    assert body["items"][0]["next_sessions"][0]["in_progress"] is True


def test_error_for_latitude_off_the_globe(client):
    status, body = get(client, "/v1/search?lat=95&lon=151")
    assert status == 400
    assert body["error"]["parameter"] == "lat" and "lat" in body["error"]["message"]
    assert body["error"]["code"] == "bad_parameter" and body["error"]["status"] == 400


def test_error_for_unknown_place(client):
    status, body = get(client, "/v1/search?near=Nowhere%20Special%20Town")
    assert status == 400 and body["error"]["parameter"] == "near"


def test_per_page_clamped_with_warning(client):
    status, body = get(client, "/v1/search?near=2000&per_page=500")
    assert status == 200 and body["per_page"] == 50 and len(body["items"]) == 50
    assert any("per_page" in w for w in body["warnings"])


def test_same_request_gives_identical_bytes(client):
    url = "/v1/search?near=3000&goal=abstinence&sort=soonest&tz=Australia/Perth"
    assert client.get(url).data == client.get(url).data


@pytest.mark.parametrize("word", ["ice", "meth", "crystal", "speed", "shard"])
def test_street_names_equal_methamphetamine(client, word):
    base = client.get("/v1/search?near=2000&substance=methamphetamine&per_page=50").get_json()
    other = client.get(f"/v1/search?near=2000&substance={word}&per_page=50").get_json()
    assert other["total"] == base["total"] > 0
    assert [i["id"] for i in other["items"]] == [i["id"] for i in base["items"]]


def test_online_listings_reach_beyond_the_radius(client):
    body = client.get("/v1/search?near=0870&radius_km=1&format=online&per_page=50").get_json()
    ids = {item["id"] for item in body["items"]}
    national = [item for item in body["items"] if "AU" in item["service_area"]]
    assert national and all(item["distance_km"] is None or item["distance_km"] > 1 for item in national)
    far_in_person = [i for i in body["items"] if i["formats"] == ["in_person"]]
    assert not far_in_person and ids


def test_state_wide_online_only_in_its_state(client):
    vic = client.get("/v1/search?near=3000&format=online&per_page=50").get_json()
    nsw = client.get("/v1/search?near=2000&format=online&per_page=50").get_json()
    vic_only = {i["id"] for i in vic["items"] if i["service_area"] == ["VIC"]}
    assert vic_only
    assert not vic_only & {i["id"] for i in nsw["items"]}


def test_distance_sort_orders_by_distance_with_online_last(client):
    body = client.get("/v1/search?near=Parramatta&sort=distance&per_page=50").get_json()
    distances = [i["distance_km"] for i in body["items"]]
    known = [d for d in distances if d is not None]
    assert known == sorted(known) and known[0] < 5
    first_none = distances.index(None) if None in distances else len(distances)
    assert all(d is None for d in distances[first_none:])


def test_facets_count_the_whole_result(client):
    body = client.get("/v1/search?near=2000&per_page=5").get_json()
    assert sum(body["facets"]["kind"].values()) == body["total"]
    assert set(body["facets"]) == {"format", "goal", "kind", "approach"}
    online = client.get("/v1/search?near=2000&format=online").get_json()["total"]
    assert body["facets"]["format"]["online"] == online


def test_paging_is_consistent(client):
    whole = client.get("/v1/search?near=3000&sort=distance&per_page=30").get_json()
    first = client.get("/v1/search?near=3000&sort=distance&per_page=15").get_json()
    second = client.get("/v1/search?near=3000&sort=distance&per_page=15&page=2").get_json()
    assert [i["id"] for i in whole["items"]] == [i["id"] for i in first["items"] + second["items"]]
    assert second["page"] == 2


def test_text_search(client):
    body = client.get("/v1/search?q=lifering&per_page=50").get_json()
    assert body["total"] > 0
    assert all("LifeRing" in (i["program"] or "") + i["name"] + i["description"] for i in body["items"])
    ice = client.get("/v1/search?q=ice").get_json()
    assert ice["total"] > 0 and any("methamphetamine" in i["substances"] for i in ice["items"])


def test_text_search_is_safe_with_fts_syntax(client):
    status, body = get(client, '/v1/search?q=%22smart%22%20OR%20NEAR(%2A%20-')
    assert status == 200


@pytest.mark.parametrize("param, value, check", [
    ("kind", "helpline", lambda i: i["kind"] == "helpline"),
    ("approach", "twelve_step,secular_peer", lambda i: i["approach"] in ("twelve_step", "secular_peer")),
    ("audience", "family_friends", lambda i: {"family_friends", "everyone"} & set(i["audiences"])),
    ("time", "morning", lambda i: any("05:00" <= s["start"] < "12:00" for s in i["sessions"])),
    ("language", "vi", lambda i: "vi" in i["languages"]),
    ("day", "sat", lambda i: any(s["weekday"] == "sat" for s in i["sessions"])),
    ("format", "phone", lambda i: "phone" in i["formats"]),
    ("goal", "harm_reduction", lambda i: "harm_reduction" in i["goals"]),
    ("substance", "gambling", lambda i: {"gambling", "any"} & set(i["substances"])),
    ("open_now", "true", lambda i: i["open_now"]),
    ("starts_within", "90", lambda i: i["open_24_7"] or i["next_sessions"]),
])
def test_each_filter(client, param, value, check):
    body = client.get(f"/v1/search?{param}={value}&per_page=50&at=2026-11-26T19:00:00%2B11:00").get_json()
    assert body["total"] > 0, param
    assert all(check(item) for item in body["items"]), param


def test_starts_within_limits_by_start(client):
    at = "2026-11-26T18:00:00+11:00"
    body = client.get(f"/v1/search?near=2000&starts_within=60&at={at.replace('+', '%2B')}&per_page=50").get_json()
    moment = datetime.fromisoformat(at)
    assert body["total"] > 0
    for item in body["items"]:
        if item["open_24_7"]:
            continue
        start = datetime.fromisoformat(item["next_sessions"][0]["start"])
        assert (start - moment).total_seconds() <= 3600


def test_listing_endpoint_has_next_sessions_in_both_zones(client):
    status, body = get(client, "/v1/listings/demo:g0001?at=2026-11-26T08:00:00Z&tz=Australia/Perth")
    assert status == 200 and body["id"] == "demo:g0001"
    assert body["next_sessions"] and body["next_sessions"][0]["viewer_start"].endswith("+08:00")
    assert body["timezone"] == "Australia/Sydney"


QUERIES = [
    {"near": "2000"}, {"near": "3000", "goal": "moderation"}, {"near": "Parramatta", "format": "in_person"},
    {"near": "4000", "kind": "service,helpline"}, {"near": "5000", "radius_km": "100"},
    {"near": "6000", "audience": "women"}, {"near": "0800", "radius_km": "500"},
    {"near": "7000", "substance": "ice"}, {"near": "2600", "approach": "twelve_step"},
    {"near": "Richmond TAS", "radius_km": "60"}, {"near": "-33.81,151.00", "day": "mon,tue"},
    {"lat": "-31.95", "lon": "115.86", "language": "en"}, {"format": "phone"},
    {"near": "2000", "starts_within": "120", "at": "2026-11-26T18:30:00+11:00"},
    {"near": "3000", "open_now": "1", "at": "2026-11-28T10:15:00+11:00"},
    {"near": "2880", "radius_km": "50"}, {"near": "2898", "radius_km": "5"},
    {"goal": "harm_reduction", "kind": "service"},
    {"near": "2000", "time": "evening"}, {"near": "3000", "day": "sat,sun", "time": "morning"},
    {"near": "6000", "tonight": "1"}, {"near": "3550", "tonight": "1", "at": "2026-11-26T21:30:00+11:00"},
    {"near": "2000", "audience": "family_friends"}, {"near": "4000", "audience": "women,lgbtiq"},
    {"near": "2150", "q": "my son uses ice"}, {"near": "2150", "q": "ice", "goal": "moderation"},
    {"near": "2000", "at": "2026-10-03T15:40:00+00:00"},
    # Inside Melbourne's missing hour, Sydney's repeated one, and three filters at once.
    {"near": "3000", "radius_km": "100", "open_now": "1", "at": "2026-10-03T16:10:00Z"},
    {"near": "2000", "starts_within": "45", "at": "2026-04-04T15:45:00Z"},
    {"near": "3000", "goal": "moderation", "format": "online,in_person", "day": "sun,mon",
     "at": "2026-10-03T15:40:00Z"},
]


@pytest.mark.parametrize("args", QUERIES, ids=lambda a: "&".join(f"{k}={v}" for k, v in a.items()))
@pytest.mark.parametrize("sort", ["distance", "soonest", "best"])
def test_backend_agrees_with_the_reference(app, demo_listings, gazetteer, args, sort):
    query = parse_search(MultiDict({**args, "sort": sort, "per_page": "50"}), gazetteer, FIXED_NOW)
    expected = search_ids(demo_listings, query)
    body = app.test_client().get("/v1/search", query_string={**args, "sort": sort, "per_page": "50"}).get_json()
    assert body["total"] == len(expected)
    assert [i["id"] for i in body["items"]] == expected[:50]


def test_soonest_walk_is_exact_deep_into_the_result(app, demo_listings, gazetteer):
    args = {"sort": "soonest", "per_page": "50", "at": "2026-10-03T15:40:00+00:00"}  # Sydney DST night
    expected = search_ids(demo_listings, parse_search(MultiDict(args), gazetteer, FIXED_NOW))
    got = []
    for page in range(1, 5):
        body = app.test_client().get("/v1/search", query_string={**args, "page": str(page)}).get_json()
        got += [i["id"] for i in body["items"]]
    assert got == expected[:200]


def test_response_shape(client):
    body = client.get("/v1/search?near=2000&tz=Australia/Brisbane").get_json()
    assert set(body) == {"query", "warnings", "total", "page", "per_page", "items", "facets"}
    assert body["query"]["near"]["state"] == "NSW" and body["query"]["tz"] == "Australia/Brisbane"
    item = body["items"][0]
    for key in ("id", "kind", "name", "program", "approach", "goals", "formats", "location",
                "timezone", "sessions", "contact", "source", "distance_km", "next_sessions", "why"):
        assert key in item
    json.dumps(body)


def test_inactive_listings_are_not_found_but_can_be_fetched(client, demo_listings):
    closed = [x for x in demo_listings if x.status != "active"]
    assert closed
    body = client.get("/v1/search?per_page=50&q=" + closed[0].name.split()[0]).get_json()
    assert closed[0].id not in {i["id"] for i in body["items"]}
    assert client.get(f"/v1/listings/{closed[0].id}").status_code == 200


@pytest.mark.parametrize("at", ["2026-11-26T08:00:00Z", "2026-10-03T16:10:00Z", "2026-04-04T15:45:00Z",
                                "2026-10-03T15:40:00Z", *(f"2026-{month:02d}-01T00:00:00Z" for month in range(1, 13))])
def test_minutes_until_agrees_with_the_oracle_for_every_demo_listing(demo_listings, at):
    """The minutes soonest, starts_within and open_now are built on, for every demo listing,
    against the first-principles oracle: a steady week, Melbourne's gap, Sydney's fold and
    Lord Howe's half-hour gap, and the first of every month (so each monthly session's next
    meeting falls on every kind of day of the month in turn)."""
    moment = datetime.fromisoformat(at)
    for listing in demo_listings:
        assert schedule.minutes_until(listing, moment) == pytest.approx(reference.minutes_until(listing, moment)), \
            listing.id


DISTANCE_SEARCHES = ["near=2000", "near=3000&radius_km=100", "near=Parramatta&sort=distance",
                     "lat=-33.81&lon=151.00&radius_km=50&sort=distance", "near=6000&format=in_person",
                     "near=0800&radius_km=500", "near=Richmond%20TAS&radius_km=60&sort=soonest"]


@pytest.mark.parametrize("args", DISTANCE_SEARCHES)
def test_reported_distances_are_geopys_great_circle(client, args):
    """Every item's distance_km against geopy's great circle from the place the answer echoes
    (rounded to 10 m), and None exactly for items without a location."""
    body = client.get(f"/v1/search?{args}&per_page=50").get_json()
    place = body["query"]["near"]
    assert body["items"] and any(item["location"] for item in body["items"])
    for item in body["items"]:
        if item["location"] is None:
            assert item["distance_km"] is None, item["id"]
            continue
        expected = great_circle((place["lat"], place["lon"]), (item["location"]["lat"], item["location"]["lon"])).km
        assert item["distance_km"] == pytest.approx(expected, abs=0.0051), item["id"]


def test_backend_lists_every_listing_in_id_order(backend, demo_listings):
    listed = list(backend.listings())
    assert [x.id for x in listed] == sorted(x.id for x in demo_listings)
    assert listed == sorted(demo_listings, key=lambda x: x.id)


def test_listings_not_checked_for_long_are_marked_stale(client, demo_listings):
    body = client.get("/v1/search?per_page=50&sort=distance&near=2000").get_json()
    cutoff = "2026-05-30"  # 180 days before the fixed clock (2026-11-26)
    for item in body["items"]:
        checked = item["verified_at"] or item["updated_at"]
        if checked and checked < cutoff:
            assert item["stale"] == {"verified_at": checked}
        else:
            assert item["stale"] is None
    assert any(i["stale"] for i in body["items"]) and any(not i["stale"] for i in body["items"])


def test_a_search_is_for_the_person_unless_it_says_otherwise(client):
    """Without audience, every listing open to everyone comes before any for particular groups,
    in every sort; those never say they fit the goal, and say whom they are for."""
    for sort in ("best", "distance", "soonest"):
        body = client.get(f"/v1/search?near=2000&goal=moderation&radius_km=100&per_page=50&sort={sort}").get_json()
        flags = [item["for_everyone"] for item in body["items"]]
        assert flags == [("everyone" in item["audiences"]) for item in body["items"]]
        assert True in flags and False in flags, sort
        assert flags == sorted(flags, reverse=True), sort
        for item in body["items"]:
            if not item["for_everyone"]:
                assert item["why"][0].startswith("Only for ")
                assert not any(reason.startswith("Fits the goal") for reason in item["why"])


def test_a_search_for_a_family_member_puts_family_groups_first(client):
    body = client.get("/v1/search?near=2000&radius_km=100&audience=family_friends&per_page=50").get_json()
    audiences = [item["audiences"] for item in body["items"]]
    family = ["family_friends" in a for a in audiences]
    assert family[0] and False in family and family == sorted(family, reverse=True)
    assert all("family_friends" in a or "everyone" in a for a in audiences)


def test_typed_family_words_read_as_the_audience(client):
    typed = client.get("/v1/search?near=2000&q=my%20son%20uses%20ice&per_page=50").get_json()
    given = client.get("/v1/search?near=2000&audience=family_friends&substance=ice&per_page=50").get_json()
    assert [i["id"] for i in typed["items"]] == [i["id"] for i in given["items"]] and typed["total"] > 2
    assert typed["query"]["q"] is None and typed["query"]["audience"] == ["family_friends"]
