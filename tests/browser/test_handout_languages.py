"""The bilingual handout in Chromium: Arabic right to left where Arabic is, left to right
where the English beside it is, addresses and links isolated; Simplified Chinese and
Vietnamese first with English after; every one axe-core clean.

The handout is rendered from the Arabic catalogue as written (its .po compiled here into a
temporary directory, so the test does not depend on what `make install` last compiled) and
served to the browser through a route, with the real handout.css. Skipped while
service/translations/ar/LC_MESSAGES/messages.po does not exist.
"""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from service.i18n import TRANSLATIONS
from service.render import handout as render
from tests.browser.test_accessibility_and_embedding import axe_violations
from tests.catalogues import app_with_catalogue
from tests.unit.test_handout_render import make_handout, varied

pytestmark = pytest.mark.browser

ORIGIN = "https://linkage.test"


def bilingual_handout(language: str, demo_listings, tmp_path):
    """The handout page of three demo options in `language` (with English beside), and the catalogue."""
    po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        pytest.skip(f"no catalogue for {language} yet (service/translations/{language}/LC_MESSAGES/messages.po)")
    with open(po, "rb") as handle:
        catalogue = read_po(handle, locale=language)
    with app_with_catalogue(catalogue, language, tmp_path).app_context():
        handout = make_handout(varied(demo_listings, 3), language=language, note=None, client_zone="Australia/Perth")
        return render.handout_html(handout), catalogue


@pytest.fixture()
def arabic_handout(demo_listings, tmp_path):
    """The Arabic handout page and its catalogue."""
    return bilingual_handout("ar", demo_listings, tmp_path)


def serve(page, html: str) -> None:
    """The page at ORIGIN/r/handout and our stylesheet at /static/handout.css; nothing else."""
    def answer(route):
        url = route.request.url
        if url == f"{ORIGIN}/r/handout":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        elif url == f"{ORIGIN}/static/handout.css":
            route.fulfill(status=200, content_type="text/css", body=(render.STATIC / "handout.css").read_text())
        else:
            route.abort()
    page.route("**/*", answer)
    page.goto(f"{ORIGIN}/r/handout")


def test_arabic_handout_is_right_to_left_beside_english_and_axe_clean(page, arabic_handout):
    html, catalogue = arabic_handout
    serve(page, html)
    root = page.locator("html")
    assert (root.get_attribute("lang"), root.get_attribute("dir")) == ("ar", "rtl")
    arabic = page.locator('p.encourage[lang="ar"]')
    english = page.locator('p.encourage[lang="en"]')
    assert arabic.get_attribute("dir") == "rtl" and english.get_attribute("dir") == "ltr"
    # The catalogue's own words, in the Arabic block; the English original in the English one.
    source = "Try more than one: most people find what suits them by trying a few. It is fine to go along and just listen."
    assert arabic.inner_text().strip() == catalogue.get(source).string
    assert english.inner_text().strip() == source
    assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert english.evaluate("e => getComputedStyle(e).direction") == "ltr"
    # The Arabic comes first in the document, the English after it.
    assert page.evaluate("""() => {
        const [ar, en] = [document.querySelector('p.encourage[lang="ar"]'), document.querySelector('p.encourage[lang="en"]')];
        return Boolean(ar.compareDocumentPosition(en) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
    # Links and numbers are isolated left to right inside the Arabic page.
    isolated = page.locator('bdi[dir="ltr"] a[href^="https://"], bdi[dir="ltr"] a[href^="tel:"]')
    assert isolated.count() >= 2
    assert isolated.first.evaluate("e => getComputedStyle(e).direction") == "ltr"
    # Each option's times are printed in both languages.
    assert page.locator('table.sessions tbody[lang="ar"][dir="rtl"]').count() == 3
    assert page.locator('table.sessions tbody[lang="en"][dir="ltr"]').count() == 3
    assert page.locator('.review-note[lang="ar"]').count() == 1
    assert axe_violations(page) == []


@pytest.mark.parametrize(("language", "tag"), [("zh_Hans", "zh-Hans"), ("vi", "vi")])
def test_left_to_right_bilingual_handouts_put_the_clients_words_first_and_are_axe_clean(
        page, demo_listings, tmp_path, language, tag):
    html, catalogue = bilingual_handout(language, demo_listings, tmp_path)
    serve(page, html)
    assert page.locator("html").get_attribute("dir") == "ltr"
    source = "Try more than one: most people find what suits them by trying a few. It is fine to go along and just listen."
    client = page.locator(f'p.encourage[lang="{tag}"]')
    english = page.locator('p.encourage[lang="en"]')
    assert client.inner_text().strip() == catalogue.get(source).string
    assert english.inner_text().strip() == source
    assert page.evaluate(f"""() => {{
        const [mine, en] = [document.querySelector('p.encourage[lang="{tag}"]'), document.querySelector('p.encourage[lang="en"]')];
        return Boolean(mine.compareDocumentPosition(en) & Node.DOCUMENT_POSITION_FOLLOWING);
    }}""")
    assert page.locator(f'.review-note[lang="{tag}"]').count() == 1
    assert axe_violations(page) == []
