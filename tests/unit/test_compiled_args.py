"""The compiled load of query args (`params.CompiledLoad`) against marshmallow's own load.

marshmallow's `Schema.load` is the reference: whenever the compiled load answers, its answer
must be the one `Schema.load` gives; when the args are invalid it must not answer, so that
`load_args` reports marshmallow's own first error.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from marshmallow import Schema, ValidationError, fields, post_load
from werkzeug.datastructures import MultiDict

from service.errors import ApiError
from service.search import params
from service.search.params import (ListingArgs, PlacesArgs, ProgramsArgs, SEARCH_ARGS, SearchArgs, compiled_load,
                                   load_args)
from service.views.hsds import LIST_ARGS, ONE_ARGS

SCHEMAS = [SEARCH_ARGS, SearchArgs(only=("lang",)), SearchArgs(only=("fields",)), PlacesArgs(), ListingArgs(),
           ProgramsArgs(), LIST_ARGS, ONE_ARGS]

# Values that are valid for some parameter, written as people and widgets write them.
WORDS = ["in_person", "In Person", "in-person", "online", "hybrid", "phone", "abstinence", "moderation", "undecided",
         "alcohol", "Alcohol", "ice", "cannabis", "group", "service", "helpline", "family_friends", "women", "youth",
         "mon", "Monday", "wed", "sun", "morning", "evening", "best", "distance", "soonest", "en", "vi", "zh-TW",
         "2000", "Fitzroy VIC", "Australia/Perth", "UTC", "2026-05-13T18:30:00+10:00", "2026-05-13T18:30",
         "id", "name", "next_sessions", "why", "true", "false", "on", "1", "0", "yes"]
NUMBERS = ["1", "2", "20", "50", "51", "0", "-1", "-33.8", "151.2", "91", "-181", "180", "1e3", "nan", "inf",
           " 5", "5 ", "+3", "3.0", "0x10", "1_000", "10081", "9999999999999999999999", "٣"]
NAMES = sorted(set().union(*(params.parameter_names(schema) for schema in SCHEMAS))) + ["key", "other", "Near"]


def values():
    """A parameter's value: a word, a number, a comma list of words, or any text."""
    word_list = st.lists(st.sampled_from(WORDS + ["", " ", "nope"]), min_size=1, max_size=4).map(",".join)
    return st.one_of(st.sampled_from(WORDS), st.sampled_from(NUMBERS), word_list, st.text(max_size=40),
                     st.text(min_size=195, max_size=210, alphabet="ab "))


def query_args():
    """A query string's args: some parameters (repeats allowed, the first counts), each with a value."""
    return st.lists(st.tuples(st.sampled_from(NAMES), values()), max_size=8).map(MultiDict)


def reference(schema: Schema, args) -> dict | ValidationError:
    """marshmallow's own load of the args the schema knows (as `load_args` hands them over)."""
    names = params.parameter_names(schema)
    try:
        return schema.load({k: args.get(k) for k in args.keys() if k in names})
    except ValidationError as exc:
        return exc


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(SCHEMAS), query_args())
def test_compiled_load_answers_only_as_marshmallow_does(schema, args):
    expected = reference(schema, args)
    fast = compiled_load(schema).load(args)
    if isinstance(expected, ValidationError):
        assert fast is None
    else:
        assert fast is None or fast == expected


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SCHEMAS), query_args())
def test_load_args_gives_marshmallows_answer_or_first_error(schema, args):
    expected = reference(schema, args)
    if isinstance(expected, ValidationError):
        with pytest.raises(ApiError) as caught:
            load_args(schema, args)
        parameter, message = params._first_error(expected.messages)
        assert (caught.value.status, caught.value.parameter, caught.value.message) == (400, parameter, message)
    else:
        assert load_args(schema, args) == expected


# Hand-worked: the common searches the compiled load must answer itself (not hand over).
COMMON = [
    ({"near": "2000"}, {"near": "2000"}),
    ({"near": "4000", "goal": "moderation", "format": "in_person", "sort": "soonest",
      "at": "2026-05-13T18:30:00+10:00"},
     {"near": "4000", "goal": ("moderation",), "format": ("in_person",), "sort": "soonest",
      "at": "2026-05-13T18:30:00+10:00"}),
    ({"lat": "-33.87", "lon": "151.21", "radius_km": "10", "page": "2", "per_page": "50"},
     {"lat": -33.87, "lon": 151.21, "radius_km": 10.0, "page": 2, "per_page": 50}),
    ({"format": "In Person,hybrid,online", "day": "Monday,wed", "open_now": "", "tonight": "false",
      "key": "abc", "utm_source": "x"},
     {"format": ("in_person", "online"), "day": ("mon", "wed"), "open_now": True, "tonight": False}),
    ({"q": "my son uses ice", "lang": "vi", "tz": "Australia/Perth", "language": "EN, vi"},
     {"q": "my son uses ice", "lang": "vi", "tz": "Australia/Perth", "language": ("en", "vi")}),
    ({"fields": "id,name,why", "starts_within": "90"},
     {"fields": frozenset({"id", "name", "why"}), "starts_within": 90}),
]


@pytest.mark.parametrize("args, expected", COMMON)
def test_common_searches_are_loaded_without_marshmallows_load(args, expected):
    assert compiled_load(SEARCH_ARGS).load(MultiDict(args)) == expected


# Hand-worked: invalid args give the 400 naming the parameter, through marshmallow.
ERRORS = [
    ({"lat": "-33.87"}, "lon", "lon is needed with lat"),
    ({"near": "2000", "lat": "1", "lon": "2"}, "near", "near: give either near or lat and lon, not both"),
    ({"lat": "91", "lon": "0"}, "lat", "lat must be between -90 and 90"),
    ({"page": "0"}, "page", "page must be 1 or more"),
    ({"format": "bus"}, "format", "format: 'bus' is not one of: in_person, online, phone."),
    ({"sort": "best", "radius_km": "nan"}, "radius_km", "radius_km: Special numeric values (nan or infinity) are not "
                                                        "permitted."),
]


@pytest.mark.parametrize("args, parameter, message", ERRORS)
def test_invalid_args_are_the_400_naming_the_parameter(args, parameter, message):
    assert compiled_load(SEARCH_ARGS).load(MultiDict(args)) is None
    with pytest.raises(ApiError) as caught:
        load_args(SEARCH_ARGS, MultiDict(args))
    assert (caught.value.status, caught.value.code, caught.value.parameter, caught.value.message) == (
        400, "bad_parameter", parameter, message)


def test_places_defaults_are_filled_in():
    assert compiled_load(PlacesArgs()).load(MultiDict()) == {"q": "", "limit": 8}


class WithPostLoad(Schema):
    """A schema with a hook the compiled load does not replay."""

    n = fields.Integer()

    @post_load
    def doubled(self, data, **kwargs):
        return {"n": data["n"] * 2}


def test_a_schema_with_other_hooks_goes_to_marshmallow():
    schema = WithPostLoad()
    assert compiled_load(schema).load(MultiDict({"n": "2"})) is None
    assert load_args(schema, MultiDict({"n": "2"})) == {"n": 4}
