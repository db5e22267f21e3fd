"""What the handout says beyond the times: the note (one copy only), the seven-day goal, the
freshness warning, what a clinician checks before referring, and never a "None".

Expected dates are worked out by hand: FIXED_NOW is 26 Nov 2026, and 180 days before it is
30 May 2026 (May 30 -> 31: 1 day, June to October: 30 + 31 + 31 + 30 + 31 = 153, then 26 in
November: 180), so a listing last checked on 29 May 2026 is stale and one checked on 30 May
is not. With a 30-day threshold the line falls on 27 Oct 2026.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone

import pytest

from service.errors import CONTENT_SECURITY_POLICY
from service.referrals.handout import build_handout
from service.domain.models import Contact, FirstVisit, Source
from service.referrals.model import Referral, new_code
from service.render import handout as render
from service.domain.schemas import dump_listing
from tests.conftest import ROOT
from tests.unit.test_handout_render import PUBLIC_URL, ctx, make_handout, pdf_text, render_app  # noqa: F401 (fixtures)
from tests.unit.test_handout_times import PERTH, SYDNEY, listing, smart_online

NOTE = "Bring this to our next visit"


def _all_formats(handout, tmp_path) -> dict[str, str]:
    return {
        "html": render.handout_html(handout),
        "pdf": pdf_text(render.handout_pdf(handout), tmp_path),
        "sms": render.handout_text(handout),
        "ics": render.handout_ics(handout).decode().replace("\r\n ", ""),
    }


# --- The note: printed on this copy only ----------------------------------------------

def test_the_note_is_printed_only_when_given_for_this_copy(ctx, tmp_path):
    group = listing("group", SYDNEY, [("thu", "19:30", "21:00")])
    with_note = make_handout([group], note=NOTE)
    rendered = _all_formats(with_note, tmp_path)
    assert NOTE in rendered["html"] and NOTE in rendered["pdf"]
    assert NOTE not in rendered["sms"] and NOTE not in rendered["ics"]
    assert "The note was printed on this copy only; Linkage does not keep it." in rendered["html"]
    assert "The note was printed on this copy only; Linkage does not keep it." in rendered["pdf"]

    without = make_handout([group], note=None)
    assert without.note is None
    html = render.handout_html(without)
    assert "A note for you" not in html and "The note was printed" not in html
    assert KEPT in html


# What the link keeps, in the words the privacy notice uses.
KEPT = ("This link keeps only the options chosen, the goal, the 7-day goal, the language and the time zone: "
        "nothing that identifies you.")


def test_the_page_says_what_the_link_keeps(ctx, tmp_path):
    handout = make_handout([listing("group", SYDNEY, [("thu", "19:30", "21:00")])], note=None)
    assert KEPT in render.handout_html(handout)
    assert KEPT in pdf_text(render.handout_pdf(handout), tmp_path)


def test_print_on_load_adds_only_our_static_print_script(ctx):
    handout = make_handout([listing("group", SYDNEY, [("thu", "19:30", "21:00")])], note=NOTE)
    plain = render.handout_html(handout)
    assert "<script" not in plain.lower()
    printing = render.handout_html(handout, print_on_load=True)
    assert re.findall(r"<script[^>]*>", printing) == ['<script src="/static/handout-print.js" defer>']
    assert "<script" not in render.handout_html(handout, print_on_load=True, for_pdf=True).lower()
    script = (ROOT / "service" / "static" / "handout-print.js").read_text()
    assert "window.print()" in script
    # The page's policy lets a same-origin script run and nothing inline.
    script_src = re.search(r"script-src ([^;]+)", CONTENT_SECURITY_POLICY).group(1).split()
    assert script_src == ["'self'"]


# --- The seven-day goal -------------------------------------------------------------------

def test_a_chosen_seven_day_goal_is_printed_instead_of_the_line(ctx, tmp_path):
    group = listing("group", SYDNEY, [("thu", "19:30", "21:00")])
    chosen = make_handout([group], seven_day_goal="call_one_service")
    html = render.handout_html(chosen)
    box = html[html.index('class="goal-box"'):html.index('class="qr"')]
    assert '<p class="seven-day-goal">Call one service</p>' in box
    assert "write-here" not in box
    assert "Call one service" in pdf_text(render.handout_pdf(chosen), tmp_path)

    for key in (None, "no_longer_on_the_list"):
        box = render.handout_html(make_handout([group], seven_day_goal=key))
        assert '<div class="write-here" aria-hidden="true"></div>' in box
        assert "seven-day-goal" not in box


# --- Freshness ------------------------------------------------------------------------

def test_listings_past_the_threshold_say_check_before_you_go(ctx, tmp_path):
    stale = listing("stale", SYDNEY, [("thu", "19:30", "21:00")], verified_at="2026-05-29", updated_at="2026-11-01")
    fresh = listing("fresh", SYDNEY, [("sat", "10:00", "11:00")], verified_at="2026-05-30")
    # No verified_at: the last update is what was last checked.
    by_update = listing("by-update", SYDNEY, [("sun", "10:00", "11:00")], verified_at=None, updated_at="2026-01-31")
    handout = make_handout([stale, fresh, by_update])
    assert [item.stale_since for item in handout.items] == ["2026-05-29", None, "2026-01-31"]
    rendered = _all_formats(handout, tmp_path)
    for name in ("html", "pdf"):
        assert rendered[name].count("Check before you go: last checked") == 2, name
        assert "Check before you go: last checked 29 May 2026" in rendered[name]
        assert "Check before you go: last checked 31 Jan 2026" in rendered[name]
    assert "1) Test stale Thu 7:30pm (check before you go: last checked 29 May 2026)" in rendered["sms"]
    assert "3) Test by-update Sun 10am (check before you go: last checked 31 Jan 2026)" in rendered["sms"]
    assert "2) Test fresh Sat 10am;" in rendered["sms"]


def test_the_threshold_is_a_setting(ctx):
    older = listing("older", SYDNEY, [("thu", "19:30", "21:00")], verified_at="2026-10-26")
    newer = listing("newer", SYDNEY, [("thu", "19:30", "21:00")], verified_at="2026-10-27")
    handout = make_handout([older, newer], stale_after_days=30)
    assert [item.stale_since for item in handout.items] == ["2026-10-26", None]
    assert [item.stale_since for item in make_handout([older, newer]).items] == [None, None]


def test_sms_keeps_check_before_you_go_when_space_is_short(ctx):
    names = [f"Community recovery group number {n} meeting in the upstairs hall" for n in range(12)]
    options = [dataclasses.replace(listing(f"s{n}", SYDNEY, [("thu", "19:30", "21:00")], verified_at="2025-01-01"),
                                   name=name) for n, name in enumerate(names)]
    options[3] = dataclasses.replace(options[3], verified_at="2026-11-01")      # the one fresh option
    text = render.handout_text(make_handout(options))
    assert len(text) <= render.SMS_LIMIT
    shown = re.findall(r"(\d+)\) ", text)
    assert len(shown) >= 5
    # Too long for each date: the stale options are named together, every one that is shown.
    expected = ", ".join(n for n in shown if n != "4")
    assert f"Check {expected} before you go." in text


# --- What a clinician checks --------------------------------------------------------------

def test_referral_cost_access_and_languages_are_printed(ctx, tmp_path):
    clinic = listing("clinic", SYDNEY, [("mon", "09:00", "17:00")], kind="service", referral="gp_referral",
                     cost="fee", accessibility=("wheelchair_access", "hearing_loop"), languages=("vi", "en"))
    group = listing("group", SYDNEY, [("thu", "19:30", "21:00")], cost="low_cost", languages=("en",))
    handout = make_handout([clinic, group])
    html = render.handout_html(handout)
    first, second = html.split('id="option-2"')
    assert "<strong>Fees apply</strong> · Needs a GP referral" in first
    assert '<span class="label">Access:</span> Wheelchair access, hearing loop' in first
    assert '<span class="label">Languages:</span> Vietnamese, English' in first
    assert "<strong>Low cost</strong> · No GP referral needed" in second
    assert "Languages:" not in second and "Access:" not in second       # English alone, nothing listed
    text = pdf_text(render.handout_pdf(handout), tmp_path)
    for words in ("Fees apply · Needs a GP referral", "Access: Wheelchair access, hearing loop",
                  "Languages: Vietnamese, English", "Low cost · No GP referral needed"):
        assert words in text
    sms = render.handout_text(handout)
    assert "1) Test clinic Mon 9am–5pm ph 02 5550 0000 (GP referral needed; fees apply)" in sms
    assert "2) Test group Thu 7:30pm (low cost)" in sms


# --- Never "None" -------------------------------------------------------------------------

_EMPTY_WORDS = re.compile(r"\b(None|null|undefined|NaN)\b")


@pytest.mark.parametrize("kind", ["group", "service", "helpline"])
def test_listings_without_optional_fields_print_no_empty_words(ctx, tmp_path, kind):
    bare = listing(
        "bare", PERTH, [("tue", "18:00", "19:00")] if kind != "helpline" else (), kind=kind,
        formats=("in_person", "online", "phone"), location=None, program=None, facilitation=None, languages=(),
        accessibility=(), contact=Contact(), first_visit=FirstVisit(), source=Source(name="Test feed"),
        updated_at=None, verified_at=None, service_area=(), open_24_7=kind == "helpline",
    )
    other = listing("other", SYDNEY, [("thu", "19:30", "21:00")])
    for goal, seven in ((None, None), ("moderation", "count_days")):
        handout = make_handout([bare, other], note=None, goal=goal, seven_day_goal=seven, client_zone=SYDNEY)
        for name, text in _all_formats(handout, tmp_path).items():
            assert not _EMPTY_WORDS.search(text), (name, _EMPTY_WORDS.search(text).group(0),
                                                   text[max(0, _EMPTY_WORDS.search(text).start() - 80):][:160])
    html = render.handout_html(make_handout([bare], note=None))
    assert "Information checked on:" not in html        # no dates known: no empty line
    assert "ask for the address" in html and "ask for the link" in html


# --- Dates are the client's -----------------------------------------------------------------

# 05:14 on Sat 5 Dec 2026 in Sydney (daylight time, UTC+11) is 18:14 UTC on Fri 4 Dec. The link
# lasts 90 days: 27 more days of December, 31 of January, 28 of February and 4 of March make 90,
# so it ends at 18:14 UTC on 4 Mar 2027, which is 05:14 on 5 Mar in Sydney (still daylight time,
# which ends in April). 180 days before 5 Dec is 8 Jun (5 Jun is 183 days before), so a listing
# last checked on 7 Jun is stale for a Sydney reader; by the UTC date (4 Dec) the line would
# fall on 7 Jun and it would not be.
EARLY_MORNING = datetime(2026, 12, 4, 18, 14, tzinfo=timezone.utc)


def test_dates_are_the_clients_not_utcs(ctx, tmp_path):
    stale = listing("stale", SYDNEY, [("sat", "10:00", "11:00")], verified_at="2026-06-07")
    # Checked at 20:00 UTC on 4 Dec: 7:00 am on 5 Dec in Sydney.
    stamped = listing("stamped", SYDNEY, [("sun", "10:00", "11:00")], verified_at="2026-12-04T20:00:00+00:00")
    handout = make_handout([stale, stamped], client_zone=SYDNEY, now=EARLY_MORNING)
    rendered = _all_formats(handout, tmp_path)
    for name in ("html", "pdf"):
        assert "Made on 5 Dec 2026" in rendered[name], name
        assert "the link works until 5 Mar 2027" in rendered[name], name
        assert "4 Dec" not in rendered[name] and "4 Mar" not in rendered[name], name
        assert "information checked on 5 Dec 2026" in rendered[name], name
        assert "Check before you go: last checked 7 Jun 2026" in rendered[name], name
    assert handout.checked_on == ("2026-06-07", "2026-12-05")
    assert "1) Test stale Sat 10am (check before you go: last checked 7 Jun 2026)" in rendered["sms"]


def test_a_dead_links_check_date_is_the_clients(ctx):
    group = listing("group", SYDNEY, [("sat", "10:00", "11:00")],
                    contact=Contact(phone="02 5550 0000", website="https://example.org/gone"))
    dead = {group.id: ({"url": "https://example.org/gone", "reason": "not_found", "http_status": 404,
                        "failing_since": "2026-11-20", "checked_at": "2026-12-04T18:00:00+00:00"},)}
    referral = Referral(code=new_code(), created_at=EARLY_MORNING, expires_at=EARLY_MORNING, goal=None,
                        language="en", items=(dump_listing(group),), timezone=SYDNEY)
    handout = build_handout(referral, {group.id: (group, referral.items[0])}, EARLY_MORNING, PUBLIC_URL, dead)
    assert "A link below did not work when checked on 5 Dec 2026" in render.handout_html(handout)


# --- The dial-in number -------------------------------------------------------------------

def test_an_online_meetings_dial_in_number_is_given(ctx, tmp_path):
    handout = make_handout([smart_online()], client_zone=PERTH, note=None)
    rendered = _all_formats(handout, tmp_path)
    assert ('<span class="label">Dial in:</span> <a href="tel:0770100828" rel="nofollow noopener">07 7010 0828</a>'
            in rendered["html"])
    assert "Dial in: 07 7010 0828" in rendered["pdf"]
    assert "Dial in: 07 7010 0828" in rendered["sms"]
    assert "Dial in: 07 7010 0828" in rendered["ics"]
    # The link stays the way in; the dial-in is printed once.
    assert rendered["html"].count("07 7010 0828") == 1


def test_a_phone_meeting_prints_its_number_once(ctx):
    # Joined by phone: the conference number is how, under "By phone:", not a second line.
    phone = listing("phone", SYDNEY, [("thu", "19:30", "21:00")], formats=("phone",),
                    contact=Contact(conference_phone="02 5550 1111"))
    html = render.handout_html(make_handout([phone]))
    assert '<span class="label">By phone:</span> <a href="tel:0255501111"' in html
    assert "Dial in:" not in html


# --- Paper cannot be clicked --------------------------------------------------------------

def test_printed_copies_give_web_addresses(ctx, tmp_path):
    # In person with a phone: the website used to be left off paper as "secondary".
    group = listing("parramatta", SYDNEY, [("thu", "19:30", "21:00")],
                    contact=Contact(phone="02 5550 0000", website="https://example.org/smart-parramatta"))
    handout = make_handout([group], note=None)
    html = render.handout_html(handout)
    assert ('<span class="label">Website:</span> <a href="https://example.org/smart-parramatta" '
            'rel="nofollow noopener">example.org/smart-parramatta</a>') in html
    assert "Website: example.org/smart-parramatta" in pdf_text(render.handout_pdf(handout), tmp_path)
    # A calendar makes a link only of a whole address.
    assert "Website: https://example.org/smart-parramatta" in render.handout_ics(handout).decode().replace("\r\n ", "")
    # The page's one link whose words are not an address prints its address on paper.
    assert ('<a href="https://linkage.example/">Search for more options</a>'
            '<span class="print-only"> (linkage.example)</span>') in html
    css = (ROOT / "service" / "static" / "handout.css").read_text()
    screen, paper = css.split("@media print", 1)
    assert ".print-only { display: none; }" in screen and ".print-only { display: inline; }" in paper
