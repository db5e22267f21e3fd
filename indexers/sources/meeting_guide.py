"""Meeting Guide JSON feeds (code4recovery/spec): read them into listings.

The format: a JSON array of meetings, each with `name`, `slug`, `day` (0-6, Sunday = 0),
`time`/`end_time` (24-hour "HH:MM"), an optional IANA `timezone`, `types` (codes from the
spec's data/types.json), an address (`formatted_address`, or `address`/`city`/`state`/
`postal_code`/`country`), `latitude`/`longitude`, `approximate` ("yes"/"no"),
`conference_url`/`conference_phone`, `notes`, `updated` and `url`. The 12 Step Meeting List
plugin adds `attendance_option` (in_person, online, hybrid, inactive) and the non-spec
type `ONL` (online). Real feeds bend the spec (12-hour times, day arrays, US-style dates,
strings for numbers, explicit nulls), so the reader accepts those variants; it never
guesses what a feed did not say (above all the time zone).

`read_meeting_guide` yields one `indexers.records.Record` per meeting. The type codes are
in `service.domain.meeting_guide`, shared with the feed Linkage publishes
(`service.render.meeting_guide.to_meeting_guide`, which writes what `parse_address` reads).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
from datetime import datetime
from typing import Iterator, Mapping

from marshmallow import ValidationError
from marshmallow import validate as mm_validate

from indexers.records import Problem, ReadOptions, Record, plain_name, shorten, strip_markup
from indexers.sources.native import FeedError, decode, parse_json
from service.domain import vocab
from service.domain.geo import AU_STATE_NAMES, COUNTRIES_WITH_STATES, COUNTRY_NAMES, au_state_code
from service.domain.meeting_guide import DAY_NAMES, TYPE_CODES
from service.domain.programs import canonical_program
from service.domain.schemas import (  # the schema's own limits: never drift from them
    ID_UNSAFE, MAX_ADDRESS, MAX_CONFERENCE_PHONE, MAX_DESCRIPTION, MAX_ID_PART, MAX_LOCALITY, MAX_NAME, MAX_PHONE,
    MAX_POSTCODE, MAX_STATE,
)
from service.domain.text import HIDDEN_CHARACTERS
from service.domain.schedule import hhmm
from service.domain.zones import known_zone

# --- Type codes ---------------------------------------------------------------------------
# Lookups ignore case ("12x12", "lgbtq"): the codes are otherwise unambiguous.
_CODES_BY_UPPER = {code.upper(): code for code in TYPE_CODES}

# --- Days and times -----------------------------------------------------------------------
# ASCII digits only: Python's \d and int() also accept other scripts' digits ("٣").
_TIME_24 = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_TIME_12 = re.compile(r"([0-9]{1,2})(?:[:.]([0-9]{2}))?(?::([0-9]{2}))?\s*([ap])\.?\s*m\.?", re.I)
# When an end time is missing, the spec (and the apps that read it) take one hour.
DEFAULT_DURATION_MINUTES = 60

# --- Text limits (those of service.domain.schemas.ListingSchema) ---------------------------------
# Strings are cut to this before HTML parsing: nothing past it can reach a 2000-character
# description, and parsing a 1 MB string of markup would only cost time.
_MAX_PARSED = 20 * MAX_DESCRIPTION

# Address tails: "DE 19971", "AB T6E 4E8", "Sydney NSW 2000", "London WC2H 0EW", "10119 Berlin".
_POSTCODE = r"[0-9]{5}(?:-[0-9]{4})?|[0-9]{4}|[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]"
_AU_TAIL = re.compile(rf"(?P<locality>.+?)\s+(?P<state>{'|'.join(AU_STATE_NAMES)})\s+(?P<postcode>[0-9]{{4}})")
_STATE_POSTCODE = re.compile(rf"(?P<state>[^\d,]+?)\s+(?P<postcode>{_POSTCODE})")
_POSTCODE_ONLY = re.compile(rf"(?P<postcode>{_POSTCODE})")
_UK_TAIL = re.compile(r"(?P<locality>.+?)\s+(?P<postcode>[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})")
_POSTCODE_FIRST = re.compile(r"(?P<postcode>[0-9]{4,5})\s+(?P<locality>\D.*)")
_STATE_CODE = re.compile(r"[A-Z]{2,3}")

_URL = mm_validate.URL(schemes={"http", "https"}, require_tld=True)
_EMAIL = mm_validate.Email()


# ==========================================================================================
# Reading
# ==========================================================================================


def read_meeting_guide(raw: bytes, options: ReadOptions, source: str, parsed=None) -> Iterator[Record]:
    """Records ("record N", 1-based as the native reader counts) for each meeting of a feed.

    `raw` is the feed's bytes: a JSON array of meetings, or an object whose `meetings` is
    one. The feed is parsed before this returns, so a feed that cannot be read at all (not
    UTF-8, not JSON, wrong top-level shape, an unknown `options.timezone`) raises
    `FeedError` here rather than midway through the records. Each meeting then yields a
    Record whose `data` is in the native listing shape without the program's stance fields
    (listed in `defaults_allowed`) and, when the feed has none, without coordinates; or
    `data=None` with the problems when the meeting cannot be translated. `parsed`: as
    `meeting_guide_entries` takes it.
    """
    return read_meetings(meeting_guide_entries(raw, options, source, parsed), options, source)


def meeting_guide_entries(raw: bytes, options: ReadOptions, source: str, parsed=None) -> list:
    """The feed's meetings as parsed JSON, each still to translate (`read_meetings`), or
    FeedError for a feed that cannot be read at all (see `read_meeting_guide`). `parsed`:
    the feed's JSON value, when the caller has parsed `raw` already (to detect its format)."""
    meetings = _parse_feed(raw, source) if parsed is None else meetings_of(parsed, source)
    if options.timezone is not None and known_zone(options.timezone) is None:
        raise FeedError(f"{source}: configured time zone {shorten(options.timezone)!r} "
                        "is not an IANA zone (e.g. America/New_York)")
    return meetings


