"""The widget's first search asks only for the item fields its result cards show (`fields=`),
and the cards are the same as those built from whole items.

The oracle is the widget itself fed whole items: the same search with `fields` taken out of
the URL on its way (Playwright's routing) must render the same result lists, element for
element and attribute for attribute. A directory without `fields` sends whole items, so the
comparison also shows the widget works against one.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from tests.browser.test_widget import open_page, search, wait_for_results

pytestmark = pytest.mark.browser

# Both result lists (for everyone, and for particular groups), as HTML.
RESULTS_HTML = "el => Array.from(el.shadowRoot.querySelectorAll('ol.results')).map((ol) => ol.outerHTML)"


def render_results(page, live_server, strip_fields: bool) -> tuple[list[str], list[str]]:
    """Search 2000 in a fresh widget; its result lists' HTML and the search URLs it sent
    (with `fields` taken out before they reach the server when `strip_fields`)."""
    sent = []

    def route(handled):
        url = handled.request.url
        sent.append(url)
        if not strip_fields:
            return handled.continue_()
        parts = urlsplit(url)
        query = {k: v for k, v in parse_qs(parts.query).items() if k != "fields"}
        return handled.continue_(url=urlunsplit(parts._replace(query=urlencode(query, doseq=True))))

    page.route(f"{live_server}/v1/search?*", route)
    widget = open_page(page, live_server, tz="Australia/Sydney")
    search(widget, "2000")
    wait_for_results(page, near="2000")
    return widget.evaluate(RESULTS_HTML), sent


def test_the_first_search_asks_for_the_card_fields_and_cards_match_whole_items(browser, live_server):
    whole_item = None
    pages = [browser.new_context().new_page() for _ in range(2)]
    try:
        trimmed, sent = render_results(pages[0], live_server, strip_fields=False)
        whole, _ = render_results(pages[1], live_server, strip_fields=True)
        whole_item = pages[0].request.get(f"{live_server}/v1/search?near=2000&per_page=1").json()["items"][0]
    finally:
        for opened in pages:
            opened.context.close()
    assert len(sent) == 1
    fields = parse_qs(urlsplit(sent[0]).query)["fields"][0].split(",")
    # Every name asked for is an item field, and some are left out (description, sessions...).
    assert set(fields) < set(whole_item), set(fields) - set(whole_item)
    assert {"description", "sessions"} & set(whole_item) and not {"description", "sessions"} & set(fields)
    assert trimmed and trimmed[0].count("<article") == 10
    for element in ("<h3", 'class="meta"', 'class="distance"', 'class="sessions"', 'class="why"',
                    'class="checks"', 'class="first-visit"', 'class="contact"', 'class="source"'):
        assert element in trimmed[0], element
    assert trimmed == whole


def test_the_wire_benchmark_measures_the_first_search_the_widget_sends(page, live_server):
    """bench.wire rebuilds the first search from widget.js; what Chromium sends is the oracle,
    byte for byte (parameter order and percent-encoding included)."""
    from bench.wire import PLACE, first_search

    widget = open_page(page, live_server)
    with page.expect_request(lambda r: "/v1/search?" in r.url) as sent:
        search(widget, PLACE)
    parts = urlsplit(sent.value.url)
    source = (Path(__file__).resolve().parents[2] / "service" / "static" / "widget.js").read_text(encoding="utf-8")
    assert f"{parts.path}?{parts.query}" == first_search(source)
    assert "per_page=10&" in parts.query and "%2C" in parts.query


def test_a_directory_without_fields_shows_its_other_warnings_only(page, live_server):
    # What a directory older than `fields` answers: whole items, and a warning that it ignored
    # the parameter (the reader has nothing to do about it), beside any other warning.
    def older_directory(handled):
        parts = urlsplit(handled.request.url)
        query = {k: v for k, v in parse_qs(parts.query).items() if k != "fields"}
        answer = handled.fetch(url=urlunsplit(parts._replace(query=urlencode(query, doseq=True))))
        body = answer.json()
        body["warnings"] = ["unknown parameter 'fields' ignored", "radius_km clamped to 100"]
        handled.fulfill(response=answer, json=body)

    page.route(f"{live_server}/v1/search?*", older_directory)
    widget = open_page(page, live_server)
    search(widget, "2000")
    wait_for_results(page, near="2000")
    assert widget.locator("ul.warnings li").all_inner_texts() == ["radius_km clamped to 100"]
    assert widget.locator("article.result").count() == 10
