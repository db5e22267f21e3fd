"""The handout renderers: HTML, A4 PDF (WeasyPrint + pdftotext/pdfinfo), SMS text, iCalendar.

Handouts are built from the demo listings the way the views build them (a stored referral,
what the backend holds now, a fixed moment), then rendered in a bare Flask app that has
only `init_i18n`, so these tests need no backend.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from service.referrals.handout import build_handout
from service.i18n import TRANSLATIONS, init_i18n
from service.referrals.model import Referral, new_code
from service.render import handout as render
from service.domain.schemas import dump_listing
from tests.conftest import FIXED_NOW, ROOT

PUBLIC_URL = "https://linkage.example"
SCRIPT_NAME = "<script>alert(1)</script> Group"


# --- Building handouts ---------------------------------------------------------------

def make_handout(listings, *, note="Try one this week", language="en", goal="moderation", current=None,
                 seven_day_goal=None, client_zone=None, now=FIXED_NOW, stale_after_days=180):
    """A handout for these listings as build_handout makes it (every listing unchanged
    unless `current` says otherwise); the note is for this one rendering, as the views pass it."""
    snapshots = [dump_listing(listing) for listing in listings]
    referral = Referral(
        code=new_code(), created_at=now, expires_at=now + timedelta(days=90),
        goal=goal, language=language, items=tuple(snapshots),
        seven_day_goal=seven_day_goal, timezone=client_zone,
    )
    if current is None:
        current = {listing.id: (listing, snapshot) for listing, snapshot in zip(listings, snapshots)}
    return build_handout(referral, current, now, PUBLIC_URL, note=note, stale_after_days=stale_after_days)


@pytest.fixture(scope="module")
def render_app():
    """A bare app with translations set up (templates come from the `service` package)."""
    app = Flask("service")
    init_i18n(app)
    return app


@pytest.fixture()
def ctx(render_app):
    """An app context, as the views have."""
    with render_app.app_context():
        yield render_app


def varied(demo_listings, count):
    """`count` active demo listings mixing formats, kinds and zones (deterministic)."""
    pools = [
        [x for x in demo_listings if x.formats == ("in_person",) and x.kind == "group"],
        [x for x in demo_listings if x.formats == ("online",)],
        [x for x in demo_listings if "phone" in x.formats],
        [x for x in demo_listings if x.kind == "service"],
        [x for x in demo_listings if set(x.formats) == {"in_person", "online"}],
    ]
    chosen, seen = [], set()
    index = 0
    while len(chosen) < count:
        pool = pools[index % len(pools)]
        pick = next((x for x in pool if x.id not in seen and x.status == "active" and x.sessions), None)
        if pick:
            chosen.append(pick)
            seen.add(pick.id)
        index += 1
    return chosen


def wordiest(demo_listings, count):
    """The demo listings with the most to print: long names, explainers, first-visit notes."""
    def size(x):
        return len(x.name) + len(x.first_visit.what_to_expect or "") + 40 * len(x.formats) + len(x.sessions) * 10
    return sorted((x for x in demo_listings if x.status == "active"), key=size, reverse=True)[:count]


def one_per_zone(demo_listings):
    """The first listing with sessions in each zone the demo data uses."""
    by_zone = {}
    for listing in demo_listings:
        if listing.sessions and listing.status == "active":
            by_zone.setdefault(listing.timezone, listing)
    return list(by_zone.values())


def renamed(listing, name):
    return dataclasses.replace(listing, name=name)


# --- PDF helpers (poppler-utils) -----------------------------------------------------

def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not found: install Debian's poppler-utils (apt-get install -y poppler-utils)")
    return path


def pdf_text(pdf: bytes, tmp_path: Path, pages: tuple[int, int] | None = None) -> str:
    """pdftotext's reading of the PDF (or of pages first..last), whitespace collapsed
    (lines wrap anywhere)."""
    path = tmp_path / "handout.pdf"
    path.write_bytes(pdf)
    span = ["-f", str(pages[0]), "-l", str(pages[1])] if pages else []
    out = subprocess.run([poppler("pdftotext"), "-enc", "UTF-8", *span, str(path), "-"],
                         check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([poppler("pdfinfo"), str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def expected_time(start) -> str:
    """A session as the handout must print it, computed here independently of the renderer."""
    hour = start.hour % 12 or 12
    return f"{start:%a} {start.day} {start:%b}, {hour}:{start.minute:02d} {'am' if start.hour < 12 else 'pm'}"


# --- PDF -----------------------------------------------------------------------------

def test_pdf_contains_every_name_and_next_session_time(ctx, demo_listings, tmp_path, caplog):
    handout = make_handout(varied(demo_listings, 5))
    with caplog.at_level("WARNING", logger="weasyprint"):
        pdf = render.handout_pdf(handout)
    assert not [r for r in caplog.records if "handout.css" in r.getMessage()]   # the stylesheet loaded
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf, tmp_path)
    assert handout.label_zones          # the five mix zones, so every time names its zone
    for item in handout.items:
        assert " ".join(item.listing["name"].split()) in text
        zone = item.listing["timezone"]
        if item.listing["kind"] == "group":
            first = item.next_sessions[0].start
            assert f"{expected_time(first)} ({zone.rsplit('/', 1)[-1].replace('_', ' ')} time)" in text
        else:
            # Services and helplines print their opening hours instead of a "next session".
            assert "Hours:" in text and f"({zone.rsplit('/', 1)[-1].replace('_', ' ')} time" in text


LONGEST_NOTE = ("Bring a friend if you like; tell me at our next visit how it went. " * 8)[:500]


def test_five_options_fit_one_a4_page(ctx, demo_listings, tmp_path):
    for listings, note in ((varied(demo_listings, 5), "Try one this week"),
                           (wordiest(demo_listings, 5), "Try one this week"),
                           (wordiest(demo_listings, 5), LONGEST_NOTE)):
        pdf = render.handout_pdf(make_handout(listings, note=note))
        assert pdf_pages(pdf, tmp_path) == 1, ([x.name for x in listings], len(note))


def test_twelve_options_continue_on_a_second_page(ctx, demo_listings, tmp_path):
    handout = make_handout(varied(demo_listings, 12))
    pdf = render.handout_pdf(handout)
    assert pdf_pages(pdf, tmp_path) > 1
    text = pdf_text(pdf, tmp_path)
    assert all(" ".join(item.listing["name"].split()) in text for item in handout.items)
    # The front page still holds at least the first five.
    front = pdf_text(pdf, tmp_path, pages=(1, 1))
    assert all(" ".join(item.listing["name"].split()) in front for item in handout.items[:5])
    assert " ".join(handout.items[-1].listing["name"].split()) not in front


def test_pdf_page_is_a4(ctx, demo_listings, tmp_path):
    path = tmp_path / "a4.pdf"
    path.write_bytes(render.handout_pdf(make_handout(varied(demo_listings, 2))))
    out = subprocess.run([poppler("pdfinfo"), str(path)], check=True, capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", out).groups())
    assert (round(width), round(height)) == (595, 842)


# --- Escaping ------------------------------------------------------------------------

def test_script_in_a_name_is_escaped_in_html_pdf_and_text(ctx, demo_listings, tmp_path):
    listings = varied(demo_listings, 3)
    listings[1] = renamed(listings[1], SCRIPT_NAME)
    handout = make_handout(listings)

    html = render.handout_html(handout)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Group" in html
    assert "<script" not in html.lower()

    assert SCRIPT_NAME in pdf_text(render.handout_pdf(handout), tmp_path)

    text = render.handout_text(handout)
    assert SCRIPT_NAME in text
    assert "&lt;" not in text


def test_demo_markup_in_names_stays_text(ctx, demo_listings):
    # The demo data carries a hostile name of its own.
    hostile = next(x for x in demo_listings if x.name.startswith("<img"))
    html = render.handout_html(make_handout([hostile]))
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_only_web_addresses_become_links(ctx, demo_listings):
    listing = varied(demo_listings, 1)[0]
    listing = dataclasses.replace(listing, contact=dataclasses.replace(
        listing.contact, website="javascript:alert(1)", phone="02 5550 1234"))
    html = render.handout_html(make_handout([listing]))
    assert 'href="javascript:' not in html
    assert "javascript:alert(1)" in html          # printed, not linked
    assert 'href="tel:0255501234"' in html
    assert render.web_link("http://[broken") is None
    assert render.web_link(" https://example.org/x ") == "https://example.org/x"


def test_control_characters_are_stripped(ctx, demo_listings):
    listing = renamed(varied(demo_listings, 1)[0], "Bad\x00 \x1b[31mName\u202e here")
    handout = make_handout([listing])
    for rendered in (render.handout_html(handout), render.handout_text(handout),
                     render.handout_ics(handout).decode()):
        assert "\x00" not in rendered and "\x1b" not in rendered and "\u202e" not in rendered
    assert "Bad [31mName here" in render.handout_text(handout)


def test_pdf_fetches_nothing_but_our_static_files():
    fetcher = render.pdf_url_fetcher()
    css = fetcher.fetch("linkage-static:handout.css")
    assert b"@page" in css.read()
    for url in ("file:///etc/passwd", "https://example.org/evil.css", "http://127.0.0.1:9200/",
                "linkage-static:../__init__.py", "linkage-static:/etc/passwd", "data:text/css,body{}"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


# --- The page ------------------------------------------------------------------------

def test_page_has_demo_banner_note_qr_checked_dates_and_goal_box(ctx, demo_listings):
    handout = make_handout(varied(demo_listings, 5))
    assert handout.demo
    html = render.handout_html(handout)
    assert "Demo data — fictional." in html
    assert "Try one this week" in html
    assert "<svg" in html and "qr-code" in html
    assert handout.url in html
    assert "Information checked on:" in html
    for day in handout.checked_on:
        assert render.checked_label(day) in html
    assert "One goal for the next seven days" in html
    assert "Try more than one" in html
    assert 'href="/static/handout.css"' in html
    assert "<script" not in html.lower()


def test_page_says_how_to_join_and_first_visit_notes(ctx, demo_listings):
    online = next(x for x in demo_listings if x.formats == ("online",) and x.contact.conference_url
                  and x.first_visit.camera_optional)
    phone = next(x for x in demo_listings if x.formats == ("phone",) and x.sessions)
    handout = make_handout([online, phone])
    html = render.handout_html(handout)
    assert f"Online — link:</span> <a href=\"{online.contact.conference_url}\"" in html
    assert "By phone:" in html and (phone.contact.conference_phone or phone.contact.phone) in html
    assert "Camera optional" in html
    assert "Why it fits:" in html and "Fits the goal: cutting down" in html


def test_page_has_feedback_forms_but_the_pdf_does_not(ctx, demo_listings):
    handout = make_handout(varied(demo_listings, 2))
    html = render.handout_html(handout)
    assert html.count(f'<form method="post" action="/r/{handout.display_code}/feedback">') == 2
    for item in handout.items:
        assert f'<input type="hidden" name="listing_id" value="{item.listing["id"]}">' in html
    for outcome, words in (("attended", "I went"), ("not_yet", "Not yet"), ("not_for_me", "Not for me")):
        assert html.count(f'name="outcome" value="{outcome}">{words}</button>') == 2
    assert 'id="feedback"' in html
    pdf_html = render.handout_html(handout, for_pdf=True)
    assert "<form" not in pdf_html
    assert 'href="linkage-static:handout.css"' in pdf_html


def test_changed_and_removed_options_say_so(ctx, demo_listings, tmp_path):
    kept, edited, gone = varied(demo_listings, 3)
    snapshots = {x.id: dump_listing(x) for x in (kept, edited, gone)}
    current = {
        kept.id: (kept, snapshots[kept.id]),
        edited.id: (edited, {**snapshots[edited.id], "description": "Moved to a new hall."}),
    }
    handout = make_handout([kept, edited, gone], current=current)
    assert [item.status for item in handout.items] == ["unchanged", "changed", "removed"]
    html = render.handout_html(handout)
    assert "This listing has changed since the handout was made — check the details" in html
    assert "This option is no longer listed" in html
    assert gone.name.replace("&", "&amp;") in html          # the snapshot is still shown
    # Calendars and texts offer only what is still listed.
    assert gone.name not in render.handout_ics(handout).decode()
    assert gone.name not in render.handout_text(handout)
    assert "This option is no longer listed" in pdf_text(render.handout_pdf(handout), tmp_path)


def test_missing_page(ctx):
    html = render.missing_html()
    assert "This handout has expired or the code is not right" in html
    assert 'href="/"' in html
    assert "<script" not in html.lower()


def test_session_label_is_in_the_listing_zone():
    from service.domain.models import Occurrence

    start = FIXED_NOW.astimezone(ZoneInfo("Australia/Perth")).replace(hour=19, minute=0)
    occurrence = Occurrence(start, start + timedelta(hours=1), False)
    assert render.session_label(occurrence, "Australia/Perth") == "Thu 26 Nov, 7:00 pm (Perth time)"
    # An instant given in another zone is still printed in the listing's.
    assert render.session_label(dataclasses.replace(occurrence, start=start.astimezone(ZoneInfo("UTC"))),
                                "Australia/Perth") == "Thu 26 Nov, 7:00 pm (Perth time)"
    assert render.short_session(occurrence, "Australia/Perth") == "Thu 7pm"


# --- SMS -----------------------------------------------------------------------------

@pytest.mark.parametrize("count", [1, 5, 12])
def test_sms_is_short_and_keeps_the_link(ctx, demo_listings, count):
    handout = make_handout(varied(demo_listings, count))
    text = render.handout_text(handout)
    assert len(text) <= render.SMS_LIMIT
    assert text.endswith(handout.url)
    assert "1) " in text


def test_sms_with_twelve_long_names_drops_detail_not_the_link(demo_listings):
    # Outside any app context too: texts are built wherever a message is sent from.
    listings = [renamed(x, x.name + " — meets in the back room of the community hall beside the library")
                for x in wordiest(demo_listings, 12)]
    handout = make_handout(listings)
    text = render.handout_text(handout)
    assert len(text) <= render.SMS_LIMIT
    assert text.endswith(handout.url)
    assert text.startswith("Demo data — fictional. Options to try: 1) ")


def test_sms_for_a_short_list_has_full_names_and_times(ctx, demo_listings):
    handout = make_handout(varied(demo_listings, 2))
    text = render.handout_text(handout)
    for item in handout.items:
        assert item.listing["name"] in text
    first = handout.items[0].next_sessions[0].start
    hour = first.hour % 12 or 12
    assert f"{first:%a} {hour}" in text
    assert "Trying more than one helps." in text


# --- iCalendar -----------------------------------------------------------------------

def test_ics_parses_with_the_listings_zones(ctx, demo_listings):
    from icalendar import Calendar

    listings = one_per_zone(demo_listings)
    assert {"Australia/Lord_Howe", "Australia/Adelaide", "Australia/Perth"} <= {x.timezone for x in listings}
    handout = make_handout(listings)
    body = render.handout_ics(handout)
    calendar = Calendar.from_ical(body)
    events = list(calendar.walk("VEVENT"))
    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}

    expected = {}
    for item in handout.items:
        for occurrence in item.next_sessions:
            expected[(item.listing["name"], occurrence.start)] = (item.listing["timezone"], occurrence)
    assert len(events) == len(expected) == sum(len(item.next_sessions) for item in handout.items)

    for event in events:
        start = event.decoded("DTSTART")
        zone, occurrence = expected[(str(event["SUMMARY"]), start)]
        assert event["DTSTART"].params["TZID"] == zone
        assert event["DTEND"].params["TZID"] == zone
        assert zone in zones
        assert start.utcoffset() == occurrence.start.utcoffset()
        assert (start.hour, start.minute) == (occurrence.start.hour, occurrence.start.minute)
        assert event.decoded("DTEND") == occurrence.end
        assert str(event["UID"]).startswith(f"{handout.code}-")
        assert "DTSTAMP" in event
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert f"DTSTART;TZID={listings[0].timezone}:".encode() in body


def test_ics_location_and_description(ctx, demo_listings):
    from icalendar import Calendar

    online = next(x for x in demo_listings if x.formats == ("online",) and x.contact.conference_url and x.sessions)
    person = varied(demo_listings, 1)[0]
    handout = make_handout([online, person])
    events = {str(e["SUMMARY"]): e for e in Calendar.from_ical(render.handout_ics(handout)).walk("VEVENT")}
    assert str(events[online.name]["LOCATION"]) == "Online"
    assert str(events[online.name]["URL"]) == online.contact.conference_url
    assert person.location.address in str(events[person.name]["LOCATION"])
    assert handout.url in str(events[person.name]["DESCRIPTION"])


def test_ics_is_stable(ctx, demo_listings):
    handout = make_handout(varied(demo_listings, 3))
    assert render.handout_ics(handout) == render.handout_ics(handout)


# --- Translation ---------------------------------------------------------------------

def _catalogue_ids() -> set[str]:
    from babel.messages.pofile import read_po

    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_english_catalogue_is_current():
    """Every message in the handout's code and templates is in the shipped English catalogue
    (else: run the Makefile's `translations` target)."""
    from babel.messages.extract import extract_from_file

    from service.i18n import extract_vocabulary

    found = set()
    for method, path in (("python", "service/render/handout.py"), ("python", "service/render/reasons.py"),
                         ("python", "service/i18n.py"),
                         ("jinja2", "service/templates/handout.html"),
                         ("jinja2", "service/templates/handout_missing.html")):
        found |= {m[1] for m in extract_from_file(method, str(ROOT / path))}
    for path in ("service/domain/vocab.py", "service/domain/programs.py"):
        found |= {m[1] for m in extract_from_file(extract_vocabulary, str(ROOT / path))}
    assert (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo").is_file()
    missing = {m if isinstance(m, str) else m[0] for m in found} - _catalogue_ids()
    assert not missing, sorted(missing)


def test_handout_is_printed_in_its_language(demo_listings, tmp_path):
    """A catalogue for the handout's language is used for the whole page: a pseudo-translation
    (every message wrapped in ‹›) shows the template, labels and helpers all go through it."""
    from babel.messages.pofile import read_po

    from tests.catalogues import app_with_catalogue

    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="vi")
    for message in catalogue:
        if message.id:
            message.string = f"‹{message.id}›"
    with app_with_catalogue(catalogue, "vi", tmp_path).app_context():
        # A Perth client: the Sydney options' times name their zone.
        handout = make_handout(varied(demo_listings, 2), language="vi", client_zone="Australia/Perth")
        html = render.handout_html(handout)
        assert '<html lang="vi" dir="ltr">' in html
        for message in ("‹Options to try›", "‹Next:›", "‹One goal for the next seven days›",
                        "‹Support group›", "‹I went›", "‹Demo data — fictional.›"):
            assert message in html
        first = handout.items[0]
        place = first.listing["timezone"].rsplit("/", 1)[-1].replace("_", " ")
        # Vietnamese CLDR times: a 24-hour clock, inside the translated "(… time)" message.
        assert f"{first.next_sessions[0].start:%H:%M} ({place} time)›" in html
        # "Why it fits" comes from the catalogue too, the goal's label inside the reason's message.
        assert "‹Fits the goal: ‹cutting down››" in html
        assert render.handout_text(handout).startswith("‹Demo data — fictional.› ‹Options to try:›")
        # An English handout in the same app stays English.
        assert "‹" not in render.handout_html(make_handout(varied(demo_listings, 1)))


def test_the_mended_parser_cache_reads_handouts_the_same(ctx, demo_listings):
    """`mend_html_parser_cache` files tinyhtml5's own patterns where its lookup finds them:
    handouts in each script parse to the same tree as with the library's cache as it is,
    and a parse after mending finds every pattern it asks for (adds none)."""
    import xml.etree.ElementTree as ElementTree

    import tinyhtml5
    from tinyhtml5 import inputstream

    pages = []
    for language in ("en", "ar", "zh_Hans", "hi", "vi"):
        handout = make_handout(wordiest(demo_listings, 4), language=language, note="Bring a friend & <ask>")
        pages.append(render._page_html(handout, render.voices(handout, True), print_on_load=False,
                                       link_stylesheet=False))
        pages.append(render.handout_html(handout))
    cache = inputstream.characters_until_regex
    kept = dict(cache)
    try:
        cache.clear()
        as_is = [ElementTree.tostring(tinyhtml5.parse(page, namespace_html_elements=False)) for page in pages]
        cache.clear()
        render.mend_html_parser_cache()
        filed = len(cache)
        mended = [ElementTree.tostring(tinyhtml5.parse(page, namespace_html_elements=False)) for page in pages]
        assert len(cache) == filed, [key for key in cache if not isinstance(key[0], (str, tuple, frozenset))]
    finally:
        cache.clear()
        cache.update(kept)
        render.mend_html_parser_cache()
    assert mended == as_is