def _parse_feed(raw: bytes, source: str) -> list:
    """The feed's list of meetings, or FeedError naming what is wrong with the whole feed."""
    # utf-8-sig (`decode`): feeds saved by Windows tools often start with a byte-order mark,
    # which is not an error in the data.
    return meetings_of(parse_json(decode(raw, source), source), source)


def meetings_of(feed, source: str) -> list:
    """The list of meetings of a parsed feed (an array, or an object with a "meetings"
    array), or FeedError saying what it is instead."""
    if isinstance(feed, dict) and isinstance(feed.get("meetings"), list):
        return feed["meetings"]
    if not isinstance(feed, list):
        raise FeedError(f"{source}: expected a JSON array of meetings "
                        f"(or an object with a \"meetings\" array), got {type(feed).__name__}")
    return feed


def read_meetings(meetings: list, options: ReadOptions, source: str, first_number: int = 1) -> Iterator[Record]:
    """Records of parsed meetings, numbered from `first_number`: each meeting translates on
    its own, so a run of a feed's meetings reads as it would within the whole feed."""
    for number, meeting in enumerate(meetings, start=first_number):
        position = f"record {number}"
        if not isinstance(meeting, dict):
            yield Record(source, position, None,
                         (Problem("_record", "not a JSON object", shorten(meeting)),))
            continue
        data, problems, warnings, defaults = _translate(meeting, options)
        named = {"record_id": _feed_id(meeting), "record_name": _as_text(meeting.get("name")),
                 "feed_fields": _FeedFields(meeting, len(data["sessions"]))}
        if problems:
            yield Record(source, position, None, tuple(problems), defaults, **named)
        else:
            # Problems on a record with data are warnings: something was dropped, the
            # meeting still loads (the pipeline reports them as such).
            yield Record(source, position, data, tuple(warnings), defaults, **named)


class _FeedFields(Mapping):
    """`feed_fields(meeting, sessions)`, worked out when a report first asks: most meetings
    load without a problem, and nothing else reads the names."""

    def __init__(self, meeting: dict, sessions: int):
        self._meeting, self._sessions, self._fields = meeting, sessions, None

    def _mapping(self) -> dict[str, str]:
        if self._fields is None:
            self._fields = feed_fields(self._meeting, self._sessions)
        return self._fields

    def __getitem__(self, key: str) -> str:
        if key == "id" and self._fields is None:
            return _id_field(self._meeting)  # all a report of a duplicate id asks
        return self._mapping()[key]

    def __iter__(self):
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


def _feed_id(meeting: dict) -> str | None:
    """The meeting's own identifier as its feed writes it: the slug, else the id."""
    for key in ("slug", "id"):
        text = _as_text(meeting.get(key))
        if text is not None and text.strip():
            return text.strip()
    return None


def _id_field(meeting: dict) -> str:
    """The Meeting Guide field a listing's id comes from: `slug`, else `id`."""
    return "slug" if _as_text(meeting.get("slug")) else "id"


