"""Rendering a handout (`service.referrals.handout.Handout`): HTML page, A4 PDF, SMS text, iCalendar.

The HTML and the PDF come from one template (`handout.html`), so what is printed from the
browser and what is downloaded are the same page. Everything the template shows is
prepared here as plain strings (`item_view`), already translated, so the template only
lays out and Jinja's autoescaping is the one place listing text meets markup.

Listing text is untrusted (it comes from feeds): it is escaped in HTML, never fetched
by the PDF engine (`pdf_url_fetcher` serves our static folder and refuses everything
else), stripped of control characters everywhere, and only http(s) addresses become links.

`handout_html` and `missing_html` need an app context of an app set up with
`service.i18n.init_i18n` (the views have one); `handout_text` and `handout_ics` work
anywhere (outside an app they speak English).
"""

from __future__ import annotations

import atexit
import dataclasses
import gc
import logging
import mimetypes
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import segno
from babel import Locale
from babel.dates import format_date, format_time
from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, get_locale, gettext as _
from markupsafe import Markup

from service import i18n
from service.referrals.handout import (Handout, HandoutItem, clock_minutes, hours_shift, keeps_hours, lead_zone, local_date,
                       remote_only)
from service.domain.models import Occurrence, Reason
from service.errors import PdfUnavailable
from service.referrals.model import DEFAULT_LIFETIME, SEVEN_DAY_GOALS
from service.render import fontsets, print_fonts
from service.render.reasons import reason_text

log = logging.getLogger("linkage")

STATIC = Path(__file__).resolve().parent.parent / "static"
STYLESHEET = "handout.css"
PRINT_SCRIPT = "handout-print.js"
# The PDF's stylesheet is named with a scheme of our own: WeasyPrint passes it to our
# fetcher, which reads it from the static folder; no server, no file path in the HTML.
PDF_STATIC_SCHEME = "linkage-static:"
# And the compact Han fonts (`print_fonts`), from the installation's print-fonts folder.
PDF_FONT_SCHEME = "linkage-print-font:"
SMS_LIMIT = 480
# The English short form after a translated SMS: enough for the clinician to check it, not a
# second message of the same length (a translated SMS is UCS-2 for most languages: 67 a segment).
SMS_ENGLISH_LIMIT = 200
MAX_SESSIONS = 3
# Names in a static file: letters, digits, dot, dash, underscore; no leading dot, no slash,
# so a fetched name can never climb out of the static folder.
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_SPACES = re.compile(r"\s+")
# Format characters that spell words (Persian, Indic scripts, emoji), so are kept.
_JOINERS = frozenset("\u200c\u200d")


# --- Plain text helpers --------------------------------------------------------------

def clean(text: str | None, *, keep_newlines: bool = False) -> str:
    """Listing or note text made safe to print: control and format characters removed
    (NUL, escape sequences, bidi overrides that could disguise a name), spaces collapsed.
    """
    if not text:
        return ""
    kept = []
    for ch in str(text):
        if ch == "\n" and keep_newlines:
            kept.append(ch)
        elif ch in _JOINERS:
            kept.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            kept.append(" " if ch in "\t\r\n\x0b\x0c" else "")
        else:
            kept.append(ch)
    joined = "".join(kept)
    if keep_newlines:
        lines = (_SPACES.sub(" ", line).strip() for line in joined.split("\n"))
        return "\n".join(line for line in lines if line)
    return _SPACES.sub(" ", joined).strip()


def web_link(url: str | None) -> str | None:
    """The address when it is an http(s) URL with a host, else None: a feed's
    `javascript:` or `data:` "website" must never become a clickable link."""
    text = clean(url)
    if not text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:              # e.g. "http://[not-an-address"
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def tel_link(number: str | None) -> str | None:
    """A `tel:` link for a phone number (digits and a leading +), or None if it has no digits.
    Words end the number: "1800 250 015 (option 2)" dials 1800250015."""
    text = re.split(r"[^\W\d_]", clean(number), maxsplit=1)[0]
    digits = re.sub(r"[^\d+]", "", text)
    return f"tel:{digits}" if re.search(r"\d", digits) else None


def short_address(url: str | None) -> str:
    """A web address as printed, for typing from paper: without "https://" and a bare
    trailing slash ("example.org/smart-parramatta"); anything else as it is (cleaned)."""
    text = clean(url)
    if not web_link(text):
        return text
    short = re.sub(r"^https?://", "", text, flags=re.I)
    return short[:-1] if short.endswith("/") and short.count("/") == 1 else short


