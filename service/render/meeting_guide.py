"""Feeds we publish: our groups re-exported in Meeting Guide format (code4recovery/spec).

`to_meeting_guide` turns a group listing into meeting objects for other directories and
meeting finders (TSML UI, the Meeting Guide app) to read; the reader,
indexers.sources.meeting_guide, reads them back. The type codes both use, the conference
services TSML UI knows and the approximate places of online meetings are in
service.domain.meeting_guide. The export is rebuilt once per index (keyed by the index's build
time), not per request: a feed client polls it, and a city's worth of groups takes a moment
to convert.

What the format cannot say is left out and counted, never bent to fit: the spec lists weekly
meetings only, so a monthly session ("first Saturday of the month") is not exported (a reader
would take it for a weekly meeting); `MeetingGuideExport.left_out` says which and why.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from threading import Lock

from service.domain import vocab
from service.domain.geo import AU_STATE_NAMES, COUNTRY_IN_ADDRESS
from service.domain.meeting_guide import (
    DAY_NAMES, NEWCOMER_TEXT, STATE_POINTS, TYPE_CODES, ZONE_STATES, conference_provider,
)

_cache: dict = {}
_lock = Lock()

# Writing uses the first code TYPE_CODES lists for a value (its preferred code). Online
# attendance has no code: the spec removed ONL, and clients derive "online" from the meeting's
# conference_url and conference_phone.
_CODE_FOR_VALUE: dict[tuple[str, object], str] = {}
for _code, _target in TYPE_CODES.items():
    if _code != "ONL":
        _CODE_FOR_VALUE.setdefault(_target, _code)

# Why a session is left out of the export (the text `linkage check-feed` and the
# feed's X-Linkage-Left-Out header give).
NOT_WEEKLY = "not weekly: the Meeting Guide format lists weekly meetings only"

# The spec's longest slug, and the length of the id digest that keeps a cut slug unique.
MAX_SLUG = 64
_DIGEST = 10

# A tag ("<img src=x>", "</b>", "<!-- -->"); "Ages <18" and "AA & Al-Anon" are not tags.
_TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")

# Characters a dial string keeps (the spec: digits, "+" for international dialling, "," "*"
# "#" for one-tap links); anything else (spaces, dashes, brackets, words) is dropped.
_NOT_DIALLED = re.compile(r"[^0-9+,*#]")


@dataclass(frozen=True)
class LeftOut:
    """A session the export leaves out, and why."""

    listing_id: str
    name: str
    weekday: str
    start: str
    monthly: str | None
    reason: str


@dataclass
class MeetingGuideExport:
    """The feed's meetings, and the sessions left out of it."""

    meetings: list[dict] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)

    def text(self) -> str:
        """The feed as compact JSON text."""
        return json.dumps(self.meetings, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class PublishedFeed:
    """The feed's text with its counts, as the feed's URL serves it."""

    text: str
    meetings: int
    left_out: int


def export_listings(listings, at: datetime | None = None) -> MeetingGuideExport:
    """Every active group of `listings` as Meeting Guide meetings, with what was left out."""
    export = MeetingGuideExport()
    used: set[str] = set()
    for listing in listings:
        if listing.kind == "group" and listing.status != "inactive":
            for meeting in to_meeting_guide(listing, at=at):
                slug, extra = meeting["slug"], 1
                while meeting["slug"] in used:
                    # Only cut slugs can clash (their digests would have to agree); the later
                    # meeting is numbered rather than lost.
                    extra += 1
                    meeting["slug"] = f"{slug[:MAX_SLUG - 4]}-{extra}"
                used.add(meeting["slug"])
                export.meetings.append(meeting)
            export.left_out.extend(left_out_sessions(listing))
    return export


def meeting_guide_feed(backend, now: datetime) -> PublishedFeed:
    """The feed of every active group in the backend, built once per index build."""
    built = backend.info().get("built_at")
    with _lock:
        cached = _cache.get(id(backend))
        if cached and cached[0] == built and built is not None:
            return cached[1]
    export = export_listings(backend.listings(), at=now)
    published = PublishedFeed(export.text(), len(export.meetings), len(export.left_out))
    with _lock:
        _cache[id(backend)] = (built, published)
    return published


def meeting_guide_text(backend, now: datetime) -> str:
    """The Meeting Guide JSON array of every active group, as text."""
    return meeting_guide_feed(backend, now).text


def left_out_sessions(listing) -> list[LeftOut]:
    """The sessions of a listing that the export leaves out (monthly ones), with the reason."""
    return [LeftOut(listing.id, listing.name, s.weekday, s.start, s.monthly, NOT_WEEKLY)
            for s in listing.sessions if s.monthly]


def to_meeting_guide(listing, at: datetime | None = None) -> list[dict]:
    """Meeting Guide meeting objects for a group listing: one per weekly session.

    Monthly sessions are left out (`left_out_sessions` lists them). A listing without any
    session becomes one "by appointment" meeting without day and time; one whose sessions are
    all monthly becomes none. `updated` is the listing's `updated_at`, else `at` (the export's
    time; naive means UTC) when given, else left out. Only what the format carries is written:
    stance fields (approach, goals, ...) have no place in it.
    Raises ValueError for services and helplines, which are not meetings.
    """
    if listing.kind != "group":
        raise ValueError(f"{listing.id}: only group listings are meetings (kind is {listing.kind})")
    base = _export_base(listing, at)
    name = plain_text(listing.name, one_line=True)
    weekly = [s for s in listing.sessions if not s.monthly]
    if listing.sessions and not weekly:
        return []
    # Two sessions on the same day at the same time are told apart by their end (a session
    # listed twice over is one meeting).
    starts = [(s.weekday, s.start) for s in weekly]
    meetings, seen = [], set()
    for session in weekly or (None,):
        if session is None:
            slug = slug_for(listing.id, None)
        else:
            slug = slug_for(listing.id, session, with_end=starts.count((session.weekday, session.start)) > 1)
        if slug in seen:
            continue
        seen.add(slug)
        meeting = {"name": name, "slug": slug}
        if session is not None:
            meeting |= {"day": DAY_NAMES.index(session.weekday), "time": session.start,
                        "end_time": session.end}
        meeting |= base
        notes = plain_text(listing.description)
        if notes:
            meeting["notes"] = notes
        meetings.append(meeting)
    return meetings


def slug_for(listing_id: str, session, *, with_end: bool = False) -> str:
    """A meeting's slug: the listing id, then the session's day and start ("demo~g0001-wed-1800"),
    or "-appointment" for a meeting without sessions.

    It depends only on the listing and the session, never on the order of the sessions, so a
    bookmark survives an edit. It cannot collide: the id's ":" becomes "~", a character ids
    never hold (so "a:b" and "a-b" stay apart), and the tail has a fixed form that no day name
    or time can be confused with. `with_end` adds the end ("-wed-1800-1930") for a listing
    with two sessions starting on the same day at the same time. A slug that would pass the
    spec's 64 characters is cut, with a digest of the id to keep it apart.
    """
    root = listing_id.replace(":", "~")
    if session is None:
        tail = "-appointment"
    else:
        tail = f"-{session.weekday}-{session.start.replace(':', '')}"
        if with_end:
            tail += f"-{session.end.replace(':', '')}"
    if len(root) + len(tail) > MAX_SLUG:
        # The spec's limit. A longer id keeps its start and gains a digest of the whole id, so
        # it stays stable and apart from others (`export_listings` also checks for clashes).
        digest = hashlib.sha256(listing_id.encode()).hexdigest()[:_DIGEST]
        root = f"{root[:MAX_SLUG - len(tail) - _DIGEST - 1]}-{digest}"
    return f"{root}{tail}"


def plain_text(text: str, *, one_line: bool = False) -> str:
    """Text without tags, as the spec wants names and notes ("No HTML ... It is plain text").

    Import already makes names plain text; this keeps the feed plain whatever a store holds
    (an index built before that, a listing written by another tool). Entities are left as
    they are: a store holds text, not HTML. `one_line` also turns runs of white space into
    one space.
    """
    previous = None
    while previous != text:
        previous, text = text, _TAG.sub("", text)
    return " ".join(text.split()) if one_line else text.strip()


def dial_string(phone: str | None) -> str | None:
    """A phone number in the spec's conference_phone form: digits, a leading "+", and "," "*"
    "#" for one-tap links ("(02) 5550 7566" -> "0255507566"); None when no digit is left."""
    if not phone:
        return None
    kept = _NOT_DIALLED.sub("", phone)
    plus = kept.startswith("+")
    kept = kept.replace("+", "")
    if not any(c.isdigit() for c in kept):
        return None
    return ("+" if plus else "") + kept


def _export_base(listing, at: datetime | None) -> dict:
    """The fields every session's meeting object shares."""
    formats = set(listing.formats)
    remote = bool(formats & set(vocab.REMOTE_FORMATS))
    in_person = "in_person" in formats
    base: dict = {"timezone": listing.timezone, "types": _export_types(listing)}
    if listing.status == "inactive":
        base["attendance_option"] = "inactive"
    elif in_person and remote:
        base["attendance_option"] = "hybrid"
    elif in_person:
        base["attendance_option"] = "in_person"
    else:
        # A phone-only meeting is "online" to Meeting Guide: it has a conference_phone.
        base["attendance_option"] = "online"
    contact = listing.contact
    website = contact.website
    if contact.conference_url:
        base["conference_url"] = contact.conference_url
        if conference_provider(contact.conference_url) is None:
            # TSML UI drops a link to a service it does not know (and its notes with it); the
            # meeting stays joinable through `website`, the button TSML UI shows for any link.
            # The listing's own site is still in `url`.
            base["conference_url_notes"] = f"Join online at {contact.conference_url}"
            website = contact.conference_url
    dial = dial_string(contact.conference_phone)
    if dial:
        base["conference_phone"] = dial
    base |= _place(listing, in_person)
    if listing.updated_at:
        base["updated"] = f"{listing.updated_at[:10]} 00:00:00"
    elif at is not None:
        # The spec's `updated` is UTC; a naive `at` is taken to be UTC already.
        stamp = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        base["updated"] = stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if contact.website:
        base["url"] = contact.website
    # A group listing is the group; TSML UI lists a group's other meetings on each one's page.
    base["group"] = plain_text(listing.name, one_line=True)
    for key, value in (("website", website), ("email", contact.email), ("phone", contact.phone),
                       ("entity", listing.source.name), ("entity_url", listing.source.url)):
        if value:
            base[key] = value
    return base


def _place(listing, in_person: bool) -> dict:
    """Address, point, approximate flag and regions.

    A meeting attended in person has its address, and the point when it is exact (a rough one,
    such as a suburb's centre, is left for clients to geocode from the address). A meeting
    only online or by phone is not somewhere to go: it gets an approximate place (`approximate:
    "yes"`), which the spec's FAQ asks for and without which TSML UI does not list it: its own
    address without the street when it has one, else its service area's state (an area the
    size of a country: the state of the meeting's time zone), with a point for the state.
    """
    location = listing.location
    if location is not None and in_person:
        place = {"formatted_address": format_address(location), "country": location.country,
                 "approximate": "no" if location.address else "yes"}
        if not location.approximate:
            place |= {"latitude": location.lat, "longitude": location.lon}
        return place | _regions(location.state, location.locality, location.country)
    if location is not None:
        rough = replace(location, address=None)
        return ({"formatted_address": format_address(rough), "country": location.country,
                 "latitude": location.lat, "longitude": location.lon, "approximate": "yes"}
                | _regions(location.state, location.locality, location.country))
    country, state = _service_area_place(listing)
    if country is None:
        return {}
    place: dict = {"country": country, "approximate": "yes"}
    country_name = COUNTRY_IN_ADDRESS.get(country, country)
    if state in STATE_POINTS and country == "AU":
        place["formatted_address"] = f"{AU_STATE_NAMES[state]}, {country_name}"
        place["latitude"], place["longitude"] = STATE_POINTS[state]
    elif state is not None:
        place["formatted_address"] = f"{state}, {country_name}"
    else:
        place["formatted_address"] = country_name
    return place | _regions(state, None, country)


def _service_area_place(listing) -> tuple[str | None, str | None]:
    """(country, Australian state or None) an online meeting without an address comes from."""
    areas = listing.service_area
    for area in areas:
        if area in vocab.STATES:
            return "AU", area
    for area in areas:
        if area == "AU":
            return "AU", ZONE_STATES.get(listing.timezone)
    for area in areas:
        if "-" in area:  # ISO 3166-2, "US-DE": the country, then its subdivision
            country, subdivision = area.split("-", 1)
            return country, subdivision
    return (areas[0], None) if areas else (None, None)


def _regions(state: str | None, locality: str | None, country: str) -> dict:
    """`regions`, most general first: the state (by name in Australia), then the town."""
    if state and country == "AU":
        state = AU_STATE_NAMES.get(state, state)
    regions = [part for part in (state, locality) if part]
    return {"regions": regions} if regions else {}


def _export_types(listing) -> list[str]:
    """Type codes for what the listing says, by the reverse of TYPE_CODES."""
    wanted: list[tuple[str, object]] = [("open_meeting", listing.open_meeting)]
    wanted += [("audiences", a) for a in listing.audiences]
    wanted += [("languages", lang) for lang in listing.languages]
    wanted += [("accessibility", a) for a in listing.accessibility]
    if listing.first_visit.what_to_expect == NEWCOMER_TEXT:
        wanted.append(("first_visit", NEWCOMER_TEXT))
    if listing.status == "temporarily_closed":
        wanted.append(("status", "temporarily_closed"))
    codes = [_CODE_FOR_VALUE[w] for w in wanted if w in _CODE_FOR_VALUE]
    return list(dict.fromkeys(codes))


def format_address(location) -> str:
    """A one-line address ("18 Olive Ave, Rehoboth Beach, DE 19971, USA") that the feed
    reader (indexers.sources.meeting_guide.parse_address) splits back into the same parts."""
    region = " ".join(p for p in (location.state, location.postcode) if p)
    parts = [location.address, location.locality, region,
             COUNTRY_IN_ADDRESS.get(location.country, location.country)]
    return ", ".join(p for p in parts if p)