def feed_fields(meeting: dict, sessions: int) -> dict[str, str]:
    """Linkage's field names -> this meeting's Meeting Guide fields, for the report.

    Each session comes from `day` (one per listed day), `time` and `end_time`; the address
    parts come from `formatted_address` (or a lone `address`) when the meeting has one,
    else from `address`, `city`, `state` and `postal_code`.
    """
    whole = _plain(meeting.get("formatted_address")) is not None or not any(
        _plain(meeting.get(key)) for key in ("city", "state", "postal_code"))
    address = _address_key(meeting)
    fields = {
        "id": _id_field(meeting),
        "name": "name",
        "description": "notes",
        "timezone": "timezone",
        "formats": "attendance_option",
        "status": "attendance_option",
        "updated_at": "updated",
        "location": address,
        "location.lat": "latitude",
        "location.lon": "longitude",
        "location.approximate": "approximate",
        "location.country": "country" if _plain(meeting.get("country")) else address,
        "contact.conference_url": "conference_url",
        "contact.conference_phone": "conference_phone",
        "contact.phone": "phone",
        "contact.email": "email",
        "contact.website": "url" if _plain(meeting.get("url")) else "website",
        "sessions": "day",
    }
    for part, key in _ATOMIC_KEYS.items():
        fields[f"location.{part}"] = address if whole else key
    for native in ("languages", "audiences", "accessibility", "open_meeting", "first_visit"):
        fields[native] = "types"
    for number in range(sessions):
        fields.update({f"sessions.{number}.weekday": "day", f"sessions.{number}.start": "time",
                       f"sessions.{number}.end": "end_time"})
    return fields


def _translate(meeting: dict, options: ReadOptions) -> tuple[dict, list[Problem], list[Problem], frozenset[str]]:
    """One meeting as native data, the problems that prevent it, the warnings (what was
    dropped from a meeting that still loads), and the fields the stance may fill."""
    problems: list[Problem] = []
    warnings: list[Problem] = []

    listing_id = _listing_id(meeting, options, problems)
    name = _name(meeting.get("name"), problems)

    sessions: list[dict] = []
    days = parse_days(meeting.get("day"))
    start = parse_time(meeting.get("time"))
    if _absent(meeting.get("day")) and _absent(meeting.get("time")):
        # No day and no time: the spec's "by appointment" meeting, listed without sessions.
        days, start = (), None
    else:
        if isinstance(days, Problem):
            problems.append(days)
        if isinstance(start, Problem):
            problems.append(start)
        elif start is None:
            problems.append(Problem("time", "no start time: a weekly meeting needs one"))
        end = _end_time(meeting.get("end_time"), start)
        if isinstance(end, Problem):
            problems.append(end)
        if not problems:
            sessions = [{"weekday": day, "start": hhmm(start), "end": hhmm(end)} for day in days]

    timezone = _timezone(meeting.get("timezone"), options, problems)
    codes = _type_codes(meeting.get("types"))
    location, country_known = _location(meeting, options, problems)
    contact, dial_in_note = _contact(meeting, problems, warnings)
    formats, status = _attendance(meeting, codes, location, contact, problems)

    data: dict = {
        "id": listing_id,
        "kind": "group",
        "name": name,
        "description": _description(meeting, location, formats, dial_in_note),
        "program": canonical_program(options.program) or options.program,
        "formats": formats,
        "location": location,
        "service_area": [],
        "timezone": timezone,
        "sessions": sessions,
        "open_24_7": False,
        "contact": contact,
        "registration_required": False,
        "cost": "free",
        "referral": "self",
        "accessibility": [],
        "first_visit": {},
        "source": options.source_block(),
        "updated_at": _updated(meeting.get("updated"), warnings),
        "verified_at": None,
        "status": status,
    }
    if any(f in vocab.REMOTE_FORMATS for f in formats):
        # Online attendance reaches anyone in the country, hybrid meetings included: the
        # meeting's own country when its address names one, else the feed's.
        data["service_area"] = [location["country"] if location and country_known else options.country]
        if "in_person" not in formats and _region_only(location):
            # An online meeting placed only in a state (the spec asks online meetings for an
            # approximate place): the state is whom it serves, not a place to go.
            data["service_area"] = [location["state"]] if location["state"] else [location["country"]]
            data["location"] = None

    defaults = {"approach", "goals", "substances", "facilitation"}
    audiences: list[str] = []
    languages: list[str] = []
    open_flags: set[bool] = set()
    for code in codes:
        target, value = TYPE_CODES[code]
        if target == "audiences":
            audiences.append(value)
        elif target == "languages":
            languages.append(value)
        elif target == "accessibility":
            data["accessibility"].append(value)
        elif target == "first_visit":
            data["first_visit"] = {"what_to_expect": value}
        elif target == "open_meeting":
            open_flags.add(value)
    if audiences:
        data["audiences"] = list(dict.fromkeys(audiences))
    else:
        # The feed said nothing about who the meeting is for: the program's stance decides
        # (everyone for AA, families for Al-Anon).
        defaults.add("audiences")
    if languages:
        data["languages"] = list(dict.fromkeys(languages))
    if open_flags:
        # A meeting marked both open and closed is treated as closed: sending someone who is
        # not a member to a closed meeting is the worse mistake.
        data["open_meeting"] = False not in open_flags
    data["accessibility"] = list(dict.fromkeys(data["accessibility"]))
    return data, problems, warnings, frozenset(defaults)


