"""Feeds we publish: our groups re-exported in Meeting Guide format (code4recovery/spec).

`to_meeting_guide` turns a group listing into meeting objects for other directories to import
(the reader, indexers.sources.meeting_guide, reads them back; the type codes both use are in
service.domain.meeting_guide). The export is rebuilt once per index (keyed by the index's build
time), not per request: a feed client polls it, and a city's worth of groups takes a moment to
convert.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from threading import Lock

from service.domain import vocab
from service.domain.geo import COUNTRY_IN_ADDRESS
from service.domain.meeting_guide import DAY_NAMES, NEWCOMER_TEXT, TYPE_CODES
from service.domain.schemas import ID_UNSAFE

_cache: dict = {}
_lock = Lock()

# Writing uses the first code TYPE_CODES lists for a value (its preferred code).
_CODE_FOR_VALUE: dict[tuple[str, object], str] = {}
for _code, _target in TYPE_CODES.items():
    _CODE_FOR_VALUE.setdefault(_target, _code)


def meeting_guide_text(backend, now: datetime) -> str:
    """The Meeting Guide JSON array of every active group, as text."""
    built = backend.info().get("built_at")
    with _lock:
        cached = _cache.get(id(backend))
        if cached and cached[0] == built and built is not None:
            return cached[1]
    meetings = []
    for listing in backend.listings():
        if listing.kind == "group" and listing.status != "inactive":
            meetings.extend(to_meeting_guide(listing, at=now))
    text = json.dumps(meetings, ensure_ascii=False, separators=(",", ":"))
    with _lock:
        _cache[id(backend)] = (built, text)
    return text


_DAY_WORDS = {"sun": "Sunday", "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday",
              "thu": "Thursday", "fri": "Friday", "sat": "Saturday"}


def to_meeting_guide(listing, at: datetime | None = None) -> list[dict]:
    """Meeting Guide meeting objects for a group listing: one per session.

    Monthly sessions are exported too (the format only knows weekly meetings) with a note
    saying which week of the month. A listing without sessions becomes one "by
    appointment" meeting without day and time. `updated` is the listing's `updated_at`,
    else `at` (the export's time; naive means UTC) when given, else left out. Only what
    the format carries is written: stance fields (approach, goals, ...) have no place in it.
    Raises ValueError for services and helplines, which are not meetings.
    """
    if listing.kind != "group":
        raise ValueError(f"{listing.id}: only group listings are meetings (kind is {listing.kind})")
    base = _export_base(listing, at)
    sessions = listing.sessions or (None,)
    slug_root = ID_UNSAFE.sub("-", listing.id.replace(":", "-")).strip("-")
    meetings = []
    for index, session in enumerate(sessions, start=1):
        meeting = {"name": listing.name, "slug": f"{slug_root}-{index}", **base}
        notes = listing.description
        if session is not None:
            meeting["day"] = DAY_NAMES.index(session.weekday)
            meeting["time"] = session.start
            meeting["end_time"] = session.end
            if session.monthly:
                rule = (f"Meets on the {session.monthly} "
                        f"{_DAY_WORDS[session.weekday]} of the month only.")
                notes = f"{rule}\n\n{notes}" if notes else rule
        if notes:
            meeting["notes"] = notes
        meetings.append(meeting)
    return meetings


def _export_base(listing, at: datetime | None) -> dict:
    """The fields every session's meeting object shares."""
    formats = set(listing.formats)
    remote = bool(formats & set(vocab.REMOTE_FORMATS))
    base: dict = {"timezone": listing.timezone, "types": _export_types(listing)}
    if listing.status == "inactive":
        base["attendance_option"] = "inactive"
    elif "in_person" in formats and remote:
        base["attendance_option"] = "hybrid"
    elif "in_person" in formats:
        base["attendance_option"] = "in_person"
    else:
        # A phone-only meeting is "online" to Meeting Guide: it has a conference_phone.
        base["attendance_option"] = "online"
    contact = listing.contact
    if contact.conference_url:
        base["conference_url"] = contact.conference_url
    if contact.conference_phone:
        base["conference_phone"] = contact.conference_phone
    location = listing.location
    if location is not None:
        base["formatted_address"] = format_address(location)
        base["country"] = location.country
        base["latitude"] = location.lat
        base["longitude"] = location.lon
        base["approximate"] = "yes" if location.approximate else "no"
    if listing.updated_at:
        base["updated"] = f"{listing.updated_at[:10]} 00:00:00"
    elif at is not None:
        # The spec's `updated` is UTC; a naive `at` is taken to be UTC already.
        stamp = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        base["updated"] = stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if contact.website:
        base["url"] = contact.website
    return base


def _export_types(listing) -> list[str]:
    """Type codes for what the listing says, by the reverse of TYPE_CODES."""
    wanted: list[tuple[str, object]] = [("open_meeting", listing.open_meeting)]
    wanted += [("audiences", a) for a in listing.audiences]
    wanted += [("languages", lang) for lang in listing.languages]
    wanted += [("accessibility", a) for a in listing.accessibility]
    if listing.first_visit.what_to_expect == NEWCOMER_TEXT:
        wanted.append(("first_visit", NEWCOMER_TEXT))
    if set(listing.formats) & set(vocab.REMOTE_FORMATS):
        wanted.append(("formats", "online"))
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
