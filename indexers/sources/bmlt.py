"""BMLT root servers (Narcotics Anonymous' meeting lists): read GetSearchResults into listings.

A BMLT root server (bmlt-enabled/bmlt-server) answers
`client_interface/json/?switcher=GetSearchResults` with a JSON array of meetings, or, with
`get_used_formats=1`, an object `{"meetings": [...], "formats": [...]}`; `switcher=GetFormats`
lists the server's format codes. A meeting (the server's `MeetingResource`) writes every value
as a string and `""` for missing: `id_bigint`, `meeting_name`, `weekday_tinyint` (1 = Sunday
... 7 = Saturday), `start_time` and `duration_time` ("HH:MM:SS"), `time_zone` (IANA or ""),
`venue_type` (1 in person, 2 virtual, 3 hybrid), `formats` (comma-separated key strings, which
each server may name as it likes) and `format_shared_id_list` (the same formats by id),
`latitude`/`longitude`, `location_text` (venue), `location_info`, `location_street`,
`location_municipality`, `location_province`, `location_postal_code_1`, `location_nation`,
`comments`, `virtual_meeting_link`, `virtual_meeting_additional_info`, `phone_meeting_number`.
Servers leave fields out (older versions, or a `data_field_key` query): the recorded responses
in tests/fixtures/feeds/bmlt have no venue_type, duration_time or time_zone at all.

A format (the server's `FormatResource`) has `key_string`, `id` (its shared id), `world_id`
(the NAWS code, the same on every server: OPEN, CLOSED, WCHR, VM, HYBR, TC, LANG, ...),
`format_type_enum` (LANG for languages) and `name_string`. Meanings are read from `world_id`,
so a server's own key strings do not matter; VM, HY and TC are key strings every server must
keep, so they are read from the key too.

`read_bmlt` reads a saved response; `fetch_root_server` asks a root server itself, page by page.
Each meeting yields one `indexers.records.Record`; problems name BMLT's fields.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Iterable, Iterator

from indexers.records import Problem, ReadOptions, Record, shorten
from indexers.sources.meeting_guide import clean_text
from indexers.sources.native import FeedError
from service.domain import vocab
from service.domain.geo import COUNTRY_NAMES
from service.domain.meeting_guide import DAY_NAMES, NEWCOMER_TEXT
from service.domain.programs import canonical_program
from service.domain.schemas import (  # the schema's own limits: never drift from them
    MAX_ADDRESS, MAX_CONFERENCE_PHONE, MAX_DESCRIPTION, MAX_LOCALITY, MAX_NAME, MAX_POSTCODE, MAX_STATE,
)
from service.domain.schedule import hhmm
from service.domain.zones import known_zone

# BMLT is Narcotics Anonymous' software; a feed of another fellowship says so with --program.
DEFAULT_PROGRAM = "Narcotics Anonymous"

# A meeting marked neither open nor closed is closed unless the server says otherwise
# (GetServerInfo `default_closed_status`, true as BMLT ships; bmlt-server's NAWS export
# reads it the same way).
DEFAULT_CLOSED = True

# The server's default duration when a meeting has none (GetServerInfo `defaultDuration`,
# "01:00" as BMLT ships and as the recorded server-info.json says).
DEFAULT_DURATION_MINUTES = 60

VENUE_TYPES = {"1": "in_person", "2": "virtual", "3": "hybrid"}

# Linkage's native field (or a prefix of it) -> the BMLT field it comes from, for reports.
FEED_FIELDS = {
    "id": "id_bigint",
    "name": "meeting_name",
    "description": "comments",
    "sessions": "weekday_tinyint",
    "sessions.0.weekday": "weekday_tinyint",
    "sessions.0.start": "start_time",
    "sessions.0.end": "duration_time",
    "timezone": "time_zone",
    "formats": "venue_type",
    "service_area": "location_nation",
    "location": "location_street",
    "location.address": "location_street",
    "location.locality": "location_municipality",
    "location.state": "location_province",
    "location.postcode": "location_postal_code_1",
    "location.country": "location_nation",
    "location.lat": "latitude",
    "location.lon": "longitude",
    "contact.conference_url": "virtual_meeting_link",
    "contact.conference_phone": "phone_meeting_number",
    "open_meeting": "formats",
    "languages": "formats",
    "audiences": "formats",
    "accessibility": "formats",
    "first_visit": "formats",
    "status": "formats",
}

# --- Formats --------------------------------------------------------------------------------
# NAWS codes (world_id) -> what they mean for a listing. Codes for a meeting's content (BT
# Basic Text, STEP, SPK, ...) are not recorded by listings and are left out.
WORLD_IDS: dict[str, tuple[str, object]] = {
    "OPEN": ("open_meeting", True),
    "CLOSED": ("open_meeting", False),
    "WCHR": ("accessibility", "wheelchair_access"),
    "W": ("audiences", "women"),
    "M": ("audiences", "men"),
    "GL": ("audiences", "lgbtiq"),
    "Y": ("audiences", "young_people"),
    "BEG": ("first_visit", NEWCOMER_TEXT),
    "VM": ("venue", "virtual"),
    "HYBR": ("venue", "hybrid"),
    "TC": ("status", "temporarily_closed"),
}
# Key strings the server reserves (bmlt-server's FormatTranslationKey rule): the same everywhere.
RESERVED_KEYS = {"VM": "VM", "HY": "HYBR", "TC": "TC"}

# The stock English formats BMLT installs (key_string -> world_id and name, as in the recorded
# GetFormats, tests/fixtures/feeds/bmlt/formats.json). Used only for a saved response that
# carries no formats of its own; a server may have renamed them, so a response from
# `get_used_formats=1` or a root server's URL is the better source.
STOCK_FORMATS = (
    {"key_string": "O", "id": "17", "world_id": "OPEN", "name_string": "Open"},
    {"key_string": "C", "id": "4", "world_id": "CLOSED", "name_string": "Closed"},
    {"key_string": "WC", "id": "33", "world_id": "WCHR", "name_string": "Wheelchair"},
    {"key_string": "B", "id": "1", "world_id": "BEG", "name_string": "Beginners"},
    {"key_string": "W", "id": "32", "world_id": "W", "name_string": "Women"},
    {"key_string": "M", "id": "15", "world_id": "M", "name_string": "Men"},
    {"key_string": "YP", "id": "34", "world_id": "Y", "name_string": "Young People"},
    {"key_string": "GL", "id": "10", "world_id": "GL", "name_string": "Gay/Lesbian/Transgender"},
    {"key_string": "ES", "id": "9", "world_id": "LANG", "name_string": "Espanol", "format_type_enum": "FC3"},
    {"key_string": "VM", "world_id": "VM", "name_string": "Virtual Meeting"},
    {"key_string": "HY", "world_id": "HYBR", "name_string": "Hybrid"},
    {"key_string": "TC", "world_id": "TC", "name_string": "Temporarily Closed"},
)

# Language formats name their language by key ("ES", "fr") or by name ("Espanol", "Deutsch").
LANGUAGE_NAMES = {
    "english": "en", "spanish": "es", "espanol": "es", "español": "es", "french": "fr",
    "français": "fr", "francais": "fr", "german": "de", "deutsch": "de", "italian": "it",
    "italiano": "it", "portuguese": "pt", "português": "pt", "portugues": "pt", "polish": "pl",
    "polski": "pl", "russian": "ru", "русский": "ru", "persian": "fa", "farsi": "fa",
    "فارسی": "fa", "greek": "el", "ελληνικά": "el", "swedish": "sv", "svenska": "sv",
    "danish": "da", "dansk": "da", "dutch": "nl", "nederlands": "nl", "arabic": "ar",
    "العربية": "ar", "chinese": "zh", "中文": "zh", "vietnamese": "vi", "tiếng việt": "vi",
    "japanese": "ja", "日本語": "ja", "korean": "ko", "한국어": "ko", "hindi": "hi",
    "turkish": "tr", "türkçe": "tr", "ukrainian": "uk", "українська": "uk",
}
LANGUAGE_CODES = frozenset(LANGUAGE_NAMES.values())

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


@dataclass(frozen=True)
class FormatTable:
    """A server's formats, found by shared id and by key string."""

    by_id: dict
    by_key: dict

    @classmethod
    def of(cls, formats: Iterable) -> "FormatTable":
        """The table of a GetFormats list (entries that are not objects are skipped)."""
        entries = [f for f in formats if isinstance(f, dict)]
        by_id = {str(f["id"]).strip(): f for f in entries if _text(f.get("id"))}
        by_key = {str(f["key_string"]).strip(): f for f in entries if _text(f.get("key_string"))}
        return cls(by_id, by_key)

    def of_meeting(self, meeting: dict) -> list[dict]:
        """The meeting's formats: by `format_shared_id_list` when the server sends it (ids are
        what the server stores), else by the key strings in `formats`."""
        ids = _split(meeting.get("format_shared_id_list"))
        found = [self.by_id[i] for i in ids if i in self.by_id]
        if ids and found:
            return found
        keys = _split(meeting.get("formats"))
        return [self.by_key.get(k) or {"key_string": k} for k in keys]