# --- Ids and names ------------------------------------------------------------------------


def _listing_id(meeting: dict, options: ReadOptions, problems: list[Problem]) -> str | None:
    """`prefix:slug` (or the feed's id), reduced to the characters listing ids allow."""
    for key in ("slug", "id"):
        value = meeting.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            continue
        part = _safe_id_part(str(value))
        if part:
            return f"{options.id_prefix}:{part}"
    problems.append(Problem("slug", "no slug or id: the meeting has no stable id",
                            shorten(meeting.get("slug"))))
    return None


def _safe_id_part(text: str) -> str:
    """Accents dropped, other unsafe characters as "-", long ids cut with a hash kept unique."""
    if text.isascii() and not ID_UNSAFE.search(text):
        # Most slugs are safe already: decomposing and replacing would give them back as
        # they are (NFKD leaves ASCII alone), at a tenth of a record's translation.
        part = text.strip("-")
    else:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        part = ID_UNSAFE.sub("-", ascii_text).strip("-")
    if len(part) > MAX_ID_PART:
        # Cutting alone could make two long slugs equal; a hash of the whole keeps them apart.
        digest = hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:10]
        part = f"{part[:MAX_ID_PART - 11]}-{digest}"
    return part


def _name(value, problems: list[Problem]) -> str | None:
    text = _as_text(value)
    if text is None:
        problems.append(Problem("name", "no name", shorten(value)))
        return None
    # The one rule for names every reader shares, then the hidden characters feed text loses.
    name = " ".join(HIDDEN_CHARACTERS.sub("", plain_name(text)).split())
    if not name:
        problems.append(Problem("name", "no name left after removing markup", shorten(text)))
        return None
    if len(name) > MAX_NAME:
        problems.append(Problem("name", f"longer than {MAX_NAME} characters ({len(name)})",
                                shorten(name)))
        return None
    return name


# --- Days, times, dates -------------------------------------------------------------------


def parse_days(value) -> tuple[str, ...] | Problem:
    """Weekday names ("sun".."sat") for a Meeting Guide `day`, or a Problem on `day`.

    Accepts 0-6 (Sunday = 0), their strings "0".."6", and arrays of either (repeats
    dropped, feed order kept). Anything else, including an empty array, is a Problem.
    """
    items = value if isinstance(value, list) else [value]
    if not items:
        return Problem("day", "no day: an empty list", "[]")
    days: list[str] = []
    for item in items:
        number = None
        if isinstance(item, int) and not isinstance(item, bool):
            number = item
        elif isinstance(item, str) and re.fullmatch(r"[0-9]", item.strip()):
            number = int(item.strip())
        if number is None or not 0 <= number <= 6:
            return Problem("day", "must be 0-6 (Sunday = 0) or a list of those", shorten(value))
        days.append(DAY_NAMES[number])
    return tuple(dict.fromkeys(days))


