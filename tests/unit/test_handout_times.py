"""Handout times always say whose time they are, on the page, the PDF, the SMS and the calendar.

Every expected string here is worked out by hand from the fixed moment, not by the code
under test. FIXED_NOW is Thursday 26 Nov 2026, 08:00 UTC. In late November:
Sydney and Hobart keep daylight time (UTC+11, so it is 7:00 pm there), Adelaide UTC+10:30
(6:30 pm), Brisbane UTC+10 (6:00 pm), Perth UTC+8 (4:00 pm). So a Perth 6:00 pm is 9:00 pm in
Sydney, a Perth 10:00 pm is 1:00 am the next day in Sydney, and Adelaide runs half an hour
behind Sydney.
"""

from __future__ import annotations

import re
from html import unescape
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.domain.models import Contact, FirstVisit, Listing, Location, Session, Source
from service.render import handout as render
from tests.unit.test_handout_render import ctx, make_handout, pdf_text, render_app  # noqa: F401 (fixtures)

SYDNEY, PERTH, ADELAIDE = "Australia/Sydney", "Australia/Perth", "Australia/Adelaide"
PLACES = {SYDNEY: ("Sydney", "NSW", "2000"), PERTH: ("Perth", "WA", "6000"), ADELAIDE: ("Adelaide", "SA", "5000"),
          "Australia/Brisbane": ("Brisbane", "QLD", "4000")}


def listing(ident: str, zone: str, sessions=(), *, kind="group", formats=("in_person",), **more) -> Listing:
    """A listing written for these tests (not demo data), meeting or open at `sessions`
    ((weekday, start, end) in its own zone)."""
    locality, state, postcode = PLACES[zone]
    fields = dict(
        id=f"test:{ident}", kind=kind, name=f"Test {ident}", description="A test listing.",
        program=None, approach="secular_peer", goals=("moderation",), substances=("any",), formats=formats,
        audiences=("everyone",), facilitation=None, languages=("en",),
        location=Location(address="1 Test Street", locality=locality, state=state, postcode=postcode,
                          country="AU", lat=-33.0, lon=151.0) if "in_person" in formats else None,
        service_area=(state,), timezone=zone,
        sessions=tuple(Session(weekday=d, start=s, end=e) for d, s, e in sessions), open_24_7=False,
        contact=Contact(phone="02 5550 0000", conference_url="https://example.org/meet" if "online" in formats else None),
        registration_required=False, open_meeting=True, cost="free", referral="self", accessibility=(),
        first_visit=FirstVisit(), source=Source(name="Test feed"), updated_at="2026-11-01",
        verified_at="2026-11-01", status="active",
    )
    fields.update(more)
    return Listing(**fields)


# --- Which zone is the client's, and when times must name theirs ---------------------

def test_the_clients_zone_is_the_referrals_else_the_first_options():
    perth = listing("perth", PERTH, [("tue", "18:00", "19:30")])
    sydney = listing("sydney", SYDNEY, [("wed", "18:00", "19:30")])
    assert make_handout([perth, sydney], client_zone=SYDNEY).timezone == SYDNEY
    assert make_handout([perth, sydney]).timezone == PERTH
    assert make_handout([sydney], client_zone="Not/A_Zone").timezone == SYDNEY


@pytest.mark.parametrize(("zones", "client", "labelled"), [
    ((SYDNEY, SYDNEY), SYDNEY, False),       # all the client's: said once
    ((SYDNEY, PERTH), SYDNEY, True),         # mixed
    ((PERTH, PERTH), SYDNEY, True),          # one zone, not the client's
    ((PERTH,), None, False),                 # the client's zone is the first option's
])
def test_times_name_their_zone_when_any_differs_from_the_clients(zones, client, labelled):
    options = [listing(f"o{i}", zone, [("tue", "18:00", "19:30")]) for i, zone in enumerate(zones)]
    assert make_handout(options, client_zone=client).label_zones is labelled


def test_a_24_7_line_elsewhere_does_not_make_times_name_zones(ctx):
    helpline = listing("line", PERTH, kind="helpline", formats=("phone",), open_24_7=True)
    group = listing("group", SYDNEY, [("thu", "19:30", "21:00")])
    handout = make_handout([helpline, group], client_zone=SYDNEY)
    assert not handout.label_zones
    assert "All times are Sydney time." in render.handout_html(handout)


# --- The page and the PDF -------------------------------------------------------------

