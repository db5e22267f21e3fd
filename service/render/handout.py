"""Rendering a handout (`service.handout.Handout`): HTML page, A4 PDF, SMS text, iCalendar.

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

import mimetypes
import re
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

from .. import i18n
from ..handout import Handout, HandoutItem
from ..models import Occurrence
from ..referrals import DEFAULT_LIFETIME

STATIC = Path(__file__).resolve().parent.parent / "static"
STYLESHEET = "handout.css"
# The PDF's stylesheet is named with a scheme of our own: WeasyPrint passes it to our
# fetcher, which reads it from the static folder; no server, no file path in the HTML.
PDF_STATIC_SCHEME = "linkage-static:"
SMS_LIMIT = 480
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


def session_label(occurrence: Occurrence, zone_name: str, language: str = "en") -> str:
    """One session in the listing's zone: "Tue 3 Dec, 7:00 pm (Sydney time)"."""
    start = occurrence.start.astimezone(ZoneInfo(zone_name))
    day = format_date(start, "EEE d MMM", locale=_locale(language))
    text = _("%(day)s, %(time)s (%(place)s time)", day=day, time=clock(start, language),
             place=zone_place(zone_name))
    return text + " — " + _("on now") if occurrence.in_progress else text


def short_session(occurrence: Occurrence, zone_name: str, language: str = "en", *, dated: bool = False) -> str:
    """One session for SMS in the listing's zone: "Tue 7pm" (a weekly session's next one),
    or with `dated` "Sat 5 Dec 10am" (a monthly one, where the weekday alone misleads)."""
    start = occurrence.start.astimezone(ZoneInfo(zone_name))
    day = format_date(start, "EEE d MMM" if dated else "EEE", locale=_locale(language))
    return f"{day} {clock(start, language, compact=True)}"


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
    value: str
    href: str | None = None
    secondary: bool = False             # left off paper when another way to reach them is printed


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
    no_sessions: str | None
    join: tuple[JoinLine, ...]
    registration: str
    first_visit: tuple[str, ...]
    what_to_expect: str | None
    cost: str
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


def link_note(dead_links) -> str | None:
    """What to tell the reader when a link on an option did not work at the last check."""
    if not dead_links:
        return None
    checked = max(link["checked_at"] for link in dead_links)
    return _("A link below did not work when checked on %(date)s — phone or check before relying on it",
             date=checked)


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
            lines.append(JoinLine(_("Online — link:"), clean(link), web_link(link)))
        else:
            lines.append(JoinLine(_("Online — link:"), _("ask for the link")))
    if "phone" in formats:
        number = contact.get("conference_phone") or contact.get("phone")
        if number:
            phone_shown = number == contact.get("phone")
            lines.append(JoinLine(_("By phone:"), clean(number), tel_link(number)))
    if contact.get("phone") and not phone_shown:
        lines.append(JoinLine(_("Phone:"), clean(contact["phone"]), tel_link(contact["phone"])))
    website = contact.get("website")
    if website and website != contact.get("conference_url") and not (
        "online" in formats and not contact.get("conference_url")
    ):
        # On paper a long web address is hard to use and costs a line; with a way to get
        # there or call printed, the page (and the QR code's copy of it) carries it instead.
        lines.append(JoinLine(_("Website:"), clean(website), web_link(website), secondary=bool(lines)))
    if contact.get("registration_url"):
        url = contact["registration_url"]
        lines.append(JoinLine(_("Register:"), clean(url), web_link(url)))
    return tuple(lines)


def registration_text(listing: dict) -> str:
    """Whether to register first or just turn up (and whether a GP referral is needed)."""
    if listing.get("registration_required"):
        text = _("Registration needed — contact them before you go")
    elif listing.get("kind") == "group":
        text = _("No registration needed — you can just turn up")
    else:
        text = _("No registration needed")
    if listing.get("referral") == "gp_referral":
        text += "; " + _("needs a referral from a GP")
    return text


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
_SHOWN_ELSEWHERE = ("Free", "On now", "Open 24/7")