def parse_time(value, field: str = "time") -> int | None | Problem:
    """Minutes after midnight for a feed's time, None when absent, or a Problem on `field`.

    Accepts 24-hour "HH:MM" and "HH:MM:SS" (one-digit hours too), 12-hour "8:00 PM",
    "8 pm", "8:00pm", "8 p.m.", "12:00 AM" (midnight), and "noon"/"midnight". Seconds are
    dropped. Never raises.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        return Problem(field, "must be a time such as 19:30 or 7:30 PM", shorten(value))
    return _parse_time_text(value, field)


# Remembered: a feed writes a few dozen distinct times ("19:00", "7:30 PM") for thousands of
# meetings, and each is parsed twice (start and end). The answers are immutable.
@functools.lru_cache(maxsize=1024)
def _parse_time_text(value: str, field: str) -> int | None | Problem:
    text = value.strip()
    if not text:
        return None
    lowered = text.casefold()
    if lowered == "noon":
        return 12 * 60
    if lowered == "midnight":
        return 0
    match = _TIME_24.fullmatch(text)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
        if hours <= 23 and minutes <= 59 and seconds <= 59:
            return hours * 60 + minutes
        return Problem(field, "not a time of day (24-hour HH:MM)", shorten(value))
    match = _TIME_12.fullmatch(text)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2] or 0), int(match[3] or 0)
        if 1 <= hours <= 12 and minutes <= 59 and seconds <= 59:
            # 12 AM is midnight and 12 PM is noon: the hour 12 counts as 0 before adding 12.
            hours = hours % 12 + (12 if match[4].casefold() == "p" else 0)
            return hours * 60 + minutes
        return Problem(field, "not a time of day (12-hour h:mm AM/PM)", shorten(value))
    return Problem(field, "must be a time such as 19:30 or 7:30 PM", shorten(value))


def _updated(value, warnings: list[Problem]) -> str | None:
    """parse_updated, with a warning when a stamp is there but unreadable."""
    date = parse_updated(value)
    if date is None and not _absent(value):
        warnings.append(Problem("updated", "not a date; left out", shorten(value)))
    return date


def _end_time(value, start) -> int | Problem:
    """The end in minutes; a missing (or start-equal) end is one hour after the start."""
    if isinstance(value, str) and value.strip() == "24:00":
        # Some feeds write the midnight that ends a late meeting as 24:00.
        value = "00:00"
    end = parse_time(value, "end_time")
    if isinstance(end, Problem):
        return end
    if not isinstance(start, int):
        return 0  # the start's own problem is reported; this value is never used
    if end is None or end == start:
        # The spec: "It will default to one hour after the start time if omitted." An end
        # equal to the start would be a zero-length meeting, which is a data-entry slip.
        end = (start + DEFAULT_DURATION_MINUTES) % (24 * 60)
    return end


_UPDATED_FORMATS = (
    "%Y-%m-%d %H:%M:%S",      # the spec
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %I:%M:%S %p",   # US style, as hand-made feeds export it: 8/25/2022 11:17:07 AM
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
)


def parse_updated(value) -> str | None:
    """The date ("YYYY-MM-DD") of a feed's `updated` stamp, or None when it cannot be read.

    An unreadable stamp only loses the date, so it is not a problem with the meeting.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    for pattern in _UPDATED_FORMATS:
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    try:
        # ISO 8601 with "T", fractions or an offset; "Z" is spelled out for Python 3.11.
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


# --- Time zone ----------------------------------------------------------------------------


def _timezone(value, options: ReadOptions, problems: list[Problem]) -> str | None:
    """The meeting's IANA zone, else the feed's configured one; never a guess."""
    if not _absent(value):
        if isinstance(value, str) and known_zone(value.strip()):
            return value.strip()
        # A wrong zone is not replaced by the feed's: the meeting said something, and it
        # was not what the feed's zone is.
        problems.append(Problem("timezone", "not an IANA time zone (e.g. America/New_York)",
                                shorten(value)))
        return None
    if options.timezone:
        return options.timezone
    problems.append(Problem(
        "timezone", "no time zone: the meeting has none and the feed has none configured (--timezone)"))
    return None


# --- Types --------------------------------------------------------------------------------


def _type_codes(value) -> list[str]:
    """The known codes among a meeting's `types` (a list, or a comma-separated string)."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    codes = []
    for item in value:
        if isinstance(item, str):
            code = _CODES_BY_UPPER.get(item.strip().upper())
            if code and code not in codes:
                codes.append(code)
    return codes


# --- Location -----------------------------------------------------------------------------


def _location(meeting: dict, options: ReadOptions, problems: list[Problem]) -> tuple[dict | None, bool]:
    """The listing's location (lat/lon None when the feed has none), and whether the
    country came from the meeting rather than the feed's default."""
    parts = _address_parts(meeting, problems)
    lat = _coordinate(meeting.get("latitude"), -90, 90, "latitude", problems)
    lon = _coordinate(meeting.get("longitude"), -180, 180, "longitude", problems)
    if lat is None or lon is None or (lat == 0 and lon == 0):
        # Half a coordinate is no position; 0,0 is the Gulf of Guinea, which feeds write
        # for "unknown". The pipeline geocodes the address instead.
        lat = lon = None
    if parts is None and lat is None:
        return None, False
    parts = parts or {"address": None, "locality": None, "state": None, "postcode": None, "country": None}
    flag = meeting.get("approximate")
    if flag is None or flag == "":
        # The feed does not say: an address without a street ("Edmonton, Alberta, Canada")
        # names a town, not a door, as the spec asks online meetings to do.
        approximate = parts["address"] is None and any(parts.values())
    else:
        approximate = _yes_no(flag)
    country = parts.pop("country")
    return ({**parts, "country": country or options.country, "lat": lat, "lon": lon,
             "approximate": approximate}, country is not None)