def test_perth_session_for_a_sydney_client_names_perth(ctx, tmp_path):
    # Next Tuesday after Thu 26 Nov is 1 Dec. In person: the time that matters is Perth's.
    perth = listing("perth", PERTH, [("tue", "18:00", "19:30")])
    sydney = listing("sydney", SYDNEY, [("thu", "19:30", "21:00")])
    handout = make_handout([perth, sydney], client_zone=SYDNEY)
    html = render.handout_html(handout)
    assert "Tue 1 Dec, 6:00 pm (Perth time)</time>" in html
    assert "Thu 26 Nov, 7:30 pm (Sydney time)</time>" in html      # mixed: the client's own are named too
    assert "All times are" not in html
    text = pdf_text(render.handout_pdf(handout), tmp_path)
    assert "Tue 1 Dec, 6:00 pm (Perth time)" in text
    assert "Thu 26 Nov, 7:30 pm (Sydney time)" in text


def test_online_session_elsewhere_leads_with_the_clients_time(ctx, tmp_path):
    # 4:00 pm now in Perth: today's 6:00 pm is still to come; it is 9:00 pm in Sydney, where
    # the client joins from, so Sydney's time comes first.
    online = listing("online", PERTH, [("thu", "18:00", "19:00"), ("thu", "22:00", "23:00")], formats=("online",))
    handout = make_handout([online], client_zone=SYDNEY)
    html = render.handout_html(handout)
    assert "Thu 26 Nov, 9:00 pm (Sydney time; 6:00 pm Perth time)" in html
    # 10:00 pm Perth is past midnight in Sydney: the client's day, then the meeting's.
    assert "Fri 27 Nov, 1:00 am (Sydney time; Thu 26 Nov, 10:00 pm Perth time)" in html
    assert "Thu 26 Nov, 9:00 pm (Sydney time; 6:00 pm Perth time)" in pdf_text(render.handout_pdf(handout), tmp_path)


# The walkthrough's case: a Perth client, an online SMART meeting at 6:00 pm Brisbane time on
# Saturdays. Brisbane keeps UTC+10 all year, Perth UTC+8, so it is 4:00 pm in Perth; the next
# Saturday after Thu 26 Nov is 28 Nov. Read as "6pm" in Perth the client would be two hours late.
BRISBANE = "Australia/Brisbane"


def smart_online():
    return listing("smart", BRISBANE, [("sat", "18:00", "19:30")], formats=("online",),
                   contact=Contact(conference_url="https://example.org/meet/smart-0318",
                                   conference_phone="07 7010 0828", website="https://example.org/smart/online"))


def test_an_online_meeting_elsewhere_gives_the_clients_time_in_every_format(ctx, tmp_path):
    handout = make_handout([smart_online()], client_zone=PERTH)
    html = render.handout_html(handout)
    assert "Sat 28 Nov, 4:00 pm (Perth time; 6:00 pm Brisbane time)</time>" in html
    assert "Sat 28 Nov, 4:00 pm (Perth time; 6:00 pm Brisbane time)" in pdf_text(render.handout_pdf(handout), tmp_path)
    sms = render.handout_text(handout)
    assert "1) Test smart Sat 4pm Perth time" in sms
    assert "6pm" not in sms and "Brisbane" not in sms
    event = next(iter(_calendar(handout).walk("VEVENT")))
    assert "When: Sat 28 Nov, 4:00 pm (Perth time; 6:00 pm Brisbane time)" in str(event["DESCRIPTION"])
    # The calendar's own time is the meeting's instant: 08:00 UTC.
    assert event.decoded("DTSTART").astimezone(ZoneInfo("UTC")).replace(tzinfo=None) == datetime(2026, 11, 28, 8, 0)
    # The footer says whose times they are, not "each option's own".
    assert "Online and phone times are in Perth time." in html
    assert "own time zone" not in html


def test_in_person_times_are_the_places_own_beside_online_ones_in_the_clients(ctx, tmp_path):
    # A Perth client: the Sydney group is gone to, so Sydney's 7:30 pm (4:30 pm in Perth) leads.
    sydney = listing("sydney", SYDNEY, [("thu", "19:30", "21:00")])
    handout = make_handout([smart_online(), sydney], client_zone=PERTH)
    html = render.handout_html(handout)
    assert "Thu 26 Nov, 7:30 pm (Sydney time)</time>" in html
    assert "Sat 28 Nov, 4:00 pm (Perth time; 6:00 pm Brisbane time)</time>" in html
    footer = "Online and phone times are in Perth time; in-person times are the place's own."
    assert footer in unescape(html) and footer in pdf_text(render.handout_pdf(handout), tmp_path)
    sms = render.handout_text(handout)
    assert "1) Test smart Sat 4pm Perth time" in sms and "2) Test sydney Thu 7:30pm Sydney time" in sms
    # Hybrid: someone may come in person, so the place's own time leads.
    hybrid = listing("hybrid", SYDNEY, [("thu", "19:30", "21:00")], formats=("in_person", "online"))
    assert "Thu 26 Nov, 7:30 pm (Sydney time)</time>" in render.handout_html(make_handout([hybrid], client_zone=PERTH))