def shown_reason(reason: str) -> bool:
    """True for a "why it fits" reason the card prints; False for those it shows otherwise."""
    return reason not in _SHOWN_ELSEWHERE and not reason.startswith("Starts in ")


def item_view(number: int, item: HandoutItem, language: str = "en", *, explain: bool = True) -> ItemView:
    """One option as the template prints it; `explain=False` leaves out the program's
    explainer (already printed for an earlier option of the same program)."""
    listing = item.listing
    zone_name = listing["timezone"]
    source = listing.get("source") or {}
    sessions = tuple(
        SessionView(o.start.isoformat(), session_label(o, zone_name, language))
        for o in item.next_sessions[:MAX_SESSIONS]
    )
    no_sessions = None
    if not sessions:
        no_sessions = _("Open 24/7") if listing.get("open_24_7") else _("No set times — contact them to arrange")
    return ItemView(
        number=number,
        listing_id=listing["id"],
        name=clean(listing.get("name")),
        status=item.status,
        status_note=status_note(item.status),
        link_note=link_note(item.dead_links),
        kind=i18n.label(listing.get("kind") or ""),
        program=clean(listing.get("program")) or None,
        approach=i18n.label(listing.get("approach") or ""),
        explainer=(clean(i18n.explainer(item.explainer)) or None) if explain else None,
        formats=", ".join(i18n.label(f) for f in listing.get("formats") or ()),
        why=tuple(clean(_(reason)) for reason in item.why if shown_reason(reason)),
        sessions=sessions,
        no_sessions=no_sessions,
        join=join_lines(listing),
        registration=registration_text(listing),
        first_visit=first_visit_notes(listing),
        what_to_expect=clean((listing.get("first_visit") or {}).get("what_to_expect")) or None,
        cost=cost_label(listing.get("cost")),
        source=clean(source.get("name")),
        checked=checked_label(listing.get("verified_at") or listing.get("updated_at"), language) or None,
        demo=clean(source.get("name")).startswith("Demo data"),
    )


def item_views(handout: Handout, language: str = "en") -> list[ItemView]:
    """Every option in order; a program's explainer is printed once, at its first option,
    so a page of three AA meetings does not say the same paragraph three times."""
    views, explained = [], set()
    for number, item in enumerate(handout.items, 1):
        program = item.listing.get("program")
        views.append(item_view(number, item, language, explain=program not in explained))
        if item.explainer:
            explained.add(program)
    return views


def qr_svg(url: str) -> Markup:
    """The handout's URL as an inline SVG QR code (segno, error correction at least M)."""
    # Our own generated markup (paths only, no text from listings), so it is marked safe.
    return Markup(segno.make(url, error="m").svg_inline(omitsize=True, svgclass="qr-code", border=2))


# --- HTML and PDF --------------------------------------------------------------------

def _stylesheet_href(for_pdf: bool) -> str:
    if for_pdf:
        return PDF_STATIC_SCHEME + STYLESHEET
    if has_request_context() and "pages" in current_app.blueprints:
        return url_for("pages.static", filename=STYLESHEET)
    return "/static/" + STYLESHEET


def handout_context(handout: Handout, language: str, for_pdf: bool) -> dict:
    """The template's variables (plain strings and views; the template adds no logic)."""
    return {
        "handout": handout,
        "language": language,
        "for_pdf": for_pdf,
        "stylesheet": _stylesheet_href(for_pdf),
        "items": item_views(handout, language),
        "goal": i18n.label(handout.goal) if handout.goal else None,
        "note": clean(handout.note, keep_newlines=True) or None,
        "made_on": format_date(handout.created_at.date(), "d MMM y", locale=_locale(language)),
        "expires_on": format_date(handout.expires_at.date(), "d MMM y", locale=_locale(language)),
        "checked_on": [checked_label(d, language) for d in handout.checked_on],
        "qr": qr_svg(handout.url),
        # Printed without the scheme: shorter to type, and every browser adds it back.
        "url_display": re.sub(r"^https?://", "", handout.url),
        "home": site_base(handout),
    }