def _region_only(location: dict | None) -> bool:
    """An approximate place that names only an Australian state or a country, without
    coordinates: no street, town or postcode to stand for."""
    return bool(location and location["approximate"] and location["lat"] is None
                and not (location["address"] or location["locality"] or location["postcode"])
                and (location["state"] is None or location["state"] in AU_STATE_NAMES))


def _address_parts(meeting: dict, problems: list[Problem]) -> dict | None:
    """address/locality/state/postcode/country from the feed's address fields, or None."""
    formatted = _plain(meeting.get("formatted_address"))
    atomic = {key: _plain(meeting.get(key)) for key in ("address", "city", "state", "postal_code")}
    explicit_country = _country_code(_plain(meeting.get("country")), explicit=True)
    if formatted is None and not any(atomic[k] for k in ("city", "state", "postal_code")):
        # One `address` string and nothing else is a whole address (hand-made feeds).
        formatted = atomic["address"]
    if formatted is not None:
        if len(formatted) > MAX_ADDRESS:
            problems.append(Problem(_address_key(meeting), f"longer than {MAX_ADDRESS} characters",
                                    shorten(formatted)))
            return None
        parts = parse_address(formatted)
    elif any(atomic.values()) or explicit_country:
        parts = {"address": atomic["address"], "locality": atomic["city"], "state": atomic["state"],
                 "postcode": atomic["postal_code"], "country": None}
    else:
        return None
    if explicit_country:
        parts["country"] = explicit_country
    for key, limit in (("address", MAX_ADDRESS), ("locality", MAX_LOCALITY),
                       ("state", MAX_STATE), ("postcode", MAX_POSTCODE)):
        if parts[key] is not None and len(parts[key]) > limit:
            # Named as the feed has it: the part of a formatted_address, or its own field.
            field = _address_key(meeting) if formatted is not None else _ATOMIC_KEYS[key]
            problems.append(Problem(field, f"longer than {limit} characters", shorten(parts[key])))
    return parts


# Linkage's location parts -> the Meeting Guide fields that give them one by one.
_ATOMIC_KEYS = {"address": "address", "locality": "city", "state": "state", "postcode": "postal_code"}


def _address_key(meeting: dict) -> str:
    """The field a meeting's whole address is in: formatted_address, else a lone address."""
    return "formatted_address" if _plain(meeting.get("formatted_address")) is not None else "address"


def parse_address(text: str) -> dict:
    """Split a one-line address ("18 Olive Ave, Rehoboth Beach, DE 19971, USA") into parts.

    Returns address, locality, state, postcode and country (ISO code, None when the last
    part names no known country). Best effort: parts it cannot tell apart stay in
    `address`; a lone place name without digits ("London, UK") is a locality.
    """
    # Hand-made feeds repeat themselves ("Edmonton, Alberta, Canada, Edmonton, Alberta, Canada").
    parts = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    result = {"address": None, "locality": None, "state": None, "postcode": None, "country": None}
    if parts and (code := _country_code(parts[-1], explicit=False)):
        result["country"] = code
        parts.pop()
    if parts:
        tail = parts[-1]
        if m := _AU_TAIL.fullmatch(tail):
            result.update(m.groupdict())
            parts.pop()
        elif m := _UK_TAIL.fullmatch(tail):
            result.update(m.groupdict())
            parts.pop()
        elif m := _POSTCODE_ONLY.fullmatch(tail):
            result["postcode"] = m["postcode"]
            parts.pop()
        elif (m := _STATE_POSTCODE.fullmatch(tail)) and len(parts) >= 2:
            result.update(m.groupdict())
            parts.pop()
        elif m := _POSTCODE_FIRST.fullmatch(tail):
            result.update(m.groupdict())
            parts.pop()
    if result["state"] is None and result["locality"] is None and len(parts) >= 2:
        tail = parts[-1]
        # A state is a code ("DE", "NSW"), or in countries whose addresses name one
        # ("Edmonton, Alberta, Canada") the last part before the country or postcode.
        if _STATE_CODE.fullmatch(tail) or (
                result["country"] in COUNTRIES_WITH_STATES and not re.search(r"[0-9]", tail)):
            result["state"] = parts.pop()
    if (result["state"] is None and result["locality"] is None and len(parts) == 1
            and result["country"] == "AU" and (state := au_state_code(parts[0]))):
        # A state on its own ("Victoria, Australia"): the approximate place an online
        # meeting gives (our own feed writes it so), not a town called Victoria.
        result["state"] = state
        parts.pop()
    if result["locality"] is None and parts and (len(parts) >= 2 or not re.search(r"[0-9]", parts[-1])):
        result["locality"] = parts.pop()
    result["address"] = ", ".join(parts) or None
    return result


