"""The <linkage-search> widget in Chromium, against the app served on loopback.

The pages in tests/browser/pages/ are served by Playwright from the live server's own
origin with the app's Content-Security-Policy (no inline script or style), so the widget
runs as it does on `/`; it is loaded from the app's `/widget.js`. Playwright's CSS and
role locators pierce the widget's open shadow root.
"""

from __future__ import annotations

import html
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from geopy.distance import great_circle
from playwright.sync_api import expect

from service.errors import CONTENT_SECURITY_POLICY
from service.domain.programs import STANCES

pytestmark = pytest.mark.browser

PAGES = Path(__file__).parent / "pages"
PLACE = "Postcode, suburb or address"
SECOND_ORIGIN = "http://second.test"
XSS_NAME = "<img src=x onerror=alert(1)> Demo group"
DIALOGS: dict[int, list[str]] = {}  # alert()s seen, by page

# Runs before any page script: keeps every widget event, CSP violation and dialog.
RECORDER = """
window.__linkage = {events: [], violations: []};
for (const type of ["linkage:search", "linkage:results", "linkage:select"]) {
  document.addEventListener(type, (e) => {
    const d = e.detail;
    window.__linkage.events.push({
      type, element: d.element && d.element.id, total: d.total === undefined ? null : d.total,
      ids: (d.items || []).map((i) => i.id), goals: (d.items || []).map((i) => i.goals),
      selected: d.selected === undefined ? null : d.selected, selection: d.selection || null,
      listing: d.listing ? d.listing.id : null, query: d.query || null,
    });
  });
}
document.addEventListener("securitypolicyviolation",
  (e) => window.__linkage.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def open_page(page, live_server, name="full.html", csp=CONTENT_SECURITY_POLICY, **attributes):
    """Serve tests/browser/pages/NAME at the live server's origin and wait for the widget."""
    script = page.request.get(f"{live_server}/widget.js")
    assert script.ok, f"GET /widget.js answered {script.status}: the app does not serve the widget yet"
    text = (PAGES / name).read_text(encoding="utf-8")
    given = " ".join(f'{key.replace("_", "-")}="{html.escape(str(value))}"' for key, value in attributes.items())
    text = text.replace("{{attributes}}", given)
    url = f"{live_server}/_test-pages/{name}"
    page.route(url, lambda route: route.fulfill(
        status=200, body=text, headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp}))
    page.add_init_script(RECORDER)
    seen = DIALOGS.setdefault(id(page), [])
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_function("() => customElements.get('linkage-search') !== undefined")
    return page.locator("linkage-search").first


def events(page, type_=None, element=None):
    """The widget events recorded so far, optionally of one type and from one element."""
    found = page.evaluate("() => window.__linkage.events")
    return [e for e in found if (type_ is None or e["type"] == type_) and (element is None or e["element"] == element)]


def wait_for_results(page, /, element="w", count=1, **query):
    """Wait until ELEMENT has announced COUNT results events whose query has QUERY's values."""
    page.wait_for_function(
        """([element, count, query]) => window.__linkage.events.filter((e) => e.type === "linkage:results"
             && e.element === element
             && Object.entries(query).every(([k, v]) => e.query && e.query[k] === v)).length >= count""",
        arg=[element, count, query])
    matching = [e for e in events(page, "linkage:results", element)
                if all(e["query"].get(k) == v for k, v in query.items())]
    return matching[-1]


def no_violations(page):
    violations = page.evaluate("() => window.__linkage.violations")
    assert violations == [], violations
    assert DIALOGS.get(id(page)) == [], DIALOGS.get(id(page))


def search(widget, place):
    box = widget.get_by_label(PLACE)
    box.fill(place)
    box.press("Enter")


def handout_path(href: str) -> str:
    """The handout's path: links use LINKAGE_PUBLIC_URL, which the test app sets to another host."""
    parts = urlsplit(href)
    assert re.fullmatch(r"/r/[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}", parts.path), href
    return parts.path