def meaning(fmt: dict) -> tuple[str, object] | None:
    """What one format says about a listing (target field, value), or None for content formats."""
    world_id = (_text(fmt.get("world_id")) or "").upper()
    key = _text(fmt.get("key_string")) or ""
    if world_id == "LANG" or (_text(fmt.get("format_type_enum")) or "").upper() == "LANG":
        language = language_of(fmt)
        return ("languages", language) if language else None
    if world_id in WORLD_IDS:
        return WORLD_IDS[world_id]
    if key in RESERVED_KEYS:
        return WORLD_IDS[RESERVED_KEYS[key]]
    return None


def language_of(fmt: dict) -> str | None:
    """The ISO 639-1 code of a language format, from its key ("ES") or its name ("Espanol")."""
    key = (_text(fmt.get("key_string")) or "").casefold()
    if key in LANGUAGE_CODES:
        return key
    name = (_text(fmt.get("name_string")) or "").casefold()
    return LANGUAGE_NAMES.get(name)


# ==========================================================================================
# Reading
# ==========================================================================================


def read_bmlt(raw: bytes, options: ReadOptions, source: str) -> Iterator[Record]:
    """Records ("record N", 1-based) for each meeting of a saved GetSearchResults response.

    `raw` is a JSON array of meetings, or `{"meetings": [...], "formats": [...]}`. A response
    that cannot be read at all, or an unknown `options.timezone`, raises `FeedError` here,
    before any record.
    """
    meetings, formats = parse_response(raw, source)
    return read_meetings(meetings, formats, options, source)