def _country_code(text: str | None, *, explicit: bool) -> str | None:
    """ISO 3166 alpha-2 for a country name; two-letter codes only from a `country` field."""
    if not text:
        return None
    code = COUNTRY_NAMES.get(text.strip().casefold())
    if code:
        return code
    if explicit and re.fullmatch(r"[A-Za-z]{2}", text.strip()):
        return text.strip().upper()
    return None


def _coordinate(value, low: float, high: float, field: str, problems: list[Problem]) -> float | None:
    """A latitude or longitude (number or numeric string); None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        problems.append(Problem(field, "not a number", shorten(value)))
        return None
    if not low <= number <= high:
        problems.append(Problem(field, f"out of range ({low:g} to {high:g})", shorten(value)))
        return None
    return number


def _yes_no(value) -> bool:
    """The spec's stringified boolean ("yes"/"no"), real booleans and 1/0; absent is no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value == 1
    if isinstance(value, str):
        return value.strip().casefold() in ("yes", "true", "1", "y")
    return False


# --- Contact, attendance, description -----------------------------------------------------


def _contact(meeting: dict, problems: list[Problem], warnings: list[Problem]) -> tuple[dict, str | None]:
    """Contact fields, and a note for the description when the dial-in string was cut."""
    contact = {"phone": None, "email": None, "website": None, "conference_url": None,
               "conference_phone": None, "registration_url": None}
    conference_url = _plain(meeting.get("conference_url"))
    if conference_url:
        url = _as_url(conference_url)
        if url is None:
            # The link is how people join: a wrong one must not be listed, and dropping it
            # would leave an online meeting nobody can reach. Report it instead.
            problems.append(Problem("conference_url", "not an http(s) address", shorten(conference_url)))
        contact["conference_url"] = url
    # The meeting's page on the feed's site, else the feed's own `website` field. Broken
    # secondary contacts are dropped with a warning: the listing works without them.
    for key in ("url", "website"):
        text = _plain(meeting.get(key))
        if text and contact["website"] is None:
            contact["website"] = _as_url(text)
            if contact["website"] is None:
                warnings.append(Problem(key, "not an http(s) address; left out", shorten(text)))
    email = _plain(meeting.get("email"))
    if email:
        if _valid(_EMAIL, email):
            contact["email"] = email
        else:
            warnings.append(Problem("email", "not an email address; left out", shorten(email)))
    phone = _plain(meeting.get("phone"))
    if phone:
        if len(phone) <= MAX_PHONE:
            contact["phone"] = phone
        else:
            warnings.append(Problem("phone", f"longer than {MAX_PHONE} characters; left out", shorten(phone)))
    dial_in_note = None
    conference_phone = _plain(meeting.get("conference_phone"))
    if conference_phone:
        contact["conference_phone"], cut = _short_dial_string(conference_phone)
        if cut:
            dial_in_note = f"Dial-in (one tap): {conference_phone}"
            warnings.append(Problem("conference_phone", f"cut to {MAX_CONFERENCE_PHONE} characters; "
                                    "the full dial string is in the description", shorten(conference_phone)))
    return contact, dial_in_note


def _short_dial_string(text: str) -> tuple[str, bool]:
    """A dial-in string within the listing's 60 characters, cut at a pause (",")."""
    if len(text) <= MAX_CONFERENCE_PHONE:
        return text, False
    # One-tap strings ("+1555...,,meeting-id#,,#,,passcode#") run long; the number and the
    # meeting id come first, and the full string goes into the description.
    head = text[:MAX_CONFERENCE_PHONE]
    cut = head.rsplit(",", 1)[0].rstrip(",") if "," in head else head
    return cut, True