def test_search_by_postcode_shows_distances_and_next_sessions_in_both_zones(page, live_server):
    widget = open_page(page, live_server, tz="Australia/Perth")
    search(widget, "2000")
    result = wait_for_results(page, near="2000")
    status = widget.locator(".status")
    expect(status).to_have_text(f"{result['total']} options near Sydney NSW 2000")
    expect(status).to_have_attribute("aria-live", "polite")
    articles = widget.locator("article.result")
    expect(articles).to_have_count(10)
    assert result["total"] > 20
    distances = articles.locator(".distance").all_inner_texts()
    assert len(distances) == 10 and all(re.match(r"\d+(\.\d)? km away", d) for d in distances), distances
    # The numbers are the great-circle distances (geopy) from the place searched, as the
    # widget rounds them: tenths under 10 km, whole kilometres from 10.
    near = page.request.get(f"{live_server}/v1/search?near=2000").json()["query"]["near"]
    for listing_id, shown in zip(articles.evaluate_all("els => els.map((e) => e.dataset.id)"), distances):
        location = page.request.get(f"{live_server}/v1/listings/{listing_id}").json()["location"]
        km = great_circle((near["lat"], near["lon"]), (location["lat"], location["lon"])).km
        number = float(re.match(r"[\d.]+", shown).group())
        assert abs(number - km) <= (0.055 if km < 10 else 0.505) + 1e-9, (listing_id, shown, km)
    first = articles.first
    expect(first.locator("h3")).to_have_text(re.compile(r"\S"))
    # Perth is three hours behind Sydney in November: both zones are shown.
    sessions = first.locator(".sessions li").first
    expect(sessions).to_contain_text("Perth time")
    expect(sessions).to_contain_text("Sydney time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
                        first.locator(".sessions time").first.get_attribute("datetime"))
    expect(first.locator(".why")).to_contain_text("km away")
    # The rest of the results, ten at a time on demand: the button says how many, the status
    # announces them, and focus moves to the first one added (page 2 as the API pages it).
    total = result["total"]
    more = widget.get_by_role("button", name=f"Show 10 more (10 of {total} shown)", exact=True)
    more.click()
    wait_for_results(page, page="2")
    expect(articles).to_have_count(20)
    expect(status).to_have_text(f"10 more options shown, 20 of {total}")
    second = page.request.get(f"{live_server}/v1/search?near=2000&radius_km=25&per_page=10&page=2").json()
    focused = page.evaluate("() => document.querySelector('linkage-search').shadowRoot.activeElement.dataset.id")
    assert focused == second["items"][0]["id"], (focused, second["items"][0]["id"])
    expect(widget.get_by_role("button", name=f"Show {min(total - 20, 10)} more (20 of {total} shown)",
                              exact=True)).to_be_visible()
    no_violations(page)


def test_a_distance_is_rounded_once(page, live_server):
    """demo:g0125 is 1.046 km from Sydney NSW 2000 (-33.86052, 151.20158) by geopy's great circle: 1.0 km."""
    widget = open_page(page, live_server, near="2000")
    wait_for_results(page, near="2000")
    expect(widget.locator('article[data-id="demo:g0125"] .distance')).to_have_text("1.0 km away", timeout=2000)


def test_goal_filter_moderation_keeps_only_options_for_cutting_down(page, live_server):
    widget = open_page(page, live_server)
    search(widget, "2000")
    everything = wait_for_results(page, near="2000")
    widget.get_by_role("group", name="Goal").get_by_label("Cutting down").check()
    result = wait_for_results(page, goal="moderation")
    assert 0 < result["total"] < everything["total"]
    assert result["goals"] and all("moderation" in goals for goals in result["goals"]), result["goals"]
    rendered = widget.locator("article.result").evaluate_all("els => els.map((e) => e.dataset.goals.split(' '))")
    assert rendered and all("moderation" in goals for goals in rendered), rendered
    expect(widget.locator(".status")).to_have_text(f"{result['total']} options near Sydney NSW 2000")