def shorten(text: str, limit: int | None) -> str:
    """Text cut to `limit` characters at a word boundary, with an ellipsis when cut."""
    if limit is None or len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:—-(") + "…"


def zone_place(zone_name: str) -> str:
    """The place part of an IANA zone, for "(Sydney time)": Australia/Broken_Hill -> Broken Hill."""
    return zone_name.rsplit("/", 1)[-1].replace("_", " ")


def place_in(zone_name: str, language: str) -> str:
    """`zone_place` as printed in a sentence of `language`: in a right-to-left language the
    (Latin) place name is a directional isolate (FSI ... PDI), so the parentheses and words
    around it keep their order ("(بتوقيت Sydney)" does not turn into "(Sydney (بتوقيت")."""
    place = zone_place(zone_name)
    return f"\u2068{place}\u2069" if i18n.direction(language) == "rtl" else place


def site_base(handout: Handout) -> str:
    """The public site's base URL (with a trailing slash), from the handout's own URL."""
    return handout.url.rsplit("/r/", 1)[0].rstrip("/") + "/"


# --- Dates and times -----------------------------------------------------------------

def _locale(language: str) -> Locale:
    return Locale.parse(i18n.negotiate(language))


def clock(moment: datetime, language: str = "en", *, compact: bool = False) -> str:
    """Time of day as people write it: "7:00 pm" in English (Australian house style; with
    `compact`, "7pm" / "6:30pm" for SMS), the locale's own short time otherwise."""
    locale = _locale(language)
    if locale.language != "en":
        # CLDR puts narrow no-break spaces in some times; plain spaces print and text everywhere.
        return format_time(moment, "short", locale=locale).replace("\u202f", " ")
    hour = moment.hour % 12 or 12
    half = "am" if moment.hour < 12 else "pm"
    if compact:
        return f"{hour}{half}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{half}"
    return f"{hour}:{moment.minute:02d} {half}"


def _day(moment, language: str) -> str:
    return format_date(moment, "EEE d MMM", locale=_locale(language))


def session_label(occurrence: Occurrence, zone_name: str, language: str = "en", *,
                  show_zone: bool = True, other_zone: str | None = None) -> str:
    """One session in `zone_name` (the zone its times lead with): "Tue 3 Dec, 7:00 pm (Sydney
    time)"; without `show_zone` "Tue 3 Dec, 7:00 pm" (the handout says once whose time it is).
    With an `other_zone` (the option's own, when its times lead with the client's), that time
    follows: "Tue 3 Dec, 4:00 pm (Perth time; 6:00 pm Brisbane time)"."""
    start = occurrence.start.astimezone(ZoneInfo(zone_name))
    day, time_text = _day(start, language), clock(start, language)
    if other_zone and other_zone != zone_name:
        theirs = start.astimezone(ZoneInfo(other_zone))
        other = clock(theirs, language)
        if theirs.date() != start.date():
            other = _("%(day)s, %(time)s", day=_day(theirs, language), time=other)
        text = _("%(day)s, %(time)s (%(place)s time; %(other)s %(other_place)s time)", day=day,
                 time=time_text, place=place_in(zone_name, language), other=other,
                 other_place=place_in(other_zone, language))
    elif show_zone:
        text = _("%(day)s, %(time)s (%(place)s time)", day=day, time=time_text, place=place_in(zone_name, language))
    else:
        text = _("%(day)s, %(time)s", day=day, time=time_text)
    return text + " — " + _("on now") if occurrence.in_progress else text


def short_session(occurrence: Occurrence, zone_name: str, language: str = "en", *, dated: bool = False) -> str:
    """One session for SMS in `zone_name` (the one its times lead with): "Tue 7pm" (a weekly
    session's next one), or with `dated` "Sat 5 Dec 10am" (a monthly one, where the weekday alone misleads)."""
    start = occurrence.start.astimezone(ZoneInfo(zone_name))
    day = format_date(start, "EEE d MMM" if dated else "EEE", locale=_locale(language))
    return f"{day} {clock(start, language, compact=True)}"


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _monthly_words() -> dict:
    return {"first": _("first"), "second": _("second"), "third": _("third"), "fourth": _("fourth"),
            "last": _("last")}


def _day_runs(indices: list[int], language: str) -> str:
    """Weekdays as people write them: "Mon–Fri", "Sat, Sun", "Every day"."""
    if len(indices) == 7:
        return _("Every day")
    names = _locale(language).days["format"]["abbreviated"]
    runs: list[list[int]] = []
    for index in sorted(indices):
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    parts = []
    for run in runs:
        # Three days or more read better as a range; two as a pair.
        parts.append(f"{names[run[0]]}–{names[run[-1]]}" if len(run) > 2
                     else ", ".join(names[i] for i in run))
    return ", ".join(parts)


def _clock_at(minute: int, language: str, compact: bool = False) -> str:
    minute %= 24 * 60
    return clock(datetime(2000, 1, 1, minute // 60, minute % 60), language, compact=compact)


def hours_lines(listing: dict, language: str = "en", *, show_zone: bool = True,
                client_zone: str | None = None, at: datetime | None = None,
                compact: bool = False) -> tuple[str, ...]:
    """Opening hours, one line per span of days: "Mon–Fri, 9:00 am – 5:00 pm (Perth time)".

    With a `client_zone` and a moment `at`, the hours lead with the zone `lead_zone` chooses:
    an option joined from wherever the client is gives the client's hours first, its own
    after ("Mon–Fri, 9:30 am – 5:30 pm (Sydney time; 9:00 am – 5:00 pm Adelaide time)", the
    days moved when the shift crosses midnight, its own hours only when they fall on the
    same days); one the client goes to gives its own alone. `compact` writes
    "Mon–Fri 9am–5pm" for SMS, in the lead zone, never naming it (the caller does).
    """
    zone_name = listing.get("timezone") or ""
    lead = lead_zone(listing, client_zone, at) if client_zone and at is not None else zone_name
    # Minutes added to the listing's clock to read the lead zone's.
    to_lead = hours_shift(listing, client_zone, at) if lead != zone_name else 0
    spans: dict[tuple, list[int]] = {}
    for session in listing.get("sessions") or ():
        if session.get("weekday") not in _WEEKDAYS:
            continue
        try:
            first, last = clock_minutes(session.get("start") or ""), clock_minutes(session.get("end") or "")
        except ValueError:
            continue
        # A span moved wholly past midnight (lead_zone has checked none is split) moves its day.
        days_moved = (first + to_lead) // (24 * 60)
        key = (first + to_lead - days_moved * 24 * 60, last + to_lead - days_moved * 24 * 60, session.get("monthly"))
        spans.setdefault(key, []).append((_WEEKDAYS.index(session["weekday"]) + days_moved) % 7)
    lines = []
    for (first, last), monthly, days in ((k[:2], k[2], v) for k, v in
                                         sorted(spans.items(), key=lambda kv: (min(kv[1]), kv[0][0]))):
        if monthly:
            names = _locale(language).days["format"]["abbreviated"]
            day_text = ", ".join(_("%(rule)s %(day)s of the month", rule=_monthly_words().get(monthly, monthly),
                                   day=names[d]) for d in sorted(days))
        else:
            day_text = _day_runs(days, language)
        if compact:
            lines.append(f"{day_text} {_clock_at(first, language, True)}–{_clock_at(last, language, True)}")
            continue
        span = f"{_clock_at(first, language)} – {_clock_at(last, language)}"
        text = _("%(days)s, %(hours)s", days=day_text, hours=span)
        if show_zone or lead != zone_name:
            place = place_in(lead, language)
            # The option's own hours in the same line only when they fall on the same days.
            if lead != zone_name and 0 <= first - to_lead and last - to_lead <= 24 * 60:
                own = f"{_clock_at(first - to_lead, language)} – {_clock_at(last - to_lead, language)}"
                text += " " + _("(%(place)s time; %(other)s %(other_place)s time)", place=place, other=own,
                                other_place=place_in(zone_name, language))
            else:
                text += " " + _("(%(place)s time)", place=place)
        lines.append(text)
    return tuple(lines)


def checked_label(value: str | None, language: str = "en") -> str:
    """An "information checked on" date as "11 Mar 2026" (the stored text if it is not ISO)."""
    text = clean(value)
    try:
        return format_date(date.fromisoformat(text[:10]), "d MMM y", locale=_locale(language))
    except ValueError:
        return text


# --- One option, ready to print ------------------------------------------------------

@dataclass(frozen=True)
class JoinLine:
    """One way to join: a label ("By phone:"), the value, and a link when it is safe."""

    label: str
    value: str                          # as printed: a web address without its scheme
    href: str | None = None

    def full(self) -> str:
        """The value where nothing is clickable as a link on a page is (a calendar's notes):
        a web address in full, with its scheme, so calendars make it a link."""
        return self.href if self.href and not self.href.startswith("tel:") else self.value


@dataclass(frozen=True)
class SessionView:
    """A next session: ISO start for `<time datetime>`, and its words."""

    iso: str
    text: str


@dataclass(frozen=True)
class ItemView:
    """Everything the template prints for one option, as plain (unescaped) strings."""

    number: int
    listing_id: str
    name: str
    status: str
    status_note: str | None
    link_note: str | None
    kind: str
    program: str | None
    approach: str
    explainer: str | None
    formats: str
    why: tuple[str, ...]
    sessions: tuple[SessionView, ...]
    hours: tuple[str, ...]              # opening hours of a service or helpline (instead of sessions)
    no_sessions: str | None
    join: tuple[JoinLine, ...]
    registration: str
    first_visit: tuple[str, ...]
    what_to_expect: str | None
    cost: str
    referral: str                       # whether a GP referral is needed
    access: str | None                  # accessibility, when the listing says
    languages: str | None               # languages spoken, when not English alone
    stale: str | None                   # "Check before you go: last checked ..."
    source: str
    checked: str | None
    demo: bool


def status_note(status: str) -> str | None:
    """What to tell the reader about an option that changed or went since the handout was made."""
    if status == "changed":
        return _("This listing has changed since the handout was made — check the details")
    if status == "removed":
        return _("This option is no longer listed")
    return None


def link_note(dead_links, zone_name: str = "Australia/Sydney", language: str = "en") -> str | None:
    """What to tell the reader when a link on an option did not work at the last check (the
    check's date in `zone_name`, the client's)."""
    if not dead_links:
        return None
    checked = max(local_date(link["checked_at"], zone_name) or "" for link in dead_links)
    return _("A link below did not work when checked on %(date)s — phone or check before relying on it",
             date=checked_label(checked, language))


def cost_label(cost: str | None) -> str:
    """The cost in plain words."""
    return {"free": _("Free"), "low_cost": _("Low cost"), "fee": _("Fees apply")}.get(
        cost or "", clean(cost).replace("_", " ").capitalize())


def address_text(location: dict | None) -> str:
    """A one-line address: "21 Pattern Place, Sydney NSW 2000"."""
    if not location:
        return ""
    place = " ".join(clean(location.get(k)) for k in ("locality", "state", "postcode") if location.get(k))
    return ", ".join(part for part in (clean(location.get("address")), place) if part)


def join_lines(listing: dict) -> tuple[JoinLine, ...]:
    """How to join, format by format: the address, the online link, the phone line."""
    contact = listing.get("contact") or {}
    formats = listing.get("formats") or ()
    lines: list[JoinLine] = []
    phone_shown = False
    if "in_person" in formats:
        address = address_text(listing.get("location"))
        if address and (listing.get("location") or {}).get("approximate"):
            address += " " + _("(area only — ask for the exact place)")
        lines.append(JoinLine(_("In person:"), address or _("ask for the address")))
    if "online" in formats:
        link = contact.get("conference_url") or contact.get("website")
        if link:
            lines.append(JoinLine(_("Online — link:"), short_address(link), web_link(link)))
        else:
            lines.append(JoinLine(_("Online — link:"), _("ask for the link")))
    conference_phone = clean(contact.get("conference_phone"))
    if "phone" in formats:
        number = contact.get("conference_phone") or contact.get("phone")
        if number:
            phone_shown = number == contact.get("phone")
            conference_phone = ""           # it is the number printed "By phone:"
            lines.append(JoinLine(_("By phone:"), clean(number), tel_link(number)))
    if conference_phone:
        # An online meeting's dial-in: the way in without a screen or data.
        lines.append(JoinLine(_("Dial in:"), conference_phone, tel_link(conference_phone)))
    if contact.get("phone") and not phone_shown:
        lines.append(JoinLine(_("Phone:"), clean(contact["phone"]), tel_link(contact["phone"])))
    website = contact.get("website")
    if website and website != contact.get("conference_url") and not (
        "online" in formats and not contact.get("conference_url")
    ):
        # Printed as well as linked: paper cannot be clicked, so the address is the text.
        lines.append(JoinLine(_("Website:"), short_address(website), web_link(website)))
    if contact.get("registration_url"):
        url = contact["registration_url"]
        lines.append(JoinLine(_("Register:"), short_address(url), web_link(url)))
    return tuple(lines)


def registration_text(listing: dict) -> str:
    """Whether to register first or just turn up (and whether a GP referral is needed)."""
    if listing.get("registration_required"):
        text = _("Registration needed — contact them before you go")
    elif listing.get("kind") == "group":
        text = _("No registration needed — you can just turn up")
    else:
        text = _("No registration needed")
    return text


def referral_text(listing: dict) -> str:
    """Whether a GP referral is needed, in plain words."""
    if listing.get("referral") == "gp_referral":
        return _("Needs a GP referral")
    return _("No GP referral needed")


def _accessibility_words() -> dict:
    # Lower case (bar the proper noun) because they are printed as one list.
    return {
        "wheelchair_access": _("wheelchair access"),
        "accessible_toilet": _("accessible toilet"),
        "hearing_loop": _("hearing loop"),
        "auslan_interpreter": _("Auslan interpreter"),
        "parking": _("parking"),
        "public_transport": _("near public transport"),
    }


def access_text(listing: dict) -> str | None:
    """The listing's accessibility as one list ("Wheelchair access, hearing loop"), or None."""
    words = _accessibility_words()
    found = [words.get(value) or clean(value).replace("_", " ") for value in listing.get("accessibility") or ()]
    found = [word for word in dict.fromkeys(found) if word]
    if not found:
        return None
    text = ", ".join(found)
    return text[0].upper() + text[1:]


def languages_text(listing: dict, language: str = "en") -> str | None:
    """The languages spoken, named in the handout's language ("Vietnamese, English"); None
    when the listing says nothing or English alone (the default a reader assumes)."""
    codes = [clean(code) for code in listing.get("languages") or () if clean(code)]
    if not codes or set(codes) == {"en"}:
        return None
    names = _locale(language).languages
    return ", ".join(dict.fromkeys(names.get(code.replace("-", "_")) or names.get(code.split("-")[0]) or code
                                   for code in codes))


def stale_note(item: HandoutItem, language: str = "en") -> str | None:
    """"Check before you go: last checked 3 Mar 2026" for an option past the freshness threshold."""
    if not item.stale_since:
        return None
    return _("Check before you go: last checked %(date)s", date=checked_label(item.stale_since, language))


def first_visit_notes(listing: dict) -> tuple[str, ...]:
    """What a newcomer may worry about, answered when the listing says (unknown: not mentioned)."""
    visit = listing.get("first_visit") or {}
    notes = []
    using = visit.get("can_attend_while_using")
    if using is True:
        notes.append(_("You can come while still using"))
    elif using is False:
        notes.append(_("Asks that you come not affected by alcohol or drugs"))
    # Cameras only matter where there is a screen.
    if "online" in (listing.get("formats") or ()):
        camera = visit.get("camera_optional")
        if camera is True:
            notes.append(_("Camera optional"))
        elif camera is False:
            notes.append(_("Camera on expected"))
    speak = visit.get("no_need_to_speak")
    if speak is True:
        notes.append(_("No need to speak"))
    elif speak is False:
        notes.append(_("You may be invited to say a few words"))
    return tuple(notes)


# Reasons the card already shows elsewhere (the cost in bold, "on now" beside the session,
# the session times themselves); "Starts in 40 min" would also be stale on paper.
_SHOWN_ELSEWHERE = frozenset({"free", "on_now", "open_24_7", "starts_in"})


def shown_reason(reason: Reason) -> bool:
    """True for a "why it fits" reason the card prints; False for those it shows otherwise."""
    return reason.code not in _SHOWN_ELSEWHERE


def time_zones(listing: dict, client_zone: str | None, at: datetime | None) -> tuple[str, str | None]:
    """The zone an option's times lead with (`service.referrals.handout.lead_zone`) and the one that
    follows, if any: (client's, option's own) for an option joined from elsewhere; (the
    place's, None) for one the client goes to, or in the client's own zone."""
    own = listing["timezone"]
    if not client_zone or at is None:
        return own, None
    lead = lead_zone(listing, client_zone, at)
    return lead, (own if lead != own else None)


def item_view(number: int, item: HandoutItem, language: str = "en", *, explain: bool = True,
              show_zone: bool = True, client_zone: str | None = None, at: datetime | None = None) -> ItemView:
    """One option as the template prints it; `explain=False` leaves out the program's
    explainer (already printed for an earlier option of the same program). Times name their
    zone with `show_zone`; an option joined from home gives them in `client_zone` first, its
    own after (`time_zones`)."""
    listing = item.listing
    source = listing.get("source") or {}
    lead, other = time_zones(listing, client_zone, at)
    dates_zone = client_zone or listing["timezone"]     # dates are the client's calendar's
    hours = (hours_lines(listing, language, show_zone=show_zone, client_zone=client_zone, at=at)
             if keeps_hours(listing) else ())
    sessions = () if hours else tuple(
        SessionView(o.start.isoformat(), session_label(o, lead, language, show_zone=show_zone, other_zone=other))
        for o in item.next_sessions[:MAX_SESSIONS]
    )
    no_sessions = None
    if not sessions and not hours:
        no_sessions = _("Open 24/7") if listing.get("open_24_7") else _("No set times — contact them to arrange")
    return ItemView(
        number=number,
        listing_id=listing["id"],
        name=clean(listing.get("name")),
        status=item.status,
        status_note=status_note(item.status),
        link_note=link_note(item.dead_links, dates_zone, language),
        kind=i18n.label(listing["kind"]) if listing.get("kind") else "",
        program=clean(listing.get("program")) or None,
        approach=i18n.label(listing["approach"]) if listing.get("approach") else "",
        explainer=(clean(i18n.explainer(item.explainer)) or None) if explain else None,
        formats=", ".join(i18n.label(f) for f in listing.get("formats") or ()),
        why=tuple(clean(reason_text(reason)) for reason in item.why if shown_reason(reason)),
        sessions=sessions,
        hours=hours,
        no_sessions=no_sessions,
        join=join_lines(listing),
        registration=registration_text(listing),
        first_visit=first_visit_notes(listing),
        what_to_expect=clean((listing.get("first_visit") or {}).get("what_to_expect")) or None,
        cost=cost_label(listing.get("cost")),
        referral=referral_text(listing),
        access=access_text(listing),
        languages=languages_text(listing, language),
        stale=stale_note(item, language),
        source=clean(source.get("name")),
        checked=checked_label(local_date(listing.get("verified_at") or listing.get("updated_at"), dates_zone),
                              language) or None,
        demo=clean(source.get("name")).startswith("Demo data"),
    )


def item_views(handout: Handout, language: str = "en") -> list[ItemView]:
    """Every option in order; a program's explainer is printed once, at its first option,
    so a page of three AA meetings does not say the same paragraph three times."""
    views, explained = [], set()
    for number, item in enumerate(handout.items, 1):
        program = item.listing.get("program")
        views.append(item_view(number, item, language, explain=program not in explained,
                               show_zone=handout.label_zones, client_zone=handout.timezone,
                               at=handout.created_at))
        if item.explainer:
            explained.add(program)
    return views


@lru_cache(maxsize=256)
def qr_svg(url: str) -> Markup:
    """The handout's URL as an inline SVG QR code (segno, error correction at least M)."""
    # Our own generated markup (paths only, no text from listings), so it is marked safe.
    return Markup(segno.make(url, error="m").svg_inline(omitsize=True, svgclass="qr-code", border=2))


# --- HTML and PDF --------------------------------------------------------------------

def _static_href(name: str) -> str:
    if has_request_context() and "pages" in current_app.blueprints:
        return url_for("pages.static", filename=name)
    return "/static/" + name


def _stylesheet_href(for_pdf: bool) -> str:
    if for_pdf:
        return PDF_STATIC_SCHEME + STYLESHEET
    return _static_href(STYLESHEET)


def seven_day_goal_words(key: str | None) -> str | None:
    """The client's goal for the next seven days in the handout's language, or None (also
    for a key no longer on the list, which leaves the line blank to write on)."""
    words = SEVEN_DAY_GOALS.get(key or "")
    return _(words) if words else None


def zone_note(handout: Handout) -> str | None:
    """"All times are Sydney time": said once when no time names its own zone and any is printed."""
    if handout.label_zones or not any(item.listing.get("sessions") for item in handout.items):
        return None
    return _("All times are %(place)s time.", place=place_in(handout.timezone, str(get_locale() or "en")))


def times_note(handout: Handout) -> str | None:
    """Whose times the page gives, when they name their zones (`zone_note` says it otherwise):
    "Online and phone times are in Perth time; in-person times are the place's own." None when
    nothing is timed or all times are the client's (said once by `zone_note`)."""
    if zone_note(handout) or not handout.label_zones:
        return None
    timed = [item.listing for item in handout.items if item.listing.get("sessions")]
    joined_from_home = any(time_zones(x, handout.timezone, handout.created_at)[0] == handout.timezone
                           and remote_only(x) for x in timed)
    gone_to = any(not remote_only(x) for x in timed)
    place = place_in(handout.timezone, str(get_locale() or "en"))
    if joined_from_home and gone_to:
        return _("Online and phone times are in %(place)s time; in-person times are the place's own.", place=place)
    if joined_from_home:
        return _("Online and phone times are in %(place)s time.", place=place)
    if gone_to:
        return _("In-person times are the place's own.")
    return None


def client_date(moment: datetime, handout: Handout) -> date:
    """The date of `moment` on the client's calendar (a stored UTC time of 18:14 on 4 Dec is
    5 Dec in Sydney)."""
    return moment.astimezone(ZoneInfo(handout.timezone)).date()


def handout_context(handout: Handout, language: str, for_pdf: bool) -> dict:
    """The template's variables (plain strings and views; the template adds no logic)."""
    return {
        "handout": handout,
        "language": language,
        "for_pdf": for_pdf,
        "stylesheet": _stylesheet_href(for_pdf),
        "items": item_views(handout, language),
        "goal": i18n.label(handout.goal) if handout.goal else None,
        "seven_day_goal": seven_day_goal_words(handout.seven_day_goal),
        "zone_note": zone_note(handout),
        "times_note": times_note(handout),
        "note": clean(handout.note, keep_newlines=True) or None,
        "made_on": format_date(client_date(handout.created_at, handout), "d MMM y", locale=_locale(language)),
        "expires_on": format_date(client_date(handout.expires_at, handout), "d MMM y", locale=_locale(language)),
        "checked_on": [checked_label(d, language) for d in handout.checked_on],
        "qr": qr_svg(handout.url),
        # Printed without the scheme: shorter to type, and every browser adds it back.
        "url_display": re.sub(r"^https?://", "", handout.url),
        "home": site_base(handout),
        "home_display": short_address(site_base(handout)),
        "print_script": None,
    }


@dataclass(frozen=True)
class Voice:
    """One language a handout speaks in: the client's, and English beside it to check against.
    The template sets `_ = voice.gettext` inside each block, so a block's words come from its
    own catalogue while `pybabel extract` still finds every `_()`."""

    language: str                       # catalogue name: "ar", "zh_Hans", "en"
    tag: str                            # for `lang`: "ar", "zh-Hans"
    direction: str                      # for `dir`: "rtl" or "ltr"
    english: bool                       # the English copy printed beside a translation
    context: dict                       # `handout_context` in this language

    def gettext(self, message: str, **variables) -> str:
        """`message` from this voice's catalogue, with its `%(name)s` variables filled in."""
        with force_locale(self.language):
            return _(message, **variables)


def review_note(language: str) -> str | None:
    """The small print while a catalogue is not yet signed off by a qualified translator
    (the `X-Linkage-Review` line of its header comment); None for English and for a reviewed catalogue."""
    if language == i18n.DEFAULT_LANGUAGE or i18n.reviewed(language):
        return None
    return _("Translation not yet reviewed by a qualified translator.")


def voices(handout: Handout, for_pdf: bool) -> list[Voice]:
    """The languages the handout is printed in: the client's first, then English unless the
    client's is English (or has no catalogue here, when the handout is English alone)."""
    languages = [i18n.negotiate(handout.language)]
    if languages[0] != i18n.DEFAULT_LANGUAGE:
        languages.append(i18n.DEFAULT_LANGUAGE)
    found = []
    for index, language in enumerate(languages):
        with force_locale(language):
            context = handout_context(handout, language, for_pdf)
            context["review_note"] = review_note(languages[0])
        found.append(Voice(language, language.replace("_", "-"), i18n.direction(language), index > 0, context))
    return found


def handout_html(handout: Handout, *, print_on_load: bool = False, for_pdf: bool = False) -> str:
    """The handout page in the handout's language, with English beside each block when that is
    not English (English alone when the language has no catalogue).

    `print_on_load` adds our one static script, which opens the print dialog once the page
    has loaded (the clinician's "Print" with a note); otherwise the page has no script.
    `for_pdf` links the stylesheet through the PDF fetcher's scheme and leaves out the
    feedback forms (a PDF cannot post them). Needs an app context (`init_i18n` done).
    """
    return _page_html(handout, voices(handout, for_pdf), print_on_load=print_on_load and not for_pdf,
                      link_stylesheet=True)


def _page_html(handout: Handout, spoken: list[Voice], *, print_on_load: bool, link_stylesheet: bool) -> str:
    client = spoken[0]
    with force_locale(client.language):
        context = dict(client.context, voices=spoken, client=client, bilingual=len(spoken) > 1,
                       direction=client.direction)
        if not link_stylesheet:
            context["stylesheet"] = None
        if print_on_load:
            context["print_script"] = _static_href(PRINT_SCRIPT)
        return render_template("handout.html", **context)


def missing_html() -> str:
    """The friendly page for an unknown or expired code (the view sets status 404)."""
    locale = get_locale()
    language = str(locale) if locale else i18n.DEFAULT_LANGUAGE
    return render_template(
        "handout_missing.html",
        stylesheet=_stylesheet_href(False),
        language=language,
        direction=i18n.direction(language),
        lifetime_days=DEFAULT_LIFETIME.days,
    )


@lru_cache(maxsize=1)
def _fetcher_class():
    # WeasyPrint (and Pango under it) load only when a PDF is asked for, so the app starts fast
    # and runs without them until then.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves `linkage-static:NAME` from the static folder and `linkage-print-font:NAME`
        from the print fonts' folder; refuses every other URL."""

        def __init__(self, fonts_dir: Path | None = None):
            super().__init__()
            self.folders = {PDF_STATIC_SCHEME: STATIC, PDF_FONT_SCHEME: fonts_dir}

        def fetch(self, url, headers=None):
            for scheme, folder in self.folders.items():
                if folder is not None and url.startswith(scheme):
                    name = url[len(scheme):]
                    path = folder / name
                    if _STATIC_NAME.match(name) and path.is_file():
                        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
                        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            # WeasyPrint logs this and carries on without the resource.
            raise ValueError(f"handout PDFs fetch only our static files, not {url[:80]}")

    return StaticOnlyFetcher


def pdf_url_fetcher(fonts_dir: Path | None = None):
    """A WeasyPrint URL fetcher that reads only our static folder, and the print fonts in
    `fonts_dir` when given (nothing from the network or the rest of the disk, whatever a
    listing's text says)."""
    return _fetcher_class()(fonts_dir)


def mend_html_parser_cache() -> None:
    """Make the HTML parser's pattern cache work.

    WeasyPrint parses each handout with tinyhtml5, whose `chars_until` means to cache the
    pattern it builds for a set of characters, but files it under the pattern itself
    (`characters = cache[(characters, opposite)] = regex` binds `characters` first): in 2.1.0
    every call builds it again, two thirds of parsing a handout. This files the same patterns
    (built as it builds them) under the characters its tokenizer asks for, so the lookup
    finds them; what the parser reads is unchanged (tests/unit/test_handout_render.py parses
    with and without). A version that fixes the cache finds them there too."""
    try:
        from tinyhtml5 import inputstream
        from tinyhtml5.constants import ascii_letters, space_characters
    except ImportError:  # another parser: nothing to mend
        return
    unquoted_value_ends = frozenset(("&", ">", '"', "'", "=", "<", "`", "\u0000")) | space_characters
    asked = ((space_characters, True), (ascii_letters, True), (unquoted_value_ends, False),
             (("&", "<", "\u0000"), False), (("<", "\u0000"), False), ("\u0000", False),
             (("<", "-", "\u0000"), False), (("-", "\u0000"), False), (('"', "&", "\u0000"), False),
             (("'", "&", "\u0000"), False), (">", False), ("]", False))
    for characters, opposite in asked:
        listed = "".join(f"\\x{ord(character):02x}" for character in characters)
        pattern = re.compile(f"[{listed}]+" if opposite else f"[^{listed}]+")
        inputstream.characters_until_regex.setdefault((characters, opposite), pattern)


class _PdfEngine:
    """What every PDF of this process shares: WeasyPrint's font configuration (Pango and
    fontconfig keep the fonts they have loaded in it) and our stylesheet, parsed once.
    Parsing the stylesheet and finding fonts again for each handout cost about a third of a
    render; reusing them is WeasyPrint's documented way (`stylesheets=`, `font_config=`).

    The compact Han fonts built in `fonts_dir` (`print_fonts.available`) are declared to it
    by @font-face rules of their own, after the stylesheet, which names them first."""

    def __init__(self, fonts_dir: Path = print_fonts.PRINT_FONTS_DIR):
        from weasyprint import CSS

        mend_html_parser_cache()
        self.fonts = _font_configuration_class()()
        fetcher = pdf_url_fetcher(fonts_dir)
        # The URL the page links it by, so anything it refers to resolves as before.
        self.stylesheets = [CSS(string=(STATIC / STYLESHEET).read_text(encoding="utf-8"),
                                base_url=PDF_STATIC_SCHEME + STYLESHEET, url_fetcher=fetcher, font_config=self.fonts)]
        self.compact_fonts = print_fonts.available(fonts_dir)
        if self.compact_fonts:
            self.stylesheets.append(CSS(string=print_fonts.font_face_rules(self.compact_fonts, PDF_FONT_SCHEME),
                                        url_fetcher=fetcher, font_config=self.fonts))
        # Pango's font map is not safe to share between threads rendering at once.
        self.lock = threading.Lock()

    def write_pdf(self, html: str, base_url: str) -> bytes:
        """The PDF of `html` (a page that links no stylesheet: ours is applied here)."""
        from weasyprint import HTML

        document = HTML(string=html, base_url=base_url, url_fetcher=pdf_url_fetcher())
        with self.lock:
            return document.write_pdf(stylesheets=self.stylesheets, font_config=self.fonts)


@lru_cache(maxsize=1)
def _font_configuration_class():
    from weasyprint.text.fonts import FontConfiguration

    class OwnedFontConfiguration(FontConfiguration):
        """WeasyPrint's font configuration, which copies each @font-face font into a
        temporary folder and removes it when collected: here only in the process that made
        it. Workers forked after a warm-up share that folder with it and with each other."""

        def __init__(self):
            super().__init__()
            self.owner = os.getpid()

        def __del__(self):
            if os.getpid() == self.owner:
                super().__del__()

    return OwnedFontConfiguration


@lru_cache(maxsize=1)
def _made_pdf_engine() -> _PdfEngine:
    engine = _PdfEngine()
    # Collected only at interpreter exit (after the warm-up's gc.freeze, or with its modules
    # already gone), the font configuration would leave its font copies behind: the process
    # that made the engine drops it before then.
    creator = os.getpid()
    atexit.register(lambda: os.getpid() == creator and _made_pdf_engine.cache_clear())
    return engine


def _load_weasyprint():
    """Import WeasyPrint, which loads Pango, HarfBuzz and fontconfig through cffi (OSError
    when one is not installed)."""
    import weasyprint

    return weasyprint


# Why this process cannot make PDFs, once loading WeasyPrint has failed (empty: not known to).
_unavailable: list[str] = []


def _pdf_engine() -> _PdfEngine:
    """This process's PDF engine; PdfUnavailable (a 503 for that one answer, not a server that
    cannot start) when WeasyPrint's libraries are not installed. The server's warm-up asks
    first, so a failure is logged when it starts and shown by /readyz."""
    if not _unavailable:
        try:
            _load_weasyprint()
        except OSError as exc:
            _unavailable.append(f"WeasyPrint cannot load its libraries ({exc}): install Pango and the fonts "
                                "(`make install` does; deploy/Dockerfile lists the Debian packages)")
    if _unavailable:
        raise PdfUnavailable(_unavailable[0])
    return _made_pdf_engine()


def pdf_unavailable_reason() -> str | None:
    """Why handout PDFs cannot be made in this process, once that is known (None: they can,
    or none has been tried yet)."""
    return _unavailable[0] if _unavailable else None


# Words in every script the handouts print, so warming up loads each font they use.
_WARM_UP_PAGE = """<!doctype html><html lang="en"><body class="handout pdf bilingual">
<h1>Options to try <span class="en" lang="en">Options</span></h1><p><strong>Bold</strong> <em class="explainer">italic</em></p>
<p lang="ar" dir="rtl">خيارات <strong>للتجربة</strong> <span class="explainer">جرب</span></p>
<p lang="hi">आज़माने के विकल्प <strong>लक्ष्य</strong> <span class="explainer">एक</span></p>
<p lang="pa">ਅਜ਼ਮਾਉਣ ਲਈ ਵਿਕਲਪ <strong>ਟੀਚਾ</strong> <span class="explainer">ਇੱਕ</span></p>
<p lang="zh-Hans">可以尝试的选择 <strong>目标</strong> <span class="explainer">一</span></p>
<p lang="zh-Hant">可以嘗試的選擇 <strong>目標</strong> <span class="explainer">一</span></p>
<p lang="el">Επιλογές <strong>στόχος</strong></p><p lang="vi">Các lựa chọn <strong>mục tiêu</strong></p>
<table class="sessions"><tbody><tr><th>Next:</th><td>Tue 3 Dec, 7:00 pm — on now</td></tr></tbody></table>
</body></html>"""


def warm_pdf_renderer(app=None) -> None:
    """Load now what the first handout PDF of a process would otherwise load (WeasyPrint and
    its libraries, our stylesheet, every script's fonts; with an `app`, the compiled template
    and each language's catalogue and CLDR data), by rendering a small page in each script.
    Called at app start: in a preloading gunicorn master, workers then fork ready. It ends
    by freezing the garbage collector's view of everything loaded so far (`gc.freeze`). Only
    the first call in a process does anything."""
    if _warmed:
        return
    try:
        _pdf_engine()
    except PdfUnavailable as exc:
        # Searching and the other handout formats need none of it: serve them, and say why
        # PDFs are refused (the log now, /readyz and each PDF's 503 later).
        log.error("handout PDFs unavailable: %s", exc)
        _warmed.append(False)
        return
    if app is not None:
        with app.app_context():
            app.jinja_env.get_template("handout.html")
            for language in (i18n.DEFAULT_LANGUAGE, *i18n.CLIENT_LANGUAGES):
                with force_locale(language):
                    _("Options to try")
                    format_date(date(2026, 1, 1), "EEE d MMM", locale=_locale(language))
                    clock(datetime(2026, 1, 1, 19, 0), language)
    # Every font choice these make is kept for good (see `fontsets`): more than Pango keeps
    # by itself, so a handout in one language no longer makes fontconfig choose again for
    # the next handout in another.
    with fontsets.keeping_fontsets():
        _pdf_engine().write_pdf(_WARM_UP_PAGE, "https://linkage.invalid/")
        if app is not None:
            # A handout in each language loads the fonts at every size, weight and style the
            # template prints.
            with app.app_context():
                for language in (i18n.DEFAULT_LANGUAGE, *i18n.CLIENT_LANGUAGES):
                    handout_pdf(_warm_up_handout(language))
    _warm_glyph_arrays()
    # What was loaded stays for the life of the process: moved out of the collector's sight,
    # the oldest generation's collections, which a render sets off every second or third
    # time, no longer walk it (60-90 ms each before), and forked workers do not copy its
    # pages by touching their collector fields (the gc module's advice for pre-forking).
    gc.collect()
    gc.freeze()
    _warmed.append(True)


# A fictional group met in person, online and by phone, and a service with opening hours:
# between them every part of a handout's page.
_WARM_UP_LISTINGS = (
    {"id": "warm-up:1", "kind": "group", "name": "Warm-up group", "description": "Warm-up.",
     "program": "SMART Recovery", "approach": "self_management", "goals": ["moderation"], "substances": ["any"],
     "formats": ["in_person", "online", "phone"], "audiences": ["everyone"], "facilitation": "facilitator_led", "languages": ["en", "vi"],
     "location": {"address": "1 Example Street", "locality": "Sydney", "state": "NSW", "postcode": "2000",
                  "country": "AU", "lat": -33.87, "lon": 151.21, "approximate": False},
     "service_area": ["NSW"], "timezone": "Australia/Sydney",
     "sessions": [{"weekday": "tue", "start": "19:00", "end": "20:30", "monthly": None}], "open_24_7": False,
     "contact": {"phone": "02 5550 0000", "email": None, "website": "https://example.org/warm-up",
                 "conference_url": "https://example.org/meet/warm-up", "conference_phone": "02 5550 0001",
                 "registration_url": None},
     "registration_required": False, "open_meeting": True, "cost": "free", "referral": "self",
     "accessibility": ["wheelchair_access"],
     "first_visit": {"can_attend_while_using": True, "camera_optional": True, "no_need_to_speak": True,
                     "what_to_expect": "A check-in, then the group talks."},
     "source": {"name": "Warm-up", "url": "https://example.org/warm-up", "licence": "CC0-1.0"},
     "updated_at": "2020-01-01", "verified_at": "2020-01-01", "status": "active", "also_from": []},
    {"id": "warm-up:2", "kind": "service", "name": "Warm-up service", "description": "Warm-up.",
     "program": None, "approach": "clinical", "goals": ["abstinence"], "substances": ["alcohol"],
     "formats": ["phone"], "audiences": ["everyone"], "facilitation": "professional", "languages": ["en"], "location": None,
     "service_area": ["WA"], "timezone": "Australia/Perth",
     "sessions": [{"weekday": day, "start": "09:00", "end": "17:00", "monthly": None}
                  for day in ("mon", "tue", "wed", "thu", "fri")], "open_24_7": False,
     "contact": {"phone": "1800 000 000", "email": None, "website": None, "conference_url": None,
                 "conference_phone": None, "registration_url": None},
     "registration_required": True, "open_meeting": False, "cost": "low_cost", "referral": "gp_referral",
     "accessibility": [], "first_visit": {}, "source": {"name": "Warm-up", "url": None, "licence": "CC0-1.0"},
     "updated_at": "2026-01-01", "verified_at": "2026-01-01", "status": "active", "also_from": []},
)


def _warm_up_handout(language: str) -> Handout:
    """A handout of `_WARM_UP_LISTINGS` in `language` (nothing stored, nothing searched)."""
    from service.domain.schemas import listing_from_trusted
    from service.referrals.handout import build_handout
    from service.referrals.model import Referral

    now = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
    referral = Referral(code="0" * 15, created_at=now, expires_at=now + DEFAULT_LIFETIME, goal="moderation",
                        language=language, items=_WARM_UP_LISTINGS, seven_day_goal=None)
    current = {x["id"]: (listing_from_trusted(x), x) for x in _WARM_UP_LISTINGS}
    return build_handout(referral, current, now, "https://linkage.invalid", note="Warm-up.")


# Most glyphs a handout draws with one font (a few dozen to a few hundred).
_GLYPH_ARRAYS = 256


def _warm_glyph_arrays() -> None:
    """Have cffi parse now the array types WeasyPrint asks it for when it subsets a font
    ("hb_codepoint_t[N]", N the glyphs drawn): cffi parses each new N once, with pycparser,
    for about 4 ms, which a handout paid a few times over (0-40 ms); 256 of them take about
    a second at start, once, before workers fork."""
    try:
        from weasyprint.text.ffi import ffi

        for count in range(1, _GLYPH_ARRAYS + 1):
            ffi.typeof(f"hb_codepoint_t[{count}]")
    except Exception:  # noqa: BLE001 - a WeasyPrint without that type only misses the head start
        return


# Set by the first warm-up of this process.
_warmed: list[bool] = []


def handout_pdf(handout: Handout) -> bytes:
    """The handout as an A4 PDF (WeasyPrint), from the same template as the page."""
    spoken = voices(handout, True)
    # The stylesheet is not linked: `_PdfEngine` applies the one it parsed once.
    html = _page_html(handout, spoken, print_on_load=False, link_stylesheet=False)
    # base_url: relative links in the PDF point at the public site; nothing is fetched from it.
    return _pdf_engine().write_pdf(html, site_base(handout))


# --- SMS -----------------------------------------------------------------------------

def _sms_details(item: HandoutItem, detail: int, language: str) -> list[str]:
    """What a reader must check, in short (detail 2: in full; 1: the GP referral only, the
    options to check before going are then named together, see `handout_text`; 0: none)."""
    listing = item.listing
    found = []
    if detail > 1 and item.stale_since:
        found.append(_("check before you go: last checked %(date)s", date=checked_label(item.stale_since, language)))
    if detail and listing.get("referral") == "gp_referral":
        found.append(_("GP referral needed") if detail > 1 else _("GP referral"))
    if detail > 1 and listing.get("cost") in ("low_cost", "fee"):
        found.append(_("low cost") if listing["cost"] == "low_cost" else _("fees apply"))
    return found


def _sms_option(number: int, item: HandoutItem, name_limit: int | None, sessions: int,
                show_zone: bool, language: str, detail: int = 2, client_zone: str | None = None,
                at: datetime | None = None) -> str:
    listing = item.listing
    text = f"{number}) {shorten(clean(listing.get('name')), name_limit)}"
    dial_in = None
    if sessions:
        # The client's time for an option joined from wherever they are; the place's otherwise.
        zone_name = time_zones(listing, client_zone, at)[0]
        dated = any(s.get("monthly") for s in listing.get("sessions") or ())
        if keeps_hours(listing):
            # A service's hours, not its next opening: "Thu 9am" would read as an appointment.
            times = list(hours_lines(listing, language, compact=True, client_zone=client_zone, at=at))[:sessions]
        else:
            # Distinct labels only: a weekly group's next two sessions would both read "Wed 6pm".
            times = list(dict.fromkeys(short_session(o, zone_name, language, dated=dated)
                                       for o in item.next_sessions[:MAX_SESSIONS]))[:sessions]
        if times:
            joined = ", ".join(times)
            text += " " + (_("%(times)s %(place)s time", times=joined, place=zone_place(zone_name))
                           if show_zone else joined)
        elif listing.get("open_24_7"):
            text += " " + _("24/7")
        contact = listing.get("contact") or {}
        number_text = clean(contact.get("conference_phone") or contact.get("phone"))
        if (not times or keeps_hours(listing)) and number_text:
            text += " " + _("ph %(number)s", number=number_text)
        elif detail > 1 and times and clean(contact.get("conference_phone")):
            # An online meeting's dial-in, while there is room: a phone call needs no data.
            dial_in = _("Dial in: %(number)s", number=clean(contact["conference_phone"]))
    details = ([dial_in] if dial_in else []) + _sms_details(item, detail, language)
    if details:
        text += " (" + "; ".join(details) + ")"
    return text


# (sessions per option, longest name, detail): the fuller detail goes first, then names are
# shortened, then sessions dropped; options are dropped only after the last of these. Every
# option shown keeps "GP referral" and is named in "Check 2, 5 before you go" when stale
# (detail 1): safety before one more option.
_SMS_PLANS = ((2, None, 2), (1, None, 2), (1, None, 1), (1, 48, 1), (1, 36, 1), (1, 28, 1), (1, 20, 1),
              (0, 20, 1), (0, 14, 1))


def handout_text(handout: Handout) -> str:
    """The handout as a text message: in English, the options (with next times, zones named
    when they are not all the client's) and the link, never more than 480 characters.

    In another language, the client's message first (at most 480 characters, fitted as the
    English one is), then an English short form for the clinician to check (at most 200:
    options drop to "+N more at the link" first), then the link once, in the client's words.
    Never a note."""
    language = i18n.negotiate(handout.language)
    if language == i18n.DEFAULT_LANGUAGE:
        return _sms_text(handout, language, with_link=True)
    client = _sms_text(handout, language, with_link=False)
    english = _sms_text(handout, i18n.DEFAULT_LANGUAGE, with_link=False, limit=SMS_ENGLISH_LIMIT)
    with force_locale(language):
        link = _("Details: %(url)s", url=handout.url)
    return f"{client}\n\n{english}\n\n{link}"


def _sms_text(handout: Handout, language: str, *, with_link: bool, limit: int = SMS_LIMIT) -> str:
    """One language's message, at most `limit` characters (the link included with `with_link`).
    Options no longer listed are left out (the others keep their numbers from the printed
    handout); when options must go, the last go first and the link stays."""
    with force_locale(language):
        entries = [(n, item) for n, item in enumerate(handout.items, 1) if item.status != "removed"]
        show_zone = handout.label_zones
        head = _("Options to try:")
        if handout.demo:
            # Fictional listings say so wherever they are shown (DESIGN.md, data ethics).
            head = _("Demo data — fictional.") + " " + head
        same_zone = None
        if not show_zone and any(item.listing.get("sessions") for _n, item in entries):
            same_zone = _("All times are %(place)s time.", place=zone_place(handout.timezone))
        encourage = _("Trying more than one helps.")
        tail = _("Details: %(url)s", url=handout.url)

        def compose(count: int, sessions: int, name_limit: int | None, detail: int, cheer: bool) -> str:
            options = "; ".join(_sms_option(n, item, name_limit, sessions, show_zone, language, detail,
                                            handout.timezone, handout.created_at)
                                for n, item in entries[:count])
            more = len(entries) - count
            parts = [head, options + "."] if options else [head]
            stale = [str(n) for n, item in entries[:count] if item.stale_since]
            if detail == 1 and stale:
                parts.append(_("Check %(numbers)s before you go.", numbers=", ".join(stale)))
            if same_zone and sessions and options:
                parts.append(same_zone)
            if more:
                parts.append(_("+%(count)s more at the link.", count=more))
            if cheer:
                parts.append(encourage)
            if with_link:
                parts.append(tail)
            return " ".join(parts)

        for sessions, name_limit, detail in _SMS_PLANS:
            text = compose(len(entries), sessions, name_limit, detail, True)
            if len(text) <= limit:
                return text
        for count in range(len(entries) - 1, -1, -1):
            for cheer in (True, False):
                text = compose(count, 0, _SMS_PLANS[-1][1], 1, cheer)
                if len(text) <= limit:
                    return text
        # Only an absurdly long public URL gets here: the link is what matters.
        return handout.url[:limit] if with_link else head[:limit]


# --- iCalendar -----------------------------------------------------------------------

def checks_line(item: HandoutItem, language: str = "en") -> str:
    """What a clinician checks, on one line: "Free · No GP referral needed · Access: ... · Languages: ..."."""
    listing = item.listing
    parts = [cost_label(listing.get("cost")), referral_text(listing)]
    access = access_text(listing)
    if access:
        parts.append(_("Access:") + " " + access)
    languages = languages_text(listing, language)
    if languages:
        parts.append(_("Languages:") + " " + languages)
    return " · ".join(part for part in parts if part)


def event_description(item: HandoutItem, handout_url: str, when: tuple[str, ...] = (),
                      language: str = "en") -> str:
    """An event's description: when (naming the zone), how to join, what to check, then where
    the full handout is (and, for a demo listing, that it is fictional)."""
    source = clean((item.listing.get("source") or {}).get("name"))
    lines = [_("Demo data — fictional.")] if source.startswith("Demo data") else []
    stale = stale_note(item, language)
    if stale:
        lines.append(stale)
    lines += list(when)
    lines += [f"{line.label} {line.full()}" for line in join_lines(item.listing)]
    lines.append(registration_text(item.listing))
    lines.append(checks_line(item, language))
    lines.append(_("Your handout: %(url)s", url=handout_url))
    return "\n".join(line for line in lines if line)


def event_location(listing: dict) -> str:
    """An event's location: the address, or how it is held when there is none."""
    formats = listing.get("formats") or ()
    if "in_person" in formats:
        address = address_text(listing.get("location"))
        if address:
            return address
    if "online" in formats:
        return _("Online")
    if "phone" in formats:
        return _("By phone")
    return ""


def timed_in_calendar(item: HandoutItem) -> bool:
    """True for an option whose sessions go in the calendar as timed events (a group's
    meetings); a helpline's or service's hours are information, not time to block out."""
    return item.listing.get("kind") == "group" and bool(item.next_sessions)


def availability(item: HandoutItem, client_zone: str | None, at: datetime, language: str = "en") -> tuple[str, ...]:
    """When an option can be reached, for a calendar note: hours naming their zone, "Open 24/7",
    or "No set times — contact them to arrange"."""
    listing = item.listing
    if keeps_hours(listing):
        hours = hours_lines(listing, language, show_zone=True, client_zone=client_zone, at=at)
        return (_("Hours: %(hours)s", hours="; ".join(hours)),)
    if listing.get("open_24_7"):
        return (_("Open 24/7"),)
    if item.next_sessions:
        lead, other = time_zones(listing, client_zone, at)
        return tuple(_("Next: %(when)s", when=session_label(o, lead, language, other_zone=other))
                     for o in item.next_sessions[:MAX_SESSIONS])
    return (_("No set times — contact them to arrange"),)


def in_both(language: str, words, separator: str) -> str:
    """`words(lang)` in the client's `language`, then (unless that is English) in English after
    `separator`, each made under its own locale: a calendar entry the clinician can check."""
    with force_locale(language):
        client = words(language)
    if language == i18n.DEFAULT_LANGUAGE:
        return client
    with force_locale(i18n.DEFAULT_LANGUAGE):
        english = words(i18n.DEFAULT_LANGUAGE)
    return client if english == client else client + separator + english


def handout_ics(handout: Handout) -> bytes:
    """The handout as an iCalendar file. A group's next sessions (up to three) are timed
    events in the listing's own zone (TZID, with a VTIMEZONE for every zone used); helplines,
    24/7 lines and services with opening hours are all-day notes on the day the handout was
    made, marked free (TRANSP:TRANSPARENT), their hours in the description, so a calendar
    never shows the client busy for a service's whole working day. Options no longer listed
    are left out. Stable UIDs, so importing twice updates instead of duplicating. Never a note."""
    from icalendar import Calendar, Event, vText

    language = i18n.negotiate(handout.language)
    with force_locale(language):
        calendar = Calendar()
        calendar.add("prodid", "-//Linkage//Handout//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("x-wr-calname", _("Options to try"))
        stamp = handout.created_at.astimezone(timezone.utc)
        made_on = handout.created_at.astimezone(ZoneInfo(handout.timezone)).date()
        starts, ends, notes = [], [], []
        for item in handout.items:
            if item.status == "removed":
                continue
            listing = item.listing
            contact = listing.get("contact") or {}
            link = web_link(contact.get("conference_url")) or web_link(contact.get("website"))
            name = clean(listing.get("name"))
            location = event_location(listing)
            if not timed_in_calendar(item):
                when = availability(item, handout.timezone, handout.created_at, language)
                event = Event()
                event.add("uid", f"{handout.code}-{listing['id']}-info@linkage")
                event.add("dtstamp", stamp)
                event.add("dtstart", made_on)
                event.add("dtend", made_on + timedelta(days=1))
                event.add("summary", in_both(language, lambda _lang: _("To contact: %(name)s", name=name), " / "))
                event.add("transp", "TRANSPARENT")
                # Outlook reads its own busy flag rather than TRANSP.
                event.add("x-microsoft-cdo-busystatus", "FREE")
                if location:
                    event.add("location", location)
                event.add("url", link or handout.url)
                event.add("description", in_both(language, lambda lang: event_description(
                    item, handout.url, availability(item, handout.timezone, handout.created_at, lang), lang), "\n\n"))
                calendar.add_component(event)
                notes.append(f"{name}: {'; '.join(when)}")
                continue
            zone_name = listing["timezone"]
            zone = ZoneInfo(zone_name)
            for occurrence in item.next_sessions[:MAX_SESSIONS]:
                # Re-zoned to the listing's zone by name, so the TZID is always the listing's.
                start = occurrence.start.astimezone(zone)
                end = occurrence.end.astimezone(zone)
                event = Event()
                event.add("uid", f"{handout.code}-{listing['id']}-{start:%Y%m%dT%H%M}@linkage")
                event.add("dtstamp", stamp)
                event.add("dtstart", start)
                event.add("dtend", end)
                event.add("summary", name)
                if location:
                    event.add("location", location)
                event.add("url", link or handout.url)
                # The calendar shows the time in the device's zone; the description names the
                # zones as the handout does (the client's first for an option joined from home).
                lead, other = time_zones(listing, handout.timezone, handout.created_at)
                def described(lang, occurrence=occurrence, lead=lead, other=other):
                    when = (_("When: %(when)s", when=session_label(
                        dataclasses.replace(occurrence, in_progress=False), lead, lang, other_zone=other)),)
                    return event_description(item, handout.url, when, lang)

                event.add("description", in_both(language, described, "\n\n"))
                calendar.add_component(event)
                starts.append(start)
                ends.append(end)
        if notes:
            # Calendars that show a calendar's description list the services to contact there too.
            calendar.add("x-wr-caldesc", vText("\n".join([_("To contact:")] + notes)))
        if starts:
            # Transitions only around the events: a short VTIMEZONE that still covers them.
            calendar.add_missing_timezones(
                first_date=min(starts).date() - timedelta(days=31),
                last_date=max(ends).date() + timedelta(days=366),
            )
        return calendar.to_ical()


# --- Cache keys ----------------------------------------------------------------------

@lru_cache(maxsize=1)
def renderer_fingerprint() -> str:
    """A digest of everything besides the handout that shapes its renderings (this package's
    code, the templates, the stylesheet, the translations, WeasyPrint's version): a cached
    rendering made by another release is never served."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    files = sorted([*(package / "render").glob("*.py"), *(package / "templates").glob("*.html"),
                    *STATIC.glob("*.css"), *(package / "translations").glob("*/LC_MESSAGES/*.mo")])
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        digest.update(version("weasyprint").encode())
    except PackageNotFoundError:
        pass
    return digest.hexdigest()


def rendering_key(handout: Handout, format_name: str) -> str:
    """The cache key of a handout's rendering in `format_name` ("handout.pdf"): equal keys give
    equal bodies. It covers the handout as built for this request (its items' status and
    next sessions, dead links, URL) with the reasons no format prints left out (the minutes
    until a session starts change every minute and are shown nowhere), where the page's
    static files are served from, and `renderer_fingerprint`. A handout with a note has no key:
    that copy is never kept."""
    import hashlib

    if handout.note is not None:
        raise ValueError("a handout with a note is rendered for one answer and never kept")
    shown = dataclasses.replace(handout, items=tuple(
        dataclasses.replace(item, why=tuple(r for r in item.why if shown_reason(r))) for item in handout.items))
    text = "\0".join((format_name, renderer_fingerprint(), _static_href(STYLESHEET), repr(shown)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