def read_meetings(meetings: list, formats: list | None, options: ReadOptions, source: str,
                  default_closed: bool = DEFAULT_CLOSED) -> Iterator[Record]:
    """Records for meetings already parsed, with the server's formats (None: BMLT's stock set)
    and its `default_closed_status`."""
    if options.timezone is not None and known_zone(options.timezone) is None:
        raise FeedError(f"{source}: configured time zone {shorten(options.timezone)!r} "
                        "is not an IANA zone (e.g. Australia/Sydney)")
    table = FormatTable.of(formats if formats is not None else STOCK_FORMATS)
    return _records(meetings, table, options, source, default_closed)


def parse_response(raw: bytes, source: str) -> tuple[list, list | None]:
    """(meetings, formats or None) of a GetSearchResults response, or FeedError."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"{source}: not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"{source}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise FeedError(f"{source}: invalid JSON: nested too deeply") from None
    if isinstance(data, list):
        first = data[0] if data and isinstance(data[0], dict) else {}
        if "key_string" in first and "id_bigint" not in first:
            raise FeedError(f"{source}: a GetFormats answer, not GetSearchResults: it lists formats, not meetings")
        return data, None
    if isinstance(data, dict) and isinstance(data.get("meetings"), list):
        formats = data.get("formats")
        return data["meetings"], formats if isinstance(formats, list) else None
    raise FeedError(f"{source}: expected a BMLT GetSearchResults response (a JSON array of meetings, "
                    f"or an object with a \"meetings\" array), got {type(data).__name__}")


def looks_like_bmlt(data) -> bool:
    """True for a parsed GetSearchResults response (meetings carry id_bigint or weekday_tinyint)."""
    meetings = data.get("meetings") if isinstance(data, dict) else data
    if not isinstance(meetings, list) or not meetings or not isinstance(meetings[0], dict):
        return False
    return "id_bigint" in meetings[0] or "weekday_tinyint" in meetings[0]


def _records(meetings: list, table: FormatTable, options: ReadOptions, source: str,
             default_closed: bool) -> Iterator[Record]:
    for number, meeting in enumerate(meetings, start=1):
        position = f"record {number}"
        if not isinstance(meeting, dict):
            yield Record(source, position, None, (Problem("_record", "not a JSON object", shorten(meeting)),))
            continue
        record_id = _text(meeting.get("id_bigint"))
        record_name = _text(meeting.get("meeting_name"))
        data, problems, warnings, defaults = _translate(meeting, table, options, default_closed)
        if problems:
            yield Record(source, position, None, tuple(problems), defaults, record_id, record_name, FEED_FIELDS)
        else:
            yield Record(source, position, data, tuple(warnings), defaults, record_id, record_name, FEED_FIELDS)


def _translate(meeting: dict, table: FormatTable, options: ReadOptions, default_closed: bool = DEFAULT_CLOSED):
    """One meeting as native data, the problems that prevent it, the warnings (something
    dropped from a meeting that still loads), and the fields the program's stance may fill."""
    problems: list[Problem] = []
    warnings: list[Problem] = []

    listing_id = _listing_id(meeting, options, problems)
    name = _name(meeting.get("meeting_name"), problems)
    session = _session(meeting, problems)
    timezone = _timezone(meeting.get("time_zone"), options, problems)

    said: dict[str, list] = {}
    for fmt in table.of_meeting(meeting):
        found = meaning(fmt)
        if found:
            said.setdefault(found[0], []).append(found[1])

    venue = _venue(meeting.get("venue_type"), said, problems)
    location = _location(meeting, options, venue, problems, warnings)
    contact, dial_in_note = _contact(meeting, venue, problems, warnings)
    formats, status = _attendance(meeting, venue, said, location, contact, problems)

    data: dict = {
        "id": listing_id,
        "kind": "group",
        "name": name,
        "description": _description(meeting, formats, dial_in_note),
        "program": canonical_program(options.program) or options.program or DEFAULT_PROGRAM,
        "formats": formats,
        "location": location,
        "service_area": [],
        "timezone": timezone,
        "sessions": [session] if session else [],
        "open_24_7": False,
        "contact": contact,
        "registration_required": False,
        "cost": "free",
        "referral": "self",
        "accessibility": list(dict.fromkeys(said.get("accessibility", []))),
        "first_visit": {"what_to_expect": said["first_visit"][0]} if said.get("first_visit") else {},
        "source": options.source_block(),
        "updated_at": None,
        "verified_at": None,
        "status": status,
    }
    if any(f in vocab.REMOTE_FORMATS for f in formats):
        # Online attendance reaches anyone in the meeting's country (hybrid meetings too).
        data["service_area"] = [location["country"] if location else options.country]
    defaults = {"approach", "goals", "substances", "facilitation"}
    if said.get("audiences"):
        data["audiences"] = list(dict.fromkeys(said["audiences"]))
    else:
        defaults.add("audiences")
    if said.get("languages"):
        data["languages"] = list(dict.fromkeys(said["languages"]))
    if said.get("open_meeting"):
        # Marked both open and closed: closed, since sending a non-member to a closed
        # meeting is the worse mistake (the server reads it so too).
        data["open_meeting"] = False not in said["open_meeting"]
    else:
        data["open_meeting"] = not default_closed
    return data, problems, warnings, frozenset(defaults)


