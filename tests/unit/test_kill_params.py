"""Parameter fields and messages, by hand: how the list fields describe themselves in the
OpenAPI document, read synonyms and refuse values, and the words of each 400 message."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from service.search import params
from service.errors import ApiError


def test_a_comma_list_describes_its_values():
    field = params.CommaList(("in_person", "online", "phone"))
    assert field.metadata == {"type": "string", "example": "in_person,online",
                              "description": "Comma-separated, any of: in_person, online, phone"}
    assert field.choices == ("in_person", "online", "phone") and field.synonyms == {}
    assert params.CommaList(["a"], metadata={"description": "mine"}).metadata == {"description": "mine"}


def test_a_comma_list_reads_synonyms_spacing_and_repeats():
    field = params.CommaList(("in_person", "online", "phone"), synonyms={"face to face": "in_person"})
    assert field.synonyms == {"face to face": "in_person"}
    assert field.deserialize(" Online, face-to-face,,online ") == ("online", "in_person")
    assert field.deserialize("Face to face") == ("in_person",)
    assert field.deserialize(", ,online") == ("online",)  # empty items are skipped, not the end


def test_a_comma_list_refuses_in_words():
    field = params.CommaList(("in_person", "online"))
    with pytest.raises(ValidationError) as refused:
        field.deserialize(5)
    assert refused.value.messages == ["Must be a comma-separated list."]
    with pytest.raises(ValidationError) as refused:
        field.deserialize("online, " + "x" * 50)
    assert refused.value.messages == ["'" + "x" * 40 + "' is not one of: in_person, online."]


def test_a_language_list():
    field = params.LanguageList()
    assert field.metadata == {"type": "string", "example": "en,vi",
                              "description": "Comma-separated language codes (ISO 639)."}
    assert params.LanguageList(metadata={"description": "mine"}).metadata == {"description": "mine"}
    assert field.deserialize(" EN, vi ,en,zh-hant") == ("en", "vi", "zh-hant")
    with pytest.raises(ValidationError) as refused:
        field.deserialize("en," + "y" * 30)
    assert refused.value.messages == ["'" + "y" * 20 + "' is not a language code such as en or vi."]


@pytest.mark.parametrize("messages, expected", [
    ({"lat": ["Not a valid number."], "lon": ["Missing."]}, ("lat", "lat: Not a valid number.")),
    ({"lat": "Not a valid number."}, ("lat", "lat: Not a valid number.")),
    ({"lat": ["lat must be between -90 and 90."]}, ("lat", "lat must be between -90 and 90.")),
    ({"format": {0: ["Bad one.", "Another."]}}, ("format", "format: Bad one.")),
    ({"format": {0: "Bad one."}}, ("format", "format: Bad one.")),
    ({"format": ["First.", "Second."]}, ("format", "format: First.")),
    ({}, ("_", "invalid parameters")),
])
def test_the_first_error_names_its_parameter(messages, expected):
    assert params._first_error(messages) == expected


def test_an_unknown_zone_is_refused_in_words():
    assert params.parse_zone("Australia/Perth", "tz") == "Australia/Perth"
    with pytest.raises(ApiError) as refused:
        params.parse_zone("Mars/Olympus_Mons", "tz")
    assert (refused.value.status, refused.value.parameter) == (400, "tz")
    assert refused.value.message == ("tz: unknown time zone 'Mars/Olympus_Mons' "
                                     "(use an IANA name such as Australia/Brisbane)")
    with pytest.raises(ApiError) as refused:
        params.parse_zone("Z" * 70, "tz")
    assert refused.value.message == ("tz: unknown time zone '" + "Z" * 60 + "' "
                                     "(use an IANA name such as Australia/Brisbane)")