def handout_html(handout: Handout, *, for_pdf: bool = False) -> str:
    """The handout page in the handout's language (English when it has no catalogue).

    `for_pdf` links the stylesheet through the PDF fetcher's scheme and leaves out the
    feedback forms (a PDF cannot post them). Needs an app context (`init_i18n` done).
    """
    language = i18n.negotiate(handout.language)
    with force_locale(language):
        return render_template("handout.html", **handout_context(handout, language, for_pdf))


def missing_html() -> str:
    """The friendly page for an unknown or expired code (the view sets status 404)."""
    locale = get_locale()
    return render_template(
        "handout_missing.html",
        stylesheet=_stylesheet_href(False),
        language=str(locale) if locale else i18n.DEFAULT_LANGUAGE,
        lifetime_days=DEFAULT_LIFETIME.days,
    )


@lru_cache(maxsize=1)
def _fetcher_class():
    # WeasyPrint (and Pango under it) load only when a PDF is asked for, so the app starts fast
    # and runs without them until then.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves `linkage-static:NAME` from the static folder; refuses every other URL."""

        def fetch(self, url, headers=None):
            if url.startswith(PDF_STATIC_SCHEME):
                name = url[len(PDF_STATIC_SCHEME):]
                path = STATIC / name
                if _STATIC_NAME.match(name) and path.is_file():
                    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            # WeasyPrint logs this and carries on without the resource.
            raise ValueError(f"handout PDFs fetch only our static files, not {url[:80]}")

    return StaticOnlyFetcher


def pdf_url_fetcher():
    """A WeasyPrint URL fetcher that reads only our static folder (nothing from the network
    or the rest of the disk, whatever a listing's text says)."""
    return _fetcher_class()()


def handout_pdf(handout: Handout) -> bytes:
    """The handout as an A4 PDF (WeasyPrint), from the same template as the page."""
    from weasyprint import HTML

    html = handout_html(handout, for_pdf=True)
    # base_url: relative links in the PDF point at the public site; nothing is fetched from it.
    document = HTML(string=html, base_url=site_base(handout), url_fetcher=pdf_url_fetcher())
    return document.write_pdf()


# --- SMS -----------------------------------------------------------------------------

def _sms_option(number: int, item: HandoutItem, name_limit: int | None, sessions: int,
                show_zone: bool, language: str) -> str:
    listing = item.listing
    text = f"{number}) {shorten(clean(listing.get('name')), name_limit)}"
    if sessions:
        zone_name = listing["timezone"]
        dated = any(s.get("monthly") for s in listing.get("sessions") or ())
        # Distinct labels only: a weekly group's next two sessions would both read "Wed 6pm".
        times = list(dict.fromkeys(short_session(o, zone_name, language, dated=dated)
                                   for o in item.next_sessions[:MAX_SESSIONS]))[:sessions]
        if times:
            text += " " + ", ".join(times)
            if show_zone:
                text += f" ({zone_place(zone_name)})"
        elif listing.get("open_24_7"):
            text += " " + _("24/7")
        contact = listing.get("contact") or {}
        number_text = clean(contact.get("conference_phone") or contact.get("phone"))
        if not times and number_text:
            text += " " + _("ph %(number)s", number=number_text)
    return text


# (sessions per option, longest name): shorten names first, then drop sessions; options
# are dropped only after the last of these.
_SMS_PLANS = ((2, None), (1, None), (1, 48), (1, 36), (1, 28), (1, 20), (0, 20), (0, 14))


