"""A real Meeting Guide client, TSML UI (tests/clients/tsml-ui, MIT), reads our feed in Chromium.

A host page is served by a second server on its own port (another origin) the way a
fellowship's site embeds TSML UI: `<div id="tsml-ui" data-src=... data-timezone=...>`
and the script. TSML UI fetches /v1/feeds/meeting-guide.json from the live server across
origins, so the feed's CORS header is part of what is tested. Every other host (map tiles) is
blocked. (The site is a real server on loopback: Chromium refuses requests to a loopback address
from a page it cannot place there, such as one Playwright answers itself.) One page load serves the whole module: filters are hash changes, as a visitor's clicks.

The expected numbers come from the demo file read directly (data/demo/listings.json) with the
rules written out below, and from TSML UI's own rules (its source, code4recovery/tsml-ui at
the vendored commit: src/helpers/load-meeting-data.ts and the default settings), never from
the export code.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.conftest import DEMO, serving

pytestmark = pytest.mark.browser

CLIENT = Path(__file__).resolve().parents[1] / "clients" / "tsml-ui"
PAGE_ZONE = "Australia/Sydney"
PAGE_SIZE = 25  # TSML UI adds rows 25 at a time as the page scrolls
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meetings</title></head>
<body><div id="tsml-ui" data-src="{feed}" data-timezone="{zone}"></div>
<script src="/tsml-ui/app.js" async></script></body></html>"""

# TSML UI's rules, from its source at the vendored commit. A meeting is online when its
# conference_url's host ends with one of these (the default `conference_providers`) or its
# conference_phone keeps at least 10 of the characters 0-9 , + #; in person when its address
# is not approximate and it has no TC (temporarily closed) type.
TSML_PROVIDER_DOMAINS = (
    "bluejeans.com", "discord.gg", "freeconference.com", "freeconferencecall.com", "goto.com",
    "gotomeet.me", "gotomeeting.com", "horizon.meta.com", "maps.secondlife.com", "meet.google.com",
    "meet.jit.si", "meetings.dialpad.com", "signal.group", "skype.com", "slurl.com",
    "teams.live.com", "teams.microsoft.com", "vrchat.com", "webex.com", "zoho.com", "zoom.us",
)
STATE_NAMES = {"NSW": "New South Wales", "VIC": "Victoria", "QLD": "Queensland", "SA": "South Australia",
               "WA": "Western Australia", "TAS": "Tasmania", "NT": "Northern Territory",
               "ACT": "Australian Capital Territory"}
ISO_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


# --- the demo file, read by hand -----------------------------------------------------------


def demo_meetings() -> list[dict]:
    """One entry per meeting the feed should have, by these rules: every weekly session (no
    "monthly" rule) of every group that is not inactive; a group without sessions would be one
    meeting by appointment (the demo has none)."""
    groups = [r for r in json.loads(DEMO.read_text(encoding="utf-8")) if r["kind"] == "group"]
    assert all(g["sessions"] for g in groups), "the demo now has groups by appointment: count them too"
    return [{"group": g, "session": s} for g in groups if g["status"] != "inactive"
            for s in g["sessions"] if not s.get("monthly")]


def tsml_online(group: dict) -> bool:
    """TSML UI's rule: a conference link to a service it knows, or a dialable conference phone."""
    contact = group["contact"]
    host = urlsplit(contact.get("conference_url") or "").hostname or ""
    phone = re.sub(r"[^\d,+#]", "", contact.get("conference_phone") or "")
    return any(host.endswith(domain) for domain in TSML_PROVIDER_DOMAINS) or len(phone) >= 10


def tsml_in_person(group: dict) -> bool:
    """Attended at a street address and not temporarily closed."""
    return "in_person" in group["formats"] and group["status"] != "temporarily_closed"


def page_weekday(group: dict, session: dict) -> str:
    """The weekday TSML UI files a session under: its start in this week, in the page's zone."""
    zone = ZoneInfo(group["timezone"])
    today = datetime.now(zone).date()
    day = today - timedelta(days=today.isoweekday() - ISO_WEEKDAYS[session["weekday"]])
    start = datetime.combine(day, time.fromisoformat(session["start"]), tzinfo=zone)
    return start.astimezone(ZoneInfo(PAGE_ZONE)).strftime("%A").lower()


