"""The search page in the client's language: `?lang=` sets <html lang dir>, the chooser, the
words, and the widget's `lang`; apart from the language filter. Axe clean.

Expected words are read from the language's messages.po (babel.messages.pofile). A language
whose catalogue is not there yet, or not compiled (`make install`), is skipped, saying so.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility_and_embedding import axe_violations
from tests.catalogues import read_catalogue

pytestmark = pytest.mark.browser

TAGLINE = "support groups and services for alcohol and other drugs"
# Each language named in its own words (CLDR, as a person who reads it would look for it).
OWN_NAMES = {"en": "English", "ar": "العربية", "vi": "Tiếng Việt", "zh_Hans": "中文 (简体)", "zh_Hant": "中文 (繁體)",
             "pa": "ਪੰਜਾਬੀ", "el": "Ελληνικά", "it": "Italiano", "fil": "Filipino", "hi": "हिन्दी", "es": "Español"}


def words(catalogue, message: str) -> str:
    """The catalogue's translation of MESSAGE, or the English itself while it has none (as gettext does)."""
    found = catalogue.get(message)
    return found.string if found is not None and found.string and "fuzzy" not in found.flags else message


def test_the_chooser_names_the_eleven_languages_in_their_own_words(page, live_server):
    page.goto(f"{live_server}/")
    chooser = page.get_by_label("Language of this page")
    options = chooser.locator("option")
    shown = options.evaluate_all("(all) => all.map((o) => [o.value, o.textContent.trim(), o.lang])")
    assert shown[0][0] == "en" and len(shown) == len(OWN_NAMES) == 11
    assert {value: [name, lang] for value, name, lang in shown} == {
        code: [name, code.replace("_", "-")] for code, name in OWN_NAMES.items()}
    expect(chooser).to_have_value("en")
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["en", "ltr"]


def test_an_unknown_lang_gives_the_english_page(page, live_server):
    page.goto(f"{live_server}/?lang=xx")
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["en", "ltr"]
    expect(page.locator(".tagline")).to_have_text(TAGLINE)


@pytest.mark.parametrize("code", ["ar", "zh_Hans", "vi"])
def test_page_in_the_client_language(page, live_server, code):
    catalogue = read_catalogue(code, "messages")
    tag = code.replace("_", "-")
    page.goto(f"{live_server}/?lang={code}&near=2000")
    page.wait_for_function("() => customElements.get('linkage-search') !== undefined")
    html = page.evaluate("""() => ({lang: document.documentElement.lang, dir: document.documentElement.dir,
                                    direction: getComputedStyle(document.body).direction})""")
    rtl = "rtl" if code == "ar" else "ltr"
    assert html == {"lang": tag, "dir": rtl, "direction": rtl}
    # The widget is told the page's language (it may still wait for its own catalogue).
    assert page.locator("linkage-search").get_attribute("lang") == tag
    expect(page.get_by_label(words(catalogue, "Language of this page"))).to_have_value(code)
    page.locator("linkage-search article.result").first.wait_for(timeout=15000)
    assert axe_violations(page) == []
    if words(catalogue, TAGLINE) == TAGLINE:
        pytest.skip(f"the {code} catalogue does not translate the page's tagline yet")
    expect(page.locator(".tagline")).to_have_text(words(catalogue, TAGLINE))


def test_vietnamese_page_filtering_services_that_speak_arabic(page, live_server, app):
    """The interface language (vi) and the language filter (ar) together, on the page."""
    catalogue = read_catalogue("vi", "messages")
    page.goto(f"{live_server}/?lang=vi&near=2000&radius_km=500&language=ar")
    assert page.evaluate("() => document.documentElement.lang") == "vi"
    expected = app.test_client().get("/v1/search?near=2000&radius_km=500&language=ar").get_json()
    assert expected["total"] > 0
    widget = page.locator("linkage-search")
    articles = widget.locator("article.result")
    expect(articles).to_have_count(min(expected["total"], 10), timeout=15000)
    spoken = articles.evaluate_all("(all) => all.map((a) => a.dataset.languages.split(' '))")
    assert all("ar" in languages for languages in spoken), spoken
    expect(page.locator(".tagline")).to_have_text(words(catalogue, TAGLINE))
    assert axe_violations(page) == []


def test_the_server_rendered_page_keeps_its_language_and_the_filter(browser, live_server):
    """Without JavaScript: the form keeps `lang` and the language filter, and the results speak Arabic."""
    context = browser.new_context()
    context.route("**/widget.js", lambda route: route.abort())
    try:
        page = context.new_page()
        page.goto(f"{live_server}/?lang=ar&near=2000&radius_km=500&language=ar")
        expect(page.locator(".fallback #language")).to_have_value("ar")
        lang_field = page.locator('.fallback form.search input[type=hidden][name="lang"]')
        page_lang = page.evaluate("() => document.documentElement.lang")
        expect(lang_field).to_have_count(1 if page_lang == "ar" else 0)
        assert page.locator(".fallback .result").count() > 0
        assert axe_violations(page) == []
    finally:
        context.close()
