"""The widget in the client's language: its catalogue, right-to-left Arabic, axe clean.

Two kinds of catalogue:
- a pseudo-translation (every English message of the English widget catalogue wrapped in « »,
  plural forms numbered) served in place of /i18n/widget/<code>.json: it shows the widget puts
  every string it writes through its catalogue, follows the host page's language, mirrors for
  Arabic and picks plural forms by the catalogue's rule, whatever the translators have done;
- the real catalogue of Arabic, Simplified Chinese and Vietnamese (expected words read from
  the .po with babel.messages.pofile), skipped while a language's widget.po does not exist yet
  or is not compiled (`make install`).
"""

from __future__ import annotations

import gettext
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from service.errors import CONTENT_SECURITY_POLICY
from tests.browser.test_accessibility_and_embedding import axe_violations
from tests.catalogues import read_catalogue

pytestmark = pytest.mark.browser

TRANSLATIONS = Path(__file__).resolve().parents[2] / "service" / "translations"
PLACE = "Postcode, suburb or address"
HOST_PAGE = """<!doctype html>
<html lang="{page_lang}"><head><meta charset="utf-8"><title>Clinic</title>
<script src="/widget.js" defer></script></head>
<body><main><h1>Find support</h1>
<linkage-search id="w" mode="full" {attributes}></linkage-search>
</main></body></html>"""


def english_messages():
    """The English widget catalogue's messages (ids only: the source of the pseudo-translation)."""
    from babel.messages.pofile import read_po

    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "widget.po", "rb") as handle:
        return [m for m in read_po(handle) if m.id]


def plural_rule(code: str):
    """The language's gettext plural rule (CLDR, through Babel) and its number of forms."""
    from babel.messages.plurals import get_plural

    rule = get_plural(code)
    return gettext.c2py(rule.plural_expr), rule.num_plurals


def pseudo_catalogue(code: str) -> dict:
    """Every message as «message»; plural form i as «[i] plural message»."""
    choose, forms = plural_rule(code)
    messages = {}
    for message in english_messages():
        if isinstance(message.id, tuple):
            messages[message.id[0]] = [f"«[{i}] {message.id[1]}»" for i in range(forms)]
        else:
            messages[message.id] = f"«{message.id}»"
    return {"language": code, "dir": "rtl" if code == "ar" else "ltr",
            "plural": [choose(n) for n in range(200)], "messages": messages}


def open_host(page, live_server, page_lang: str, catalogue: dict | None = None, **attributes):
    """A host page at the live server's origin with <html lang=page_lang>, the widget in full mode,
    and (when given) CATALOGUE served as the widget's catalogue. Returns the widget and the list
    of catalogue addresses the widget asked for."""
    given = " ".join(f'{key.replace("_", "-")}="{value}"' for key, value in attributes.items())
    text = HOST_PAGE.format(page_lang=page_lang, attributes=given)
    url = f"{live_server}/_test-pages/languages.html"
    page.route(url, lambda route: route.fulfill(
        status=200, body=text, headers={"Content-Type": "text/html; charset=utf-8",
                                        "Content-Security-Policy": CONTENT_SECURITY_POLICY}))
    asked = []
    if catalogue is not None:
        def serve(route):
            asked.append(route.request.url)
            route.fulfill(status=200, body=json.dumps(catalogue), headers={"Content-Type": "application/json"})
        page.route(f"{live_server}/i18n/widget/*.json", serve)
    else:
        page.on("request", lambda r: asked.append(r.url) if "/i18n/widget/" in r.url else None)
    page.goto(url)
    page.wait_for_function("() => customElements.get('linkage-search') !== undefined")
    return page.locator("linkage-search"), asked


def root_of(page):
    """The widget's root element's lang, dir and computed direction."""
    return page.evaluate("""() => {
        const root = document.querySelector('linkage-search').shadowRoot.querySelector('.lk');
        return root && {lang: root.getAttribute('lang'), dir: root.getAttribute('dir'),
                        direction: getComputedStyle(root).direction};
    }""")


def search(widget, place_name: str):
    box = widget.get_by_role("combobox", name=place_name)
    box.fill("2000")
    box.press("Enter")
    widget.locator("article.result").first.wait_for(timeout=15000)


# --- pseudo-translation: the widget's own behaviour ---------------------------------------