def region_of(group: dict) -> str:
    """The top region a meeting should be filed under: its state; for an online meeting without
    an address, its service area's state, or for all of Australia the state of its time zone."""
    if group["location"]:
        return STATE_NAMES[group["location"]["state"]]
    [area] = group["service_area"]
    if area != "AU":
        return STATE_NAMES[area]
    zone_states = {"Australia/Sydney": "NSW", "Australia/Melbourne": "VIC", "Australia/Brisbane": "QLD",
                   "Australia/Adelaide": "SA", "Australia/Perth": "WA", "Australia/Hobart": "TAS",
                   "Australia/Darwin": "NT"}
    return STATE_NAMES[zone_states[group["timezone"]]]


# --- the page ------------------------------------------------------------------------------


def site_app(host_page: str):
    """The embedding site: a WSGI app serving the host page and TSML UI's script."""
    script = (CLIENT / "app.js").read_bytes()
    page = host_page.encode()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/tsml-ui/app.js":
            body, kind = script, "text/javascript"
        elif path == "/meetings.html":
            body, kind = page, "text/html; charset=utf-8"
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    return app


@pytest.fixture(scope="module")
def site(live_server):
    """The embedding site's origin: another server (its own port) whose page points at our feed."""
    feed = f"{live_server}/v1/feeds/meeting-guide.json"
    with serving(site_app(HOST_PAGE.format(feed=feed, zone=PAGE_ZONE))) as origin:
        yield origin