def test_a_phone_lines_hours_move_to_the_clients_days(ctx):
    # Perth 10:00 pm – 11:30 pm Monday is 1:00 am – 2:30 am Tuesday in Sydney (UTC+11 v UTC+8).
    late = listing("late-line", PERTH, [("mon", "22:00", "23:30")], kind="helpline", formats=("phone",))
    handout = make_handout([late], client_zone=SYDNEY)
    assert "Tue, 1:00 am – 2:30 am (Sydney time)</td>" in render.handout_html(handout)
    assert "1) Test late-line Tue 1am–2:30am Sydney time" in render.handout_text(handout)
    # 8:00 pm – 11:00 pm Perth would be 11:00 pm – 2:00 am in Sydney, over two days: the line's
    # own hours are kept, named, rather than a span that reads as ending before it starts.
    evening = listing("evening-line", PERTH, [("mon", "20:00", "23:00")], kind="helpline", formats=("phone",))
    handout = make_handout([evening], client_zone=SYDNEY)
    assert "Mon, 8:00 pm – 11:00 pm (Perth time)</td>" in render.handout_html(handout)
    assert "1) Test evening-line Mon 8pm–11pm Perth time" in render.handout_text(handout)


def test_all_in_the_clients_zone_says_it_once(ctx, tmp_path):
    # 7:00 pm now in Sydney: tonight's 7:30 pm session is next.
    first = listing("first", SYDNEY, [("thu", "19:30", "21:00")])
    second = listing("second", SYDNEY, [("sat", "10:00", "11:00")])
    handout = make_handout([first, second], client_zone=SYDNEY)
    html = render.handout_html(handout)
    assert "Thu 26 Nov, 7:30 pm</time>" in html
    assert "Sat 28 Nov, 10:00 am</time>" in html
    assert html.count("Sydney time") == 1 and "All times are Sydney time." in html
    assert "own time zone" not in html
    text = pdf_text(render.handout_pdf(handout), tmp_path)
    assert "All times are Sydney time." in text and text.count("Sydney time") == 1


def test_opening_hours_name_the_zone_and_the_clients_hours(ctx):
    # Adelaide is half an hour behind Sydney in November; Perth three hours.
    adelaide = listing("sa-line", ADELAIDE, [(d, "09:00", "17:00") for d in ("mon", "tue", "wed", "fri")]
                       + [("sat", "10:00", "14:00"), ("sun", "10:00", "14:00")], kind="helpline", formats=("phone",))
    perth = listing("wa-clinic", PERTH, [(d, "08:30", "16:30") for d in ("mon", "tue", "wed", "thu", "fri")],
                    kind="service", formats=("in_person",))
    handout = make_handout([adelaide, perth], client_zone=SYDNEY)
    html = render.handout_html(handout)
    # A phone line is called from where the client is: Sydney's hours first.
    assert "Mon–Wed, Fri, 9:30 am – 5:30 pm (Sydney time; 9:00 am – 5:00 pm Adelaide time)" in html
    assert "Sat, Sun, 10:30 am – 2:30 pm (Sydney time; 10:00 am – 2:00 pm Adelaide time)" in html
    # In person: the clinic's own hours only.
    assert "Mon–Fri, 8:30 am – 4:30 pm (Perth time)</td>" in html
    assert "Next:" not in html                  # hours, not a "next session" of a service


# --- SMS ------------------------------------------------------------------------------

def test_sms_says_perth_time_not_a_bare_hour(ctx):
    perth = listing("perth", PERTH, [("tue", "18:00", "19:30")])
    sydney = listing("sydney", SYDNEY, [("thu", "19:30", "21:00")])
    text = render.handout_text(make_handout([perth, sydney], client_zone=SYDNEY))
    assert "1) Test perth Tue 6pm Perth time" in text
    assert "2) Test sydney Thu 7:30pm Sydney time" in text
    assert "All times are" not in text


def test_sms_in_the_clients_zone_says_it_once(ctx):
    first = listing("first", SYDNEY, [("thu", "19:30", "21:00")])
    second = listing("second", SYDNEY, [("sat", "10:00", "11:00")])
    text = render.handout_text(make_handout([first, second], client_zone=SYDNEY))
    assert "1) Test first Thu 7:30pm; 2) Test second Sat 10am." in text
    assert text.count("Sydney time") == 1 and "All times are Sydney time." in text