@pytest.mark.parametrize("code, page_lang", [("ar", "ar"), ("zh_Hans", "zh-CN"), ("vi", "vi-VN")])
def test_widget_follows_the_host_page_language_through_its_catalogue(page, live_server, code, page_lang):
    catalogue = pseudo_catalogue(code)
    widget, asked = open_host(page, live_server, page_lang, catalogue)
    page.wait_for_function("() => document.querySelector('linkage-search').shadowRoot.querySelector('.lk')")
    assert [a.rsplit("/", 1)[-1] for a in asked] == [f"{code}.json"]  # the tag read as our catalogue
    root = root_of(page)
    assert root["lang"] == code.replace("_", "-")
    assert root["dir"] == ("rtl" if code == "ar" else "ltr")
    assert root["direction"] == ("rtl" if code == "ar" else "ltr")
    expect(widget.get_by_role("button", name="«Search»", exact=True)).to_be_visible()
    with page.expect_request(lambda r: "/v1/search?" in r.url) as sent:
        search(widget, f"«{PLACE}»")
    assert f"lang={code}" in sent.value.url  # why it fits asked for in the same language
    # The count by the catalogue's plural rule: "{n} options near {place}" in form rule(n).
    total = page.request.get(f"{live_server}/v1/search?near=2000&radius_km=25").json()["total"]
    choose, _forms = plural_rule(code)
    status = widget.locator(".status")
    expect(status).to_contain_text(f"«[{choose(total)}] {total} options near ")
    # Every label the widget writes on a result went through the catalogue.
    first = widget.locator("article.result").first
    expect(first.locator(".source")).to_contain_text("«Source:")
    assert axe_violations(page) == []


def test_english_needs_no_catalogue(page, live_server):
    widget, asked = open_host(page, live_server, "en-AU")
    expect(widget.get_by_role("button", name="Search", exact=True)).to_be_visible()
    assert asked == []
    assert root_of(page) == {"lang": "en", "dir": "ltr", "direction": "ltr"}


def test_lang_attribute_wins_over_the_host_page(page, live_server):
    widget, asked = open_host(page, live_server, "vi", pseudo_catalogue("ar"), lang="ar-EG")
    expect(widget.get_by_role("button", name="«Search»", exact=True)).to_be_visible()
    assert [a.rsplit("/", 1)[-1] for a in asked] == ["ar.json"]
    assert root_of(page)["dir"] == "rtl"


def test_a_missing_catalogue_leaves_the_widget_in_english(page, live_server):
    # A language Linkage does not have (404 from the app itself): English, left to right.
    widget, _asked = open_host(page, live_server, "de")
    expect(widget.get_by_role("button", name="Search", exact=True)).to_be_visible()
    assert root_of(page)["dir"] == "ltr"


def test_interface_language_and_language_filter_together(page, live_server):
    """The widget in Vietnamese, filtering services that speak Arabic: both hold."""
    widget, _asked = open_host(page, live_server, "vi", pseudo_catalogue("vi"), languages="ar", radius="500")
    with page.expect_request(lambda r: "/v1/search?" in r.url) as sent:
        search(widget, f"«{PLACE}»")
    assert "language=ar" in sent.value.url and "lang=vi" in sent.value.url
    expected = page.request.get(f"{live_server}/v1/search?near=2000&radius_km=500&language=ar&per_page=10").json()
    assert expected["total"] > 0
    articles = widget.locator("article.result")
    expect(articles).to_have_count(min(expected["total"], 10))
    spoken = articles.evaluate_all("(all) => all.map((a) => a.dataset.languages.split(' '))")
    assert all("ar" in languages for languages in spoken), spoken
    assert root_of(page)["lang"] == "vi"
    expect(widget.get_by_label("«Services that speak»")).to_have_value("ar")
    expect(widget.get_by_role("button", name="«Search»", exact=True)).to_be_visible()


def test_sms_count_is_shown_in_the_widget_language(page, live_server):
    widget, _asked = open_host(page, live_server, "ar", pseudo_catalogue("ar"))
    search(widget, f"«{PLACE}»")
    widget.locator("article.result").first.get_by_role("button", name="«Add to handout»").click()
    with page.expect_response(lambda r: r.url.endswith("/v1/referrals")) as made:
        widget.get_by_role("button", name="«Create handout»").click()
    created = made.value.json()
    sms = {**created["sms_length"], "text": created["sms"]}
    choose, _forms = plural_rule("ar")
    chars, segments = sms["characters"], sms["segments"]
    count = widget.locator("#sms-count")
    expect(count).to_have_text("«{characters}, {segments}»"
                               .replace("{characters}", f"«[{choose(chars)}] {chars} characters»")
                               .replace("{segments}", f"«[{choose(segments)}] {segments} SMS segments»"))
    expect(widget.locator("#sms")).to_have_value(sms["text"])


# --- the real catalogues -------------------------------------------------------------------

@pytest.mark.parametrize("code", ["ar", "zh_Hans", "vi"])
def test_widget_in_the_client_language(page, live_server, code):
    catalogue = read_catalogue(code, "widget")
    search_words = catalogue.get("Search")
    place_words = catalogue.get(PLACE)
    if not (search_words and search_words.string and place_words and place_words.string):
        pytest.skip(f"the {code} widget catalogue does not translate {PLACE!r} and 'Search' yet")
    widget, asked = open_host(page, live_server, code.replace("_", "-"))
    expect(widget.get_by_role("button", name=search_words.string, exact=True)).to_be_visible()
    assert [a.rsplit("/", 1)[-1] for a in asked] == [f"{code}.json"]
    root = root_of(page)
    assert root["lang"] == code.replace("_", "-")
    assert root["dir"] == root["direction"] == ("rtl" if code == "ar" else "ltr")
    assert axe_violations(page) == []
    search(widget, place_words.string)
    assert axe_violations(page) == []