def _attendance(meeting: dict, codes: list[str], location: dict | None, contact: dict,
                problems: list[Problem]) -> tuple[list[str], str]:
    """Formats and status from attendance_option, ONL/TC and the conference fields."""
    option = meeting.get("attendance_option")
    option = option.strip().casefold() if isinstance(option, str) else None
    has_url = bool(contact["conference_url"])
    has_phone = bool(contact["conference_phone"])
    if option in ("in_person", "online", "hybrid"):
        in_person = option in ("in_person", "hybrid")
        remote = option in ("online", "hybrid")
    else:
        # No (or an unknown) attendance_option: decide as the 12 Step Meeting List plugin
        # does. A specific address means in person; a conference link or ONL means online.
        in_person = location is not None and not location["approximate"]
        remote = has_url or has_phone or "ONL" in codes
    if "TC" in codes:
        # "Location temporarily closed": the room is shut, an online part carries on.
        in_person = False
    formats = []
    if in_person:
        formats.append("in_person")
    if remote and (has_url or not has_phone):
        formats.append("online")
    if remote and has_phone:
        formats.append("phone")

    status = "inactive" if option == "inactive" else "active"
    if not formats:
        if "TC" in codes or status == "inactive":
            # Nothing runs now. The listing keeps the way it meets when it runs (a listing
            # needs a format), and its status keeps it out of searches.
            if status == "active":
                status = "temporarily_closed"
            formats = ["in_person"] if location else ["online"]
        else:
            problems.append(Problem(
                "attendance_option",
                "no way to attend: no specific address and no conference_url or conference_phone",
                shorten(meeting.get("attendance_option"))))
    if "in_person" in formats and location is None:
        problems.append(Problem("formatted_address", "an in-person meeting without an address or coordinates"))
    return formats, status


def _description(meeting: dict, location: dict | None, formats: list[str], dial_in_note: str | None) -> str:
    """Plain text from the meeting's notes, venue and joining instructions, ≤ 2000 chars."""
    pieces: list[str] = []
    venue = _plain(meeting.get("location"))
    address = _plain(meeting.get("formatted_address")) or _plain(meeting.get("address")) or ""
    if venue and "in_person" in formats and venue not in address:
        pieces.append(f"Meets at {venue}.")
    for key, label in (("notes", ""), ("location_notes", ""), ("group_notes", ""),
                       ("conference_url_notes", "Online: "), ("conference_phone_notes", "By phone: ")):
        text = _as_text(meeting.get(key))
        if text:
            cleaned = clean_text(text[:_MAX_PARSED], multiline=True)
            if cleaned:
                pieces.append(label + cleaned)
    if dial_in_note:
        pieces.append(dial_in_note)
    text = "\n\n".join(dict.fromkeys(pieces))
    if len(text) > MAX_DESCRIPTION:
        # Cut at a word boundary: a description is a summary, and the feed keeps the rest.
        text = text[:MAX_DESCRIPTION - 1].rsplit(None, 1)[0].rstrip() + "…"
    return text


# --- Text cleaning ------------------------------------------------------------------------


def clean_text(text: str, multiline: bool = False) -> str:
    """Plain text from feed text: markup removed, control characters removed, spaces tidied.

    Single-line text (names) has all whitespace collapsed; multi-line text (notes) keeps
    line breaks, at most one blank line in a row.
    """
    text = strip_markup(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Carriage returns are line breaks by now; the other hidden characters go.
    text = HIDDEN_CHARACTERS.sub("", text)
    if not multiline:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _absent(value) -> bool:
    """True for a field a feed left out, set to null, or left blank."""
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value) -> str | None:
    """Strings as they are, numbers as text (feeds write slugs and ids both ways)."""
    if value is None:  # absent: the most common after text
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _plain(value) -> str | None:
    """A one-line text field, cleaned; None when absent or empty."""
    if type(value) is str:  # most values, and most of the rest absent: no call to find out
        return _plain_text(value)
    if value is None:
        return None
    text = _as_text(value)
    if text is None:
        return None
    return _plain_text(text)


@functools.lru_cache(maxsize=1024)
def _plain_text(text: str) -> str | None:
    # Remembered: one meeting's address is cleaned four or five times (fields, description,
    # report names), and feeds repeat venues and towns.
    return clean_text(text[:_MAX_PARSED]) or None


def _as_url(text: str) -> str | None:
    """An http(s) URL; "www.example.org/x" gains its missing "https://"; else None."""
    if not text:
        return None
    if "://" not in text and re.match(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(/|$)", text):
        text = "https://" + text
    return text if _valid(_URL, text) else None


def _valid(validator, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True