def test_three_options_make_a_handout_with_link_and_sms(page, live_server):
    widget = open_page(page, live_server)
    search(widget, "2000")
    wait_for_results(page, near="2000")
    articles = widget.locator("article.result")
    names = []
    for i in range(3):
        names.append(articles.nth(i).locator("h3").inner_text())
        button = articles.nth(i).get_by_role("button", name="Add to handout")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
    chosen = events(page, "linkage:select", "w")
    assert [len(e["selection"]) for e in chosen] == [1, 2, 3] and all(e["selected"] for e in chosen)
    expect(widget.locator(".panel")).to_contain_text("3 of 12 chosen")
    widget.get_by_role("button", name="Create handout").click()
    link = widget.locator(".made a.url")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    expect(widget.get_by_label("Text message (SMS)")).to_have_value(re.compile(r"Options to try: .*" + re.escape(href)))
    page.goto(live_server + handout_path(href))
    options = page.locator("ol.options")
    for name in names:
        expect(options).to_contain_text(name)
    expect(page.locator("ol.options > li")).to_have_count(3)


def test_keyboard_only_search_select_and_handout(page, live_server):
    widget = open_page(page, live_server)
    expect(widget.locator("#keys-help")).to_be_visible()
    expect(widget.locator("#keys-help")).to_contain_text("next / previous result")
    active = "() => { const a = document.querySelector('linkage-search').shadowRoot.activeElement; " \
             "return a ? (a.id || a.dataset.id || a.tagName) : null; }"
    page.keyboard.press("/")
    assert page.evaluate(active) == "place"
    page.keyboard.type("2000")
    page.keyboard.press("Enter")
    wait_for_results(page, near="2000")
    page.keyboard.press("Escape")  # leave the text box so single keys work
    assert page.evaluate(active) == "results-heading"
    ids = widget.locator("article.result").evaluate_all("els => els.map((e) => e.dataset.id)")
    for _ in range(3):
        page.keyboard.press("j")
        page.keyboard.press("a")
    assert page.evaluate(active) == ids[2]
    outline = page.evaluate("() => getComputedStyle(document.querySelector('linkage-search').shadowRoot.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("k")
    page.keyboard.press("a")  # takes the second one off again
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("a")
    chosen = [ids[0], ids[2], ids[3]]
    assert events(page, "linkage:select")[-1]["selection"] == chosen
    pressed = widget.locator("article.result .add[aria-pressed=true]")
    expect(pressed).to_have_count(3)
    page.keyboard.press("h")
    expect(widget.locator(".made a.url")).to_be_visible()
    assert page.evaluate(active) == "made-heading"
    page.keyboard.press("Tab")
    href = page.evaluate("() => document.querySelector('linkage-search').shadowRoot.activeElement.getAttribute('href')")
    page.goto(live_server + handout_path(href))
    for listing_id in chosen:
        name = page.request.get(f"{live_server}/v1/listings/{listing_id}").json()["name"]
        expect(page.locator("ol.options")).to_contain_text(name)


def test_a_handout_holds_at_most_twelve_options(page, live_server):
    widget = open_page(page, live_server, near="2000")
    wait_for_results(page, near="2000")
    buttons = widget.locator("article.result .add")
    # The first page shows ten: the eleventh to thirteenth options come with the second page.
    expect(buttons).to_have_count(10)
    for i in range(10):
        buttons.nth(i).click()
    widget.get_by_role("button", name=re.compile(r"^Show 10 more")).click()
    wait_for_results(page, page="2")
    expect(buttons).to_have_count(20)
    for i in range(10, 13):
        buttons.nth(i).click()
    expect(widget.locator("article.result .add[aria-pressed=true]")).to_have_count(12)
    expect(buttons.nth(12)).to_have_attribute("aria-pressed", "false")
    expect(widget.locator(".panel [role=status]")).to_have_text("A handout holds at most 12 options; remove one first.")
    assert len(events(page, "linkage:select")) == 12


def test_two_widgets_on_one_page_get_their_own_events(page, live_server):
    second_calls = []

    def second_origin(route):
        # Another site's Linkage: the same app, reached cross-origin with CORS.
        second_calls.append(route.request.url)
        path = route.request.url[len(SECOND_ORIGIN):]
        response = route.fetch(url=live_server + path)
        route.fulfill(response=response, headers={**response.headers, "access-control-allow-origin": "*"})

    page.route(f"{SECOND_ORIGIN}/**", second_origin)
    csp = CONTENT_SECURITY_POLICY.replace("connect-src 'self'", f"connect-src 'self' {SECOND_ORIGIN}")
    open_page(page, live_server, "two.html", csp=csp)
    one, two = page.locator("#one"), page.locator("#two")
    sydney = wait_for_results(page, "one")
    melbourne = wait_for_results(page, "two")
    assert sydney["query"]["near"] == "2000" and melbourne["query"]["near"] == "3000"
    assert not set(sydney["ids"]) & set(melbourne["ids"])
    assert any("/v1/search?" in url for url in second_calls)
    expect(one.locator(".status")).to_contain_text("near Sydney NSW 2000")
    expect(two.locator(".status")).to_contain_text("near Melbourne VIC 3000")
    assert [e["element"] for e in events(page, "linkage:search")] in (["one", "two"], ["two", "one"])
    # Only the full widget has a handout; its select event names it.
    expect(two.locator(".add")).to_have_count(0)
    one.locator("article.result").first.get_by_role("button", name="Add to handout").click()
    selected = events(page, "linkage:select")
    assert [(e["element"], e["listing"]) for e in selected] == [("one", sydney["ids"][0])]
    # Changing an attribute searches again, for that widget only.
    page.evaluate("() => document.querySelector('#two').setAttribute('near', '4000')")
    brisbane = wait_for_results(page, "two", near="4000")
    assert brisbane["total"] > 0
    expect(two.locator(".status")).to_contain_text("near Brisbane")
    assert len(events(page, "linkage:results", "one")) == 1
    no_violations(page)


def test_listing_text_is_rendered_as_text(page, live_server):
    widget = open_page(page, live_server, near="2000")
    result = wait_for_results(page, near="2000")
    # Ten results to a page: the hostile listing may come with a later one.
    number = 1
    while "demo:g0001" not in result["ids"]:
        assert widget.locator("button.more").is_visible(), "demo:g0001 is not among the results near 2000"
        widget.locator("button.more").click()
        number += 1
        result = wait_for_results(page, page=str(number))
    article = widget.locator('article[data-id="demo:g0001"]')
    expect(article.locator("h3")).to_have_text(XSS_NAME)
    assert page.locator("linkage-search img[src=x]").count() == 0
    assert page.locator("img").count() == 0
    article.get_by_role("button", name="Add to handout").click()
    expect(widget.locator(".chosen")).to_contain_text(XSS_NAME)
    widget.get_by_role("button", name="Create handout").click()
    expect(widget.locator(".made a.url")).to_be_visible()
    assert page.locator("img").count() == 0
    no_violations(page)


def test_home_page_is_the_full_widget_with_a_server_rendered_fallback(page, browser, live_server):
    page.goto(f"{live_server}/")
    assert page.locator("script:not([src])").count() == 0
    widget = page.locator("linkage-search[mode=full]")
    expect(widget).to_have_count(1)
    page.wait_for_function("() => customElements.get('linkage-search') !== undefined")
    page.keyboard.press("/")
    page.keyboard.type("2000")
    page.keyboard.press("Enter")
    expect(widget.locator(".status")).to_contain_text("options near Sydney NSW 2000")
    expect(widget.locator("article.result")).to_have_count(10)
    # Without JavaScript the same address still searches, rendered on the server.
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(f"{live_server}/")
        plain.get_by_label(PLACE).fill("2000")
        plain.get_by_role("button", name="Search").click()
        expect(plain.get_by_text(re.compile(r"\d+ options near Sydney NSW 2000")).first).to_be_visible()
    finally:
        context.close()


def test_place_suggestions_form_an_aria_combobox(page, live_server):
    widget = open_page(page, live_server)
    box = widget.get_by_role("combobox", name=PLACE)
    box.press_sequentially("parra")
    option = widget.get_by_role("option", name="Parramatta NSW", exact=True)
    expect(option).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    expect(option).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value("Parramatta NSW")
    expect(box).to_have_attribute("aria-expanded", "false")
    wait_for_results(page, near="Parramatta NSW")
    expect(widget.locator(".status")).to_contain_text("near Parramatta")


def test_program_explainers_show_under_results(page, live_server):
    widget = open_page(page, live_server, near="2000")
    wait_for_results(page, near="2000")
    smart = widget.locator("article.result", has=page.locator("details.explainer")).filter(
        has_text="SMART Recovery").first
    summary = smart.locator("summary", has_text="What is SMART Recovery?")
    summary.click()
    expect(smart.locator("details.explainer p")).to_have_text(STANCES["SMART Recovery"].explainer)


def test_widget_works_without_places_and_programs(page, live_server):
    for path in ("/v1/places**", "/v1/programs**"):
        page.route(f"{live_server}{path}", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body='{"error": {"status": 503, "code": "unavailable", "message": "down"}}'))
    # Counts answers the page has read to the end: the widget's own handling of an answer runs
    # in the same turn, so once the count moves the widget has dealt with the failure.
    page.add_init_script("""
        window.__placesRead = 0;
        const read = Response.prototype.text;
        Response.prototype.text = function () {
          const places = this.url.includes("/v1/places");
          return read.call(this).finally(() => { if (places) window.__placesRead += 1; });
        };""")
    widget = open_page(page, live_server)
    box = widget.get_by_role("combobox", name=PLACE)
    with page.expect_response(lambda response: "/v1/places" in response.url) as failed:
        box.press_sequentially("parra")
    assert failed.value.status == 503
    page.wait_for_function("() => window.__placesRead >= 1")
    expect(widget.get_by_role("listbox")).to_be_hidden()
    expect(widget.locator(".error:visible")).to_have_count(0)
    expect(box).to_have_attribute("aria-expanded", "false")
    box.fill("2000")
    box.press("Enter")
    wait_for_results(page, near="2000")
    expect(widget.locator("article.result")).to_have_count(10)
    expect(widget.locator("details.explainer")).to_have_count(0)
    expect(widget.locator(".error:visible")).to_have_count(0)