# --- Ids, names, times --------------------------------------------------------------------


def _listing_id(meeting: dict, options: ReadOptions, problems: list[Problem]) -> str | None:
    """`prefix:id_bigint`; an aggregator's answer (meetings of many servers) adds root_server_id."""
    value = _text(meeting.get("id_bigint"))
    if value is None or not re.fullmatch(r"[0-9]{1,19}", value):
        problems.append(Problem("id_bigint", "must be the meeting's number", shorten(meeting.get("id_bigint"))))
        return None
    server = _text(meeting.get("root_server_id"))
    if server and re.fullmatch(r"[0-9]{1,19}", server):
        return f"{options.id_prefix}:{server}-{value}"
    return f"{options.id_prefix}:{value}"


def _name(value, problems: list[Problem]) -> str | None:
    text = _text(value)
    name = " ".join(clean_text(text[:20 * MAX_NAME]).split()) if text else ""
    if not name:
        problems.append(Problem("meeting_name", "no name", shorten(value)))
        return None
    if len(name) > MAX_NAME:
        problems.append(Problem("meeting_name", f"longer than {MAX_NAME} characters ({len(name)})", shorten(name)))
        return None
    return name


def parse_clock(value, field: str, *, allow_24: bool = False) -> int | None | Problem:
    """Minutes in a BMLT "HH:MM:SS" (or "HH:MM") value; None when absent or ""; else a Problem
    naming `field`. Durations (`allow_24`) may be 24:00:00."""
    text = _text(value)
    if text is None:
        return None if value is None or isinstance(value, str) else Problem(field, "must be HH:MM:SS", shorten(value))
    match = _TIME.fullmatch(text)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
        if minutes <= 59 and seconds <= 59 and (hours <= 23 or (allow_24 and hours == 24 and minutes == 0)):
            return hours * 60 + minutes
    return Problem(field, "must be a time HH:MM:SS (24-hour)", shorten(value))