def test_sms_gives_a_services_hours_and_number(ctx):
    perth = listing("wa-clinic", PERTH, [(d, "08:30", "16:30") for d in ("mon", "tue", "wed", "thu", "fri")],
                    kind="service")
    text = render.handout_text(make_handout([perth], client_zone=SYDNEY))
    assert "1) Test wa-clinic Mon–Fri 8:30am–4:30pm Perth time ph 02 5550 0000" in text


# --- Calendar -------------------------------------------------------------------------

def _calendar(handout):
    from icalendar import Calendar

    return Calendar.from_ical(render.handout_ics(handout))


def test_group_sessions_are_timed_events_in_their_zone(ctx):
    perth = listing("perth", PERTH, [("tue", "18:00", "19:30")])
    events = list(_calendar(make_handout([perth], client_zone=SYDNEY)).walk("VEVENT"))
    assert len(events) == 3
    first = min(events, key=lambda e: e.decoded("DTSTART"))
    assert first["DTSTART"].params["TZID"] == PERTH
    assert first.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 12, 1, 18, 0)
    assert first.decoded("DTEND").replace(tzinfo=None) == datetime(2026, 12, 1, 19, 30)
    assert str(first.get("TRANSP", "OPAQUE")) == "OPAQUE"
    assert "When: Tue 1 Dec, 6:00 pm (Perth time)" in str(first["DESCRIPTION"])


def test_helplines_and_opening_hours_are_free_all_day_notes(ctx):
    helpline = listing("line", SYDNEY, kind="helpline", formats=("phone",), open_24_7=True)
    clinic = listing("clinic", PERTH, [(d, "09:00", "17:00") for d in ("mon", "tue", "wed", "thu", "fri")],
                     kind="service")
    daytime_line = listing("day-line", ADELAIDE, [(d, "09:00", "21:00") for d in ("mon", "tue", "wed", "thu", "fri")],
                           kind="helpline", formats=("phone",))
    group = listing("group", SYDNEY, [("thu", "19:30", "21:00")])
    calendar = _calendar(make_handout([helpline, clinic, daytime_line, group], client_zone=SYDNEY))
    events = list(calendar.walk("VEVENT"))
    notes = [e for e in events if not isinstance(e.decoded("DTSTART"), datetime)]
    timed = [e for e in events if isinstance(e.decoded("DTSTART"), datetime)]
    assert len(notes) == 3 and len(timed) == 3
    assert all("group" in str(e["SUMMARY"]) for e in timed)
    for note in notes:
        # All day on the day the handout was made (26 Nov in Sydney), shown as free time.
        assert note.decoded("DTSTART") == date(2026, 11, 26)
        assert note.decoded("DTEND") == date(2026, 11, 27)
        assert str(note["TRANSP"]) == "TRANSPARENT"
        assert str(note["X-MICROSOFT-CDO-BUSYSTATUS"]) == "FREE"
    by_name = {str(n["SUMMARY"]): str(n["DESCRIPTION"]) for n in notes}
    assert "Open 24/7" in by_name["To contact: Test line"]
    assert "Hours: Mon–Fri, 9:00 am – 5:00 pm (Perth time)" in by_name["To contact: Test clinic"]
    # A phone line elsewhere: the client's hours, then its own.
    assert "Hours: Mon–Fri, 9:30 am – 9:30 pm (Sydney time; 9:00 am – 9:00 pm Adelaide time)" \
        in by_name["To contact: Test day-line"]
    # No event blocks out more than a group session's length.
    assert all(e.decoded("DTEND") - e.decoded("DTSTART") <= timedelta(hours=2) for e in timed)


def test_every_calendar_time_names_its_zone(ctx):
    group = listing("group", PERTH, [("tue", "18:00", "19:30")])
    clinic = listing("clinic", ADELAIDE, [("mon", "09:00", "17:00")], kind="service")
    body = render.handout_ics(make_handout([group, clinic], client_zone=SYDNEY)).decode()
    unfolded = body.replace("\r\n ", "")
    assert re.findall(r"^DTSTART;TZID=([^:]+):", unfolded, re.M) == [PERTH] * 3
    # Every clock time written in a description is followed by whose time it is.
    for line in re.findall(r"^DESCRIPTION:.*$", unfolded, re.M):
        for match in re.finditer(r"\d{1,2}:\d\d [ap]m", line):
            following = line[match.end():match.end() + 60]
            assert re.match(r"( – \d{1,2}:\d\d [ap]m)? \((Perth|Adelaide) time", following), line
