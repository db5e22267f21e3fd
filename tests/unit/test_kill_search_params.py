"""The search parameters' words and echo, by hand: each warning and 400 message a clinician
or web team reads, the edges of each clamp, and the cleaned query the response echoes (its
keys are the request's parameter names, DESIGN.md "API contract")."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict

from service.errors import ApiError
from service.search.params import parse_search, query_echo

NOW = datetime(2026, 11, 26, 8, 0, 31, tzinfo=timezone.utc)


def parse(gazetteer, **args):
    return parse_search(MultiDict(args), gazetteer, NOW)


def refusal(gazetteer, **args) -> tuple[int, str, str, str]:
    with pytest.raises(ApiError) as caught:
        parse(gazetteer, **args)
    error = caught.value
    return error.status, error.code, error.message, error.parameter


def test_unknown_parameters_are_named_cut_to_forty_characters_and_the_key_is_not_one(gazetteer):
    assert parse(gazetteer, key="site-key").warnings == ()
    assert parse(gazetteer, formt="online").warnings == ("unknown parameter 'formt' ignored",)
    long_name = "x" * 45
    assert parse(gazetteer, **{long_name: "1"}).warnings == (f"unknown parameter {'x' * 40!r} ignored",)


def test_an_unknown_place_is_refused_naming_near(gazetteer):
    status, code, _, parameter = refusal(gazetteer, near="Nowhereville Qqq")
    assert (status, code, parameter) == (400, "unknown_place", "near")


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf"])
def test_a_radius_that_is_not_a_finite_number_is_refused(gazetteer, raw):
    status, code, _, parameter = refusal(gazetteer, near="3000", radius_km=raw)
    assert (status, code, parameter) == (400, "bad_parameter", "radius_km")


def test_per_page_fifty_is_allowed_and_fifty_one_is_clamped_in_words(gazetteer):
    assert parse(gazetteer, per_page="50").warnings == ()
    query = parse(gazetteer, per_page="51")
    assert query.per_page == 50 and query.warnings == ("per_page 51 is over 50; using 50",)


def test_the_last_page_of_the_window_is_allowed_and_the_next_refused_in_words(gazetteer):
    assert parse(gazetteer, page="200", per_page="50").page == 200  # 200 x 50 = 10,000 results
    assert refusal(gazetteer, page="201", per_page="50") == (
        400, "bad_parameter", "page 201 is past the first 10000 results; narrow the search instead", "page")


def test_distance_sort_without_a_place_says_what_it_did(gazetteer):
    assert parse(gazetteer, sort="distance").warnings == (
        "sort=distance needs near or lat,lon; sorted by best match instead",)
    assert parse(gazetteer, sort="distance", near="3000").warnings == ()


def test_a_radius_without_a_place_says_it_does_nothing(gazetteer):
    assert parse(gazetteer, radius_km="10").warnings == ("radius_km has no effect without near or lat,lon",)
    assert parse(gazetteer, radius_km="10", near="3000").warnings == ()
    assert parse(gazetteer, near="3000").warnings == ()


def test_tonight_without_a_place_or_zone_is_read_in_utc_in_words(gazetteer):
    query = parse(gazetteer, tonight="")
    assert query.warnings == ("tonight needs near, lat,lon or tz to know where midnight is; read as until "
                              "midnight UTC",)
    assert query.starts_within == 16 * 60 - 1  # 08:00 UTC to 23:59, the last start before midnight
    assert parse(gazetteer, tonight="", tz="Australia/Melbourne").warnings == ()


@pytest.mark.parametrize("text, message", [
    ("next tuesday", "at must be an ISO 8601 date-time such as 2026-03-01T20:00:00+10:00"),
    ("2026-03-01T20:00:00", "at needs a UTC offset (e.g. +10:00) or a tz parameter to read it in"),
])
def test_a_moment_that_cannot_be_read_is_refused_in_words(gazetteer, text, message):
    assert refusal(gazetteer, at=text) == (400, "bad_parameter", message, "at")


def test_a_moment_in_utc_may_end_in_z(gazetteer):
    assert parse(gazetteer, at="2026-03-01T09:30:00Z").at == datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def test_the_echo_of_an_empty_query(gazetteer):
    assert query_echo(parse(gazetteer)) == {
        "near": None, "radius_km": None, "format": [], "goal": [], "substance": [], "kind": [],
        "approach": [], "audience": [], "language": [], "day": [], "time": [], "starts_within": None,
        "tonight": False, "open_now": False, "q": None, "at": "2026-11-26T08:00:00+00:00", "tz": None,
        "sort": "best", "page": 1, "per_page": 20,
    }


def test_the_echo_of_a_full_query_names_each_parameter_with_its_cleaned_value(gazetteer):
    query = parse(gazetteer, near="3000", radius_km="10", format="online,in_person", goal="moderation",
                  substance="alcohol", kind="group", approach="secular_peer", audience="women",
                  language="vi", day="mon", time="evening", starts_within="90", open_now="1",
                  q="coping", at="2026-03-01T20:00:00", tz="Australia/Melbourne", sort="distance",
                  page="2", per_page="10")
    place = query.place  # the gazetteer's entry for the postcode, checked in test_geocoders
    echo = query_echo(query)
    assert echo.pop("near") == {
        "query": "3000", "name": place.name, "lat": place.lat, "lon": place.lon, "state": "VIC",
        "country": "AU", "timezone": "Australia/Melbourne", "approximate": place.approximate,
        "alternatives": list(place.alternatives),
    }
    assert echo == {
        "radius_km": 10.0, "format": ["online", "in_person"], "goal": ["moderation"],
        "substance": ["alcohol"], "kind": ["group"], "approach": ["secular_peer"], "audience": ["women"],
        "language": ["vi"], "day": ["mon"], "time": ["evening"], "starts_within": 90, "tonight": False,
        "open_now": True, "q": "coping", "at": "2026-03-01T20:00:00+11:00", "tz": "Australia/Melbourne",
        "sort": "distance", "page": 2, "per_page": 10,
    }