def _session(meeting: dict, problems: list[Problem]) -> dict | None:
    """The meeting's weekly session: weekday (1 = Sunday), start, and end from the duration."""
    raw_day = meeting.get("weekday_tinyint")
    day_text = _text(raw_day)
    weekday = None
    if day_text and re.fullmatch(r"[1-7]", day_text):
        weekday = DAY_NAMES[int(day_text) - 1]
    else:
        problems.append(Problem("weekday_tinyint", "must be 1-7 (1 = Sunday)", shorten(raw_day)))
    start = parse_clock(meeting.get("start_time"), "start_time")
    if start is None:
        problems.append(Problem("start_time", "no start time: a weekly meeting needs one",
                                shorten(meeting.get("start_time"))))
    elif isinstance(start, Problem):
        problems.append(start)
    duration = parse_clock(meeting.get("duration_time"), "duration_time", allow_24=True)
    if isinstance(duration, Problem):
        problems.append(duration)
    elif duration == 24 * 60:
        problems.append(Problem("duration_time", "a 24-hour meeting cannot be listed as a weekly session",
                                shorten(meeting.get("duration_time"))))
    if weekday is None or not isinstance(start, int) or not isinstance(duration, (int, type(None))):
        return None
    if not duration:
        # The server itself shows its default duration for "" and 00:00:00.
        duration = DEFAULT_DURATION_MINUTES
    return {"weekday": weekday, "start": hhmm(start), "end": hhmm((start + duration) % (24 * 60))}


def _timezone(value, options: ReadOptions, problems: list[Problem]) -> str | None:
    """The meeting's IANA zone, else the feed's (--timezone); never a guess."""
    text = _text(value)
    if text is not None:
        if known_zone(text):
            return text
        # A wrong zone is not replaced by the feed's: the meeting said something else.
        problems.append(Problem("time_zone", "not an IANA time zone (e.g. Australia/Sydney)", shorten(value)))
        return None
    if options.timezone:
        return options.timezone
    problems.append(Problem("time_zone", "no time zone: the meeting has none and none was given (--timezone)"))
    return None


# --- Venue, location, contact ---------------------------------------------------------------


def _venue(value, said: dict, problems: list[Problem]) -> str | None:
    """in_person, virtual or hybrid from venue_type; from the VM/HY formats when it is missing;
    None when neither says (then the address and links decide)."""
    text = _text(value)
    if text is not None:
        if text in VENUE_TYPES:
            return VENUE_TYPES[text]
        problems.append(Problem("venue_type", "must be 1 (in person), 2 (virtual) or 3 (hybrid)", shorten(value)))
        return None
    venues = said.get("venue", [])
    if "hybrid" in venues:
        return "hybrid"
    if "virtual" in venues:
        return "virtual"
    return None