def handout_text(handout: Handout) -> str:
    """The handout as one SMS: the options (with next times) and the link, never more than
    480 characters. Options no longer listed are left out (the others keep their numbers
    from the printed handout); when options must go, the last go first and the link stays."""
    language = i18n.negotiate(handout.language)
    with force_locale(language):
        entries = [(n, item) for n, item in enumerate(handout.items, 1) if item.status != "removed"]
        show_zone = len({item.listing["timezone"] for _n, item in entries}) > 1
        head = _("Options to try:")
        if handout.demo:
            # Fictional listings say so wherever they are shown (DESIGN.md, data ethics).
            head = _("Demo data — fictional.") + " " + head
        encourage = _("Trying more than one helps.")
        tail = _("Details: %(url)s", url=handout.url)

        def compose(count: int, sessions: int, name_limit: int | None, cheer: bool) -> str:
            options = "; ".join(_sms_option(n, item, name_limit, sessions, show_zone, language)
                                for n, item in entries[:count])
            more = len(entries) - count
            parts = [head, options + "."] if options else [head]
            if more:
                parts.append(_("+%(count)s more at the link.", count=more))
            if cheer:
                parts.append(encourage)
            parts.append(tail)
            return " ".join(parts)

        for sessions, name_limit in _SMS_PLANS:
            text = compose(len(entries), sessions, name_limit, True)
            if len(text) <= SMS_LIMIT:
                return text
        for count in range(len(entries) - 1, -1, -1):
            for cheer in (True, False):
                text = compose(count, 0, _SMS_PLANS[-1][1], cheer)
                if len(text) <= SMS_LIMIT:
                    return text
        # Only an absurdly long public URL gets here: the link is what matters.
        return handout.url[:SMS_LIMIT]


# --- iCalendar -----------------------------------------------------------------------

def event_description(item: HandoutItem, handout_url: str) -> str:
    """An event's description: how to join, then where the full handout is (and, for a
    demo listing, that it is fictional)."""
    source = clean((item.listing.get("source") or {}).get("name"))
    lines = [_("Demo data — fictional.")] if source.startswith("Demo data") else []
    lines += [f"{line.label} {line.value}" for line in join_lines(item.listing)]
    lines.append(registration_text(item.listing))
    lines.append(_("Your handout: %(url)s", url=handout_url))
    return "\n".join(lines)


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


def handout_ics(handout: Handout) -> bytes:
    """The next sessions (up to three per option) as an iCalendar file: times in each
    listing's own zone (TZID) with a VTIMEZONE for every zone used; options no longer
    listed are left out. Stable UIDs, so importing twice updates instead of duplicating."""
    from icalendar import Calendar, Event

    language = i18n.negotiate(handout.language)
    with force_locale(language):
        calendar = Calendar()
        calendar.add("prodid", "-//Linkage//Handout//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("x-wr-calname", _("Options to try"))
        stamp = handout.created_at.astimezone(timezone.utc)
        starts, ends = [], []
        for item in handout.items:
            if item.status == "removed":
                continue
            listing = item.listing
            zone = ZoneInfo(listing["timezone"])
            link = web_link((listing.get("contact") or {}).get("conference_url")) or web_link(
                (listing.get("contact") or {}).get("website"))
            for occurrence in item.next_sessions[:MAX_SESSIONS]:
                # Re-zoned to the listing's zone by name, so the TZID is always the listing's.
                start = occurrence.start.astimezone(zone)
                end = occurrence.end.astimezone(zone)
                event = Event()
                event.add("uid", f"{handout.code}-{listing['id']}-{start:%Y%m%dT%H%M}@linkage")
                event.add("dtstamp", stamp)
                event.add("dtstart", start)
                event.add("dtend", end)
                event.add("summary", clean(listing.get("name")))
                location = event_location(listing)
                if location:
                    event.add("location", location)
                event.add("url", link or handout.url)
                event.add("description", event_description(item, handout.url))
                calendar.add_component(event)
                starts.append(start)
                ends.append(end)
        if starts:
            # Transitions only around the events: a short VTIMEZONE that still covers them.
            calendar.add_missing_timezones(
                first_date=min(starts).date() - timedelta(days=31),
                last_date=max(ends).date() + timedelta(days=366),
            )
        return calendar.to_ical()