@pytest.fixture(scope="module")
def tsml(browser, live_server, site):
    """TSML UI embedded in a page of another site, showing our feed; with its console warnings."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def answer(route):
        url = route.request.url
        if url.startswith((site, live_server)):
            route.continue_()
        else:
            route.abort()  # map tiles and anything else on the internet

    context.route("**/*", answer)
    warnings: list[str] = []
    errors: list[str] = []
    # TSML UI warns (console.warn, "TSML UI ...") about each meeting it drops or changes.
    page.on("console", lambda m: (warnings if m.type == "warning" and m.text.startswith("TSML UI")
                                  else errors).append(m.text))
    page.goto(f"{site}/meetings.html")
    try:
        page.locator("td.tsml-name").first.wait_for(timeout=20_000)
    except PlaywrightTimeout:
        context.close()
        pytest.fail(f"TSML UI listed no meeting; its console said: {errors[:5]}")
    yield page, warnings
    context.close()


def show(page, hash_: str, title: str) -> list[str]:
    """Go to a TSML UI view by its URL hash; wait for its title; the names of every meeting it
    lists (scrolling until TSML UI adds no more rows)."""
    page.evaluate("(hash) => { window.location.hash = hash; }", hash_)
    expect(page.locator("#tsml-ui h1").first).to_have_text(title)
    rows = page.locator("#tsml-ui table tbody").last.locator("td.tsml-name")
    count = rows.count()
    while count and count % PAGE_SIZE == 0:
        # Scrolled to the end at every poll, not once: on a busy machine the first scroll can
        # come before the rows just added have lengthened the page, and TSML UI then sees no
        # scroll to the end to answer (once it read 50 of 326 meetings).
        try:
            page.wait_for_function(
                "([n]) => { window.scrollTo(0, document.body.scrollHeight);"
                " const b = document.querySelectorAll('#tsml-ui table tbody');"
                " return b[b.length - 1].querySelectorAll('td.tsml-name').length > n; }",
                arg=[count], timeout=10000)
        except PlaywrightTimeout:
            break  # a multiple of 25 was the whole list
        count = rows.count()
    page.evaluate("() => window.scrollTo(0, 0)")
    # The name cell also holds flags such as "Men"; the name is its link.
    return rows.locator("a").all_inner_texts()


def test_every_exported_meeting_is_listed_with_no_warning_about_dropped_ones(tsml):
    page, warnings = tsml
    expected = demo_meetings()
    names = show(page, "#/", "Meetings")
    assert len(names) == len(expected) == 326
    assert sorted(names) == sorted(" ".join(re.sub(r"<[^>]*>", "", m["group"]["name"]).split()) for m in expected)
    assert not any("<" in name for name in names)  # plain text, never literal tags
    # TSML UI names what it drops; nothing is, and its only complaint is the demo's links on
    # example.org, a conference service it does not know (one warning per such meeting).
    kinds = {re.sub(r"^TSML UI (.*?)(: .*)?$", r"\1", w) for w in warnings}
    assert kinds <= {"unknown conference_url"}, sorted(kinds)
    unknown = [m for m in expected if (m["group"]["contact"].get("conference_url") or "").startswith("https://example.org/")]
    assert len([w for w in warnings if "unknown conference_url" in w]) == len(unknown) > 0


def test_weekdays_as_tsml_ui_counts_them_in_the_pages_zone(tsml):
    page, _ = tsml
    expected = demo_meetings()
    for weekday in ("monday", "sunday"):
        names = show(page, f"#/?weekday={weekday}", f"{weekday.title()} Meetings")
        wanted = [m for m in expected if page_weekday(m["group"], m["session"]) == weekday]
        assert len(names) == len(wanted) > 0, weekday


def test_online_in_person_and_inactive_as_tsml_ui_counts_them(tsml):
    page, _ = tsml
    expected = demo_meetings()
    online = show(page, "#/?type=online", "Online Meetings")
    assert len(online) == sum(tsml_online(m["group"]) for m in expected) > 0
    in_person = show(page, "#/?type=in-person", "In-person Meetings")
    assert len(in_person) == sum(tsml_in_person(m["group"]) for m in expected) > 0
    # Online-only meetings whose only link is to a service TSML UI does not know: listed, shown
    # as inactive, joinable through their website button (the export's fallback).
    inactive = show(page, "#/?type=inactive", "Inactive Meetings")
    assert len(inactive) == sum(not tsml_online(m["group"]) and not tsml_in_person(m["group"]) for m in expected)
    assert len(online) + len(in_person) + len(inactive) >= len(expected)


def test_region_filter(tsml):
    page, _ = tsml
    names = show(page, "#/?region=victoria", "Meetings in Victoria")
    assert len(names) == sum(region_of(m["group"]) == "Victoria" for m in demo_meetings()) > 0


def test_hybrid_meeting_page_offers_its_link_and_phone(tsml, live_server, site):
    page, _ = tsml
    hybrid = next(m for m in demo_meetings() if set(m["group"]["formats"]) == {"in_person", "online"}
                  and m["group"]["contact"].get("conference_phone") and m["group"]["status"] == "active")
    group, session = hybrid["group"], hybrid["session"]
    feed = page.request.get(f"{live_server}/v1/feeds/meeting-guide.json", headers={"Origin": site})
    assert feed.headers["access-control-allow-origin"] == "*"
    # The counts are readable from the embedding site's own scripts too (exposed to CORS).
    counts = page.evaluate("""async (url) => { const r = await fetch(url);
        return [r.headers.get('X-Linkage-Meetings'), r.headers.get('X-Linkage-Left-Out')]; }""",
                           f"{live_server}/v1/feeds/meeting-guide.json")
    monthly = sum(1 for r in json.loads(DEMO.read_text(encoding="utf-8")) if r["kind"] == "group"
                  and r["status"] != "inactive" for s in r["sessions"] if s.get("monthly"))
    assert counts[0] == str(len(demo_meetings()))
    assert counts[1].startswith(f"{monthly} sessions (not weekly")
    [item] = [m for m in feed.json() if m["name"] == group["name"]
              and (m["day"], m["time"]) == ((ISO_WEEKDAYS[session["weekday"]] % 7), session["start"])]
    page.evaluate("(hash) => { window.location.hash = hash; }", f"#/{item['slug']}")
    expect(page.locator("#tsml-title")).to_have_text(group["name"])
    meeting = page.locator("#tsml-ui")
    # Online through its dial-in number, in person at its address (both are shown).
    dial = re.sub(r"[^\d+]", "", group["contact"]["conference_phone"])
    expect(meeting.locator(f'a[href="tel:{dial}"]')).to_have_count(1)
    expect(meeting.get_by_text(group["location"]["address"]).first).to_be_visible()
    # Its video link is on example.org, which TSML UI does not know: the link is the website button.
    expect(meeting.locator(f'a[href="{group["contact"]["conference_url"]}"]')).to_have_count(1)
    page.evaluate("() => { window.location.hash = '#/'; }")