def _location(meeting: dict, options: ReadOptions, venue: str | None, problems: list[Problem],
              warnings: list[Problem]) -> dict | None:
    """The listing's location (lat/lon None when the server has none: geocoded later)."""
    parts = {}
    for key, field, limit in (("address", "location_street", MAX_ADDRESS),
                              ("locality", "location_municipality", MAX_LOCALITY),
                              ("state", "location_province", MAX_STATE),
                              ("postcode", "location_postal_code_1", MAX_POSTCODE)):
        text = _plain(meeting.get(field))
        if key == "locality" and text is None:
            # Boroughs of big cities are kept in location_city_subsection.
            text = _plain(meeting.get("location_city_subsection"))
        if text is not None and len(text) > limit:
            problems.append(Problem(field, f"longer than {limit} characters", shorten(text)))
            text = None
        parts[key] = text
    lat = _coordinate(meeting.get("latitude"), -90, 90, "latitude", problems)
    lon = _coordinate(meeting.get("longitude"), -180, 180, "longitude", problems)
    if lat is None or lon is None or (lat == 0 and lon == 0):
        # Half a coordinate is no position, and servers write 0 for "unknown".
        lat = lon = None
    if not any(parts.values()) and lat is None:
        return None
    if venue == "virtual" and lat is None:
        # A virtual meeting's town without coordinates would have to be geocoded, and a
        # failed lookup would reject a meeting anyone can join; its service area says enough.
        return None
    nation = _plain(meeting.get("location_nation"))
    country = _country_code(nation)
    if nation and country is None:
        warnings.append(Problem("location_nation", f"not a country name or code; {options.country} used",
                                shorten(nation)))
    # A virtual meeting's place is its group's area, never a door to knock on; an address
    # without a street names a town.
    approximate = venue == "virtual" or parts["address"] is None
    return {**parts, "country": country or options.country, "lat": lat, "lon": lon, "approximate": approximate}


def _country_code(text: str | None) -> str | None:
    if not text:
        return None
    code = COUNTRY_NAMES.get(text.strip().casefold())
    if code:
        return code
    return text.strip().upper() if re.fullmatch(r"[A-Za-z]{2}", text.strip()) else None


def _coordinate(value, low: float, high: float, field: str, problems: list[Problem]) -> float | None:
    """A latitude or longitude from the server's string; None for ""."""
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        problems.append(Problem(field, "not a number", shorten(value)))
        return None
    if not low <= number <= high:
        problems.append(Problem(field, f"out of range ({low:g} to {high:g})", shorten(value)))
        return None
    return number


def _contact(meeting: dict, venue: str | None, problems: list[Problem], warnings: list[Problem]):
    """Contact fields, and a note for the description when the dial-in string was cut."""
    contact = {"phone": None, "email": None, "website": None, "conference_url": None,
               "conference_phone": None, "registration_url": None}
    link = _plain(meeting.get("virtual_meeting_link"))
    if link:
        url = _as_url(link)
        if venue == "in_person":
            # The server says the meeting is in person only: a stale link must not invite people online.
            warnings.append(Problem("virtual_meeting_link", "venue_type 1 (in person): the link is left out",
                                    shorten(link)))
        elif url is None:
            # The link is how people join: a wrong one is reported, not listed.
            problems.append(Problem("virtual_meeting_link", "not an http(s) address", shorten(link)))
        else:
            contact["conference_url"] = url
    phone = _plain(meeting.get("phone_meeting_number"))
    dial_in_note = None
    if phone:
        if venue == "in_person":
            warnings.append(Problem("phone_meeting_number", "venue_type 1 (in person): the number is left out",
                                    shorten(phone)))
        elif len(phone) <= MAX_CONFERENCE_PHONE:
            contact["conference_phone"] = phone
        else:
            head = phone[:MAX_CONFERENCE_PHONE]
            contact["conference_phone"] = head.rsplit(",", 1)[0].rstrip(",") if "," in head else head
            dial_in_note = f"Dial-in (one tap): {phone}"
            warnings.append(Problem("phone_meeting_number", f"cut to {MAX_CONFERENCE_PHONE} characters; the full "
                                    "dial string is in the description", shorten(phone)))
    return contact, dial_in_note