def test_api_error_is_shown_next_to_the_named_control(page, live_server):
    widget = open_page(page, live_server)
    box = widget.get_by_label(PLACE)
    search(widget, "Nowhereville Zzz")
    error = widget.locator("#place-error")
    expect(error).to_contain_text("no place called")
    expect(box).to_have_attribute("aria-invalid", "true")
    assert "place-error" in box.get_attribute("aria-describedby")
    # Soft problems come back as warnings beside the results.
    widget.get_by_label("Within (km)").fill("900")
    search(widget, "2000")
    expect(widget.locator(".warnings")).to_contain_text("radius_km 900 is outside 1–500; using 500")
    expect(error).to_be_hidden()
    expect(box).not_to_have_attribute("aria-invalid", "true")


def test_embed_key_is_sent_as_a_header(page, app, live_server):
    key = f"pk_test_{uuid.uuid4().hex[:12]}"
    app.extensions["linkage"].keys.add_key(key, "Browser test", [live_server])
    sent = []
    page.on("request", lambda request: sent.append(request) if "/v1/" in request.url else None)
    open_page(page, live_server, key=key, near="2000")
    wait_for_results(page, near="2000")
    assert sent and all(request.headers.get("x-linkage-key") == key for request in sent)
    # An unknown key is the API's error, shown to the person rather than failing silently.
    page.evaluate("() => document.querySelector('linkage-search').setAttribute('key', 'pk_unknown')")
    expect(page.locator("linkage-search").get_by_role("alert")).to_contain_text("unknown embed key")


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed CSS colours ("rgb(r, g, b)")."""
    def luminance(colour):
        channels = [float(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3]]
        r, g, b = (v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("width", [320, 640, 1280])
def test_layout_labels_and_contrast_at_narrow_and_wide_sizes(page, live_server, width):
    # 640 CSS pixels is a 1280-pixel window at 200 % zoom.
    page.set_viewport_size({"width": width, "height": 900})
    widget = open_page(page, live_server, near="2000")
    wait_for_results(page, near="2000")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    unlabelled = page.evaluate("""() => [...document.querySelector('linkage-search').shadowRoot
        .querySelectorAll('input, select, textarea, button')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map((el) => el.outerHTML)""")
    assert unlabelled == []
    results = widget.locator("section.found").bounding_box()
    panel = widget.locator("aside.panel").bounding_box()
    if width > 700:
        assert panel["x"] > results["x"] + results["width"] - 1  # helpline layout: two columns
    else:
        # One column: the handout panel first, short while nothing is chosen, then the results.
        assert panel["y"] + panel["height"] <= results["y"] + 1
        assert panel["height"] < 200, panel
    colours = page.evaluate("""() => {
        const host = document.querySelector('linkage-search');
        const root = host.shadowRoot;
        const css = (selector, property) => getComputedStyle(root.querySelector(selector))[property];
        const page = getComputedStyle(host).backgroundColor;
        return {
          "ink": [css('.lk', 'color'), page],
          "button": [css('button[type=submit]', 'color'), css('button[type=submit]', 'backgroundColor')],
          "muted text": [css('.meta', 'color'), page],
          "link": [css('summary, .contact a', 'color'), page],
          "error": [css('.error', 'color'), page],
        };
    }""")
    for name, (foreground, background) in colours.items():
        assert contrast(foreground, background) >= 4.5, (name, foreground, background)


def test_theme_custom_properties_reach_the_shadow_dom(page, live_server):
    widget = open_page(page, live_server)
    page.evaluate("""() => { const el = document.querySelector('linkage-search');
        el.style.setProperty('--linkage-accent', 'rgb(102, 0, 51)');
        el.style.setProperty('--linkage-radius', '0px');
        el.style.setProperty('--linkage-font', 'serif'); }""")
    button = widget.get_by_role("button", name="Search")
    expect(button).to_have_css("background-color", "rgb(102, 0, 51)")
    expect(button).to_have_css("border-radius", "0px")
    expect(button).to_have_css("font-family", "serif")
    no_violations(page)


def test_dead_links_are_flagged_not_hidden(page, live_server, app, client):
    """A link the last check found gone stays visible, with when it failed."""
    from service.link_checks import LinkCheck, save_checks

    first = client.get("/v1/search?near=2000").get_json()["items"]
    listing = next(item for item in first if item["contact"]["website"])
    save_checks(app.extensions["linkage"].settings.link_checks_path, [
        LinkCheck(listing["contact"]["website"], (listing["id"],), "dead", 410, "HTTP 410",
                  "2026-11-20T02:00:00+00:00", "2026-11-25T02:00:00+00:00")])
    try:
        widget = open_page(page, live_server)
        search(widget, "2000")
        wait_for_results(page, near="2000")
        article = widget.locator(f'article[data-id="{listing["id"]}"]')
        expect(article.locator(".contact a", has_text="Website")).to_be_visible()
        expect(article.locator(".dead-link")).to_have_text(" (did not work when checked 2026-11-25)")
        expect(widget.locator(".dead-link")).to_have_count(1)
        no_violations(page)
    finally:
        save_checks(app.extensions["linkage"].settings.link_checks_path, [])
