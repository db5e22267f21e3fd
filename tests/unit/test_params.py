"""Parameter parsing: clamps with warnings, 400s that name the parameter."""

from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict

from service.errors import ApiError
from service.search.params import parse_search

NOW = datetime(2026, 11, 26, 8, 0, 31, 123, tzinfo=timezone.utc)


def parse(gazetteer, **args):
    return parse_search(MultiDict(args), gazetteer, NOW)


def error_of(gazetteer, **args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse(gazetteer, **args)
    return caught.value


def test_defaults(gazetteer):
    query = parse(gazetteer)
    assert query.radius_km == 25 and query.page == 1 and query.per_page == 20
    assert query.sort == "best" and query.place is None
    assert query.at == datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)  # whole minute


@pytest.mark.parametrize("raw, used", [("0.2", 1.0), ("900", 500.0)])
def test_radius_is_clamped_with_a_warning(gazetteer, raw, used):
    query = parse(gazetteer, near="2000", radius_km=raw)
    assert query.radius_km == used
    assert any("radius_km" in w for w in query.warnings)


def test_per_page_is_clamped_with_a_warning(gazetteer):
    query = parse(gazetteer, per_page="500")
    assert query.per_page == 50 and any("per_page" in w for w in query.warnings)


@pytest.mark.parametrize("args, parameter", [
    ({"lat": "95", "lon": "151"}, "lat"),
    ({"lat": "-33", "lon": "200"}, "lon"),
    ({"lat": "-33"}, "lon"),
    ({"lat": "abc", "lon": "151"}, "lat"),
    ({"near": "2000", "lat": "-33", "lon": "151"}, "near"),
    ({"near": "Nowhere Special Town"}, "near"),
    ({"near": "-95,151"}, "near"),
    ({"format": "carrier_pigeon"}, "format"),
    ({"goal": "sobriety"}, "goal"),
    ({"substance": "chocolate"}, "substance"),
    ({"kind": "shop"}, "kind"),
    ({"approach": "magic"}, "approach"),
    ({"audience": "cats"}, "audience"),
    ({"language": "english!"}, "language"),
    ({"day": "someday"}, "day"),
    ({"starts_within": "0"}, "starts_within"),
    ({"starts_within": "soon"}, "starts_within"),
    ({"open_now": "perhaps"}, "open_now"),
    ({"q": "x" * 201}, "q"),
    ({"at": "yesterday"}, "at"),
    ({"at": "2026-03-01T20:00:00"}, "at"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"sort": "random"}, "sort"),
    ({"page": "0"}, "page"),
    ({"page": "600"}, "page"),
    ({"per_page": "0"}, "per_page"),
    ({"radius_km": "nan"}, "radius_km"),
])
def test_bad_parameters_name_themselves(gazetteer, args, parameter):
    error = error_of(gazetteer, **args)
    assert error.status == 400
    assert error.parameter == parameter
    assert parameter in error.message


@pytest.mark.parametrize("word", ["ice", "meth", "crystal", "speed", "shard", "Ice", "methamphetamine"])
def test_substance_synonyms(gazetteer, word):
    assert parse(gazetteer, substance=word).substances == ("methamphetamine",)


def test_comma_lists_are_cleaned_and_deduplicated(gazetteer):
    query = parse(gazetteer, format="online, in-person,online", day="Monday,tue", language="EN,vi")
    assert query.formats == ("online", "in_person")
    assert query.days == ("mon", "tue")
    assert query.languages == ("en", "vi")


def test_at_with_unencoded_plus_is_understood(gazetteer):
    query = parse(gazetteer, at="2026-03-01T20:00:00 10:00")
    assert query.at.isoformat() == "2026-03-01T20:00:00+10:00"


def test_naive_at_is_read_in_the_viewer_zone(gazetteer):
    query = parse(gazetteer, at="2026-03-01T20:00:00", tz="Australia/Adelaide")
    assert query.at.utcoffset().total_seconds() == 10.5 * 3600


def test_unknown_parameters_are_ignored_with_a_warning(gazetteer):
    query = parse(gazetteer, formt="online")
    assert any("formt" in w for w in query.warnings)


def test_distance_sort_without_a_place_falls_back(gazetteer):
    query = parse(gazetteer, sort="distance")
    assert query.sort == "best" and query.warnings


def test_open_now_flag_forms(gazetteer):
    assert parse(gazetteer, open_now="").open_now is True
    assert parse(gazetteer, open_now="false").open_now is False
    assert parse(gazetteer, open_now="1").open_now is True


def test_undecided_goal_filters_nothing(gazetteer):
    query = parse(gazetteer, goal="undecided")
    assert query.goals == ("undecided",) and query.filter_goals == ()
