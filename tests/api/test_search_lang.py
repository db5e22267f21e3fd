"""`lang` on /v1/search and /v1/listings/{id}: "why it fits" in the client's language; and the
widget's catalogues at /i18n/widget/<code>.json.

Expected words come from the catalogues themselves (read with babel.messages.pofile and
Python's gettext), never from the code under test. A language whose catalogue is not there yet
(translators fill them) or not compiled (`make install` compiles them) is skipped, saying so.
"""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

import pytest
from tests.catalogues import read_catalogue

TRANSLATIONS = Path(__file__).resolve().parents[2] / "service" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def expected_translation(catalogue, english: str) -> str | None:
    """The catalogue's words for one English reason: a message that is the reason word for word,
    or one whose placeholders stand for numbers (`%(km)s km away`), filled with the same numbers.
    None when no translated message accounts for it."""
    for message in catalogue:
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        if message.id == english:
            return message.string
        names = PLACEHOLDER.findall(message.id)
        if not names:
            continue
        pattern = "".join(re.escape(part) if i % 2 == 0 else r"(?P<%s>[0-9]+(?:\.[0-9]+)?)" % part
                          for i, part in enumerate(PLACEHOLDER.split(message.id)))
        if len(set(names)) != len(names):
            continue
        found = re.fullmatch(pattern, english)
        if found:
            return message.string % found.groupdict()
    return None


def test_why_is_written_in_the_language_lang_names(client):
    catalogue = read_catalogue("vi", "messages")
    english = client.get("/v1/search?near=2000&per_page=50").get_json()
    vietnamese = client.get("/v1/search?near=2000&per_page=50&lang=vi").get_json()
    assert [i["id"] for i in vietnamese["items"]] == [i["id"] for i in english["items"]]  # same results
    assert not any("lang" in w for w in vietnamese["warnings"]), vietnamese["warnings"]
    checked = 0
    for en_item, vi_item in zip(english["items"], vietnamese["items"]):
        assert len(vi_item["why"]) == len(en_item["why"]), en_item["id"]
        for en_reason, vi_reason in zip(en_item["why"], vi_item["why"]):
            expected = expected_translation(catalogue, en_reason)
            if expected is not None:
                assert vi_reason == expected, (en_item["id"], en_reason)
                checked += 1
    if not checked:
        pytest.skip("the vi catalogue translates none of these reasons yet")


def test_a_listing_speaks_the_language_lang_names(client):
    catalogue = read_catalogue("vi", "messages")
    english = client.get("/v1/listings/demo:g0001").get_json()["why"]
    vietnamese = client.get("/v1/listings/demo:g0001?lang=vi").get_json()["why"]
    expected = [expected_translation(catalogue, reason) for reason in english]
    if not any(expected):
        pytest.skip("the vi catalogue translates none of this listing's reasons yet")
    assert [v for v, e in zip(vietnamese, expected) if e is not None] == [e for e in expected if e is not None]


@pytest.mark.parametrize("lang", ["xx", "tlh", "en-AU", "EN"])
def test_a_language_without_a_catalogue_gives_english(client, lang):
    english = client.get("/v1/search?near=2000").get_json()
    response = client.get(f"/v1/search?near=2000&lang={lang}")
    assert response.status_code == 200
    body = response.get_json()
    assert [i["why"] for i in body["items"]] == [i["why"] for i in english["items"]]
    warned = [w for w in body["warnings"] if w.startswith("lang ")]
    # English asked for in any spelling is no surprise; another language is said to be missing.
    assert warned == ([] if lang.lower().startswith("en") else [warned[0]])
    if warned:
        assert repr(lang) in warned[0] and "English" in warned[0]


def test_lang_is_not_the_language_filter(client):
    # `language` asks for services that speak Arabic; `lang` only the words. Both at once.
    both = client.get("/v1/search?near=2000&radius_km=500&language=ar&lang=vi").get_json()
    only_filter = client.get("/v1/search?near=2000&radius_km=500&language=ar").get_json()
    assert both["total"] == only_filter["total"] > 0
    assert all("ar" in item["languages"] for item in both["items"])
    assert not any(w.startswith("unknown parameter") for w in both["warnings"])


def test_an_overlong_lang_is_a_400_naming_it(client):
    for path in ("/v1/search?near=2000&lang=", "/v1/listings/demo:g0001?lang="):
        response = client.get(path + "x" * 36)
        assert response.status_code == 400
        assert response.get_json()["error"]["parameter"] == "lang"


@pytest.mark.parametrize("code", ["xx", "de", "EN", "zh-Hans", "..", "en.json", "a" * 40])
def test_the_widget_catalogue_route_404s_an_unknown_code(client, code):
    response = client.get(f"/i18n/widget/{code}.json")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found" and error["parameter"] == "code"


def test_the_english_widget_catalogue_is_cacheable_and_readable_from_any_site(client):
    response = client.get("/i18n/widget/en.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age=86400" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    again = client.get("/i18n/widget/en.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    body = response.get_json()
    assert body["language"] == "en" and body["dir"] == "ltr"
    assert body["plural"][:3] == [1, 0, 1]  # English: "n != 1"


def _compiled_widget_languages() -> list[str]:
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/widget.mo"))


@pytest.mark.parametrize("code", _compiled_widget_languages() or ["en"])
def test_a_widget_catalogue_carries_every_translation_and_the_plural_rule(client, code):
    """What the widget receives is the compiled catalogue: each translated message of the .po
    (plural forms as lists), and the plural form gettext itself picks for n = 0..199."""
    mo = TRANSLATIONS / code / "LC_MESSAGES" / "widget.mo"
    if not mo.is_file():
        pytest.skip(f"no compiled widget catalogue for {code}: run `make install`")
    catalogue = read_catalogue(code, "widget")
    body = client.get(f"/i18n/widget/{code}.json").get_json()
    assert body["language"] == code
    assert body["dir"] == ("rtl" if code == "ar" else "ltr")
    with open(mo, "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert body["plural"] == [compiled.plural(n) for n in range(200)]
    expected = {}
    for message in catalogue:
        if not message.id or "fuzzy" in message.flags:
            continue
        if isinstance(message.id, tuple):
            if any(message.string):
                expected[message.id[0]] = list(message.string)
        elif message.string:
            expected[message.id] = message.string
    assert body["messages"] == expected
    json.dumps(body)  # plain JSON all through


def test_program_explainers_in_the_language_lang_names(client):
    catalogue = read_catalogue("vi", "messages")
    english = client.get("/v1/programs").get_json()["items"]
    vietnamese = client.get("/v1/programs?lang=vi").get_json()["items"]
    assert [p["name"] for p in vietnamese] == [p["name"] for p in english]  # names stay as programs write them
    checked = 0
    for en_program, vi_program in zip(english, vietnamese):
        message = catalogue.get(en_program["explainer"])
        if message is not None and message.string:
            assert vi_program["explainer"] == message.string, en_program["name"]
            checked += 1
    if not checked:
        pytest.skip("the vi catalogue translates no program explainer yet")