def _attendance(meeting: dict, venue: str | None, said: dict, location: dict | None, contact: dict,
                problems: list[Problem]) -> tuple[list[str], str]:
    """The listing's formats and status from the venue, the links and the TC format."""
    has_url, has_phone = bool(contact["conference_url"]), bool(contact["conference_phone"])
    if venue is None:
        # Older servers (and the recordings) send no venue_type: an address means in person,
        # a link or number means online too.
        in_person, remote = location is not None, has_url or has_phone
    else:
        in_person, remote = venue in ("in_person", "hybrid"), venue in ("virtual", "hybrid")
    closed = "temporarily_closed" in said.get("status", [])
    if closed:
        in_person = False  # the room is shut; an online part may carry on
    link_reported = any(p.field == "virtual_meeting_link" for p in problems)
    if remote and not (has_url or has_phone) and not _text(meeting.get("virtual_meeting_additional_info")):
        if venue == "virtual" and not closed and not link_reported:
            problems.append(Problem("virtual_meeting_link", "a virtual meeting (venue_type 2) with no "
                                    "virtual_meeting_link, phone_meeting_number or joining instructions"))
        remote = False
    formats = []
    if in_person:
        formats.append("in_person")
    if remote and (has_url or not has_phone):
        formats.append("online")
    if remote and has_phone:
        formats.append("phone")
    status = "active"
    if _text(meeting.get("published")) == "0":
        status = "inactive"  # only a signed-in administrator's answer holds unpublished meetings
    elif closed and not formats:
        status = "temporarily_closed"  # the room is shut and nothing runs online meanwhile
    if not formats and not problems:
        if status != "active":
            # Nothing runs now: the listing keeps the way it meets when it runs.
            formats = ["in_person"] if location else ["online"]
        else:
            problems.append(Problem("venue_type", "no way to attend: no address or coordinates and no "
                                    "virtual_meeting_link or phone_meeting_number", shorten(meeting.get("venue_type"))))
    if "in_person" in formats and location is None:
        problems.append(Problem("location_street", "an in-person meeting without an address or coordinates"))
    return formats, status


def _description(meeting: dict, formats: list[str], dial_in_note: str | None) -> str:
    """Plain text from the venue, the location notes, comments and joining notes, ≤ 2000 characters."""
    pieces: list[str] = []
    venue = _plain(meeting.get("location_text"))
    if venue and "in_person" in formats:
        pieces.append(f"Meets at {venue}.")
    for key, label in (("location_info", ""), ("comments", ""), ("virtual_meeting_additional_info", "Online: "),
                       ("phone_meeting_additional_info", "By phone: ")):
        text = _text(meeting.get(key))
        if text:
            cleaned = clean_text(text[:20 * MAX_DESCRIPTION], multiline=True)
            if cleaned:
                pieces.append(label + cleaned)
    if dial_in_note:
        pieces.append(dial_in_note)
    text = "\n\n".join(dict.fromkeys(pieces))
    if len(text) > MAX_DESCRIPTION:
        text = text[:MAX_DESCRIPTION - 1].rsplit(None, 1)[0].rstrip() + "…"
    return text


# --- Small helpers --------------------------------------------------------------------------


def _text(value) -> str | None:
    """A server value as stripped text; None for absent, "" and non-text (numbers are text too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value) if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(value, str):
        return value.strip() or None
    return None


def _plain(value) -> str | None:
    text = _text(value)
    return clean_text(text[:20 * MAX_ADDRESS]) or None if text else None


def _split(value) -> list[str]:
    """A comma-separated list ("O,RF,To"), blanks and repeats dropped."""
    text = _text(value)
    return list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip())) if text else []


def _as_url(text: str) -> str | None:
    """An http(s) URL ("zoom.us/j/1" gains "https://"); None for anything else."""
    if "://" not in text and re.match(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(/|$)", text):
        text = "https://" + text
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or "." not in (parsed.hostname or "") or " " in text:
        return None
    return text


# ==========================================================================================
# Asking a root server
# ==========================================================================================

# Meetings per GetSearchResults page, and the most pages asked for (a million meetings: more
# than every BMLT server in the world holds).
PAGE_SIZE = 500
MAX_PAGES = 2000


def endpoint(url: str) -> tuple[str, dict[str, str]]:
    """The server's `client_interface/json/` address and the search parameters the URL gives.

    `url` is a root server (".../main_server"), or its GetSearchResults query with a search of
    its own (`services=5&recursive=1`, `lat_val=...&long_val=...&geo_width_km=...`), kept.
    """
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    path = parts.path
    if "/client_interface/" in path:
        path = path[:path.index("/client_interface/")]
        switcher = query.pop("switcher", "GetSearchResults")
        if switcher != "GetSearchResults":
            raise FeedError(f"{url}: a BMLT address must be the root server or its GetSearchResults query "
                            f"(switcher={shorten(switcher)})")
    else:
        query = {}
    for paging in ("page_size", "page_num", "callback"):
        query.pop(paging, None)
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/client_interface/json/", "", ""))
    return base, query


def fetch_root_server(url: str, *, max_bytes: int, timeout_s: float, deadline_s: float,
                      page_size: int = PAGE_SIZE) -> tuple[list, list, bool]:
    """(meetings, formats, default_closed) from a root server: GetFormats, GetServerInfo, then
    GetSearchResults page by page.

    Bounded like any fetch: each request by `timeout_s`, all of them together by `max_bytes`
    and `deadline_s`. A server too old to page answers every page with the same meetings:
    the first page that brings nothing new ends the loop.
    """
    base, search = endpoint(url)
    started = time.monotonic()
    budget = [max_bytes]

    def get(params: dict):
        if time.monotonic() - started > deadline_s:
            raise FeedError(f"{url}: the server took longer than {deadline_s:g} s in all")
        address = base + "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(address, headers={"User-Agent": "linkage-indexer",
                                                           "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                raw = response.read(budget[0] + 1)
        except OSError as exc:
            raise FeedError(f"{address}: could not fetch: {exc}") from None
        budget[0] -= len(raw)
        if budget[0] < 0:
            raise FeedError(f"{url}: the answers are larger than {max_bytes // 2**20} MB")
        try:
            return json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise FeedError(f"{address}: not a BMLT JSON answer (is this a BMLT root server?)") from None

    formats = get({"switcher": "GetFormats"})
    if not isinstance(formats, list):
        raise FeedError(f"{base}?switcher=GetFormats: expected a JSON array of formats")
    try:
        info = get({"switcher": "GetServerInfo"})
    except FeedError:
        info = None  # only the open/closed default comes from it: the shipped one will do
    info = info[0] if isinstance(info, list) and info and isinstance(info[0], dict) else {}
    default_closed = info.get("default_closed_status", DEFAULT_CLOSED) not in (False, "0", "false", 0)
    meetings: list = []
    seen: set = set()
    params = {"switcher": "GetSearchResults", **search}
    # A stable order, so pages neither repeat nor skip meetings with equal weekday and time.
    params.setdefault("sort_keys", "id_bigint")
    for page in range(1, MAX_PAGES + 1):
        answer = get({**params, "page_size": page_size, "page_num": page})
        if isinstance(answer, dict) and isinstance(answer.get("meetings"), list):
            answer = answer["meetings"]
        if not isinstance(answer, list):
            raise FeedError(f"{base}: GetSearchResults page {page}: expected a JSON array of meetings")
        fresh = [m for m in answer if not isinstance(m, dict) or _page_key(m) not in seen]
        if not any(isinstance(m, dict) for m in fresh):
            break
        seen.update(_page_key(m) for m in fresh if isinstance(m, dict))
        meetings.extend(fresh)
        if len(answer) < page_size:
            break
    return meetings, formats, default_closed


def _page_key(meeting: dict):
    return (meeting.get("root_server_id"), meeting.get("id_bigint"))
