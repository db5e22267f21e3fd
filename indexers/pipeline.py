"""The import pipeline after reading: fill program defaults, geocode, validate, dedupe.

Records flow one way: reader -> `complete` (stance defaults) -> `geocode_location` ->
`validate` -> `dedupe` -> backend.load. Each step is a function of its input; problems
become `Rejection`s naming the source, the position, the field, what is wrong and the
offending value (cut short), and never stop the run.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Iterable

import orjson
from marshmallow import ValidationError

from service.domain import programs

from service.domain import geo

from service.domain import vocab
from service.domain.models import Listing
from service.domain.schemas import dump_listing, flatten_errors, listing_document, load_listing
from service.domain.text import BIDI_CONTROLS, normalise

from indexers.records import Problem, Record, plain_name, shorten

# Defaults for listings whose program the stance table does not know (DESIGN.md: "program
# stance when a feed does not say"). Groups in meeting feeds are mostly 12-step
# fellowships; a service of unknown stance is a clinical service that should not be hidden
# by a goal filter, so it lists every goal.
FALLBACK_STANCE = {
    "group": programs.Stance("twelve_step", ("abstinence",)),
    "service": programs.Stance("clinical", vocab.GOALS, facilitation="clinician_led"),
    "helpline": programs.Stance("clinical", vocab.GOALS, facilitation="clinician_led"),
}
STANCE_FIELDS = ("approach", "goals", "substances", "facilitation", "audiences")

# Duplicates: the same program meeting at the same weekday and time within this distance,
# under names at least this similar (difflib ratio over normalised names).
DUPLICATE_METRES = 100.0
DUPLICATE_NAME_SIMILARITY = 0.6


@dataclass(frozen=True)
class Rejection:
    """One record that did not load, as the report (JSON lines) shows it."""

    source: str
    position: str
    field: str  # as the feed names it
    problem: str
    value: str | None = None
    record_id: str | None = None  # the feed's own identifier of the record, when it has one
    record_name: str | None = None

    def __str__(self) -> str:
        shown = f" (value: {self.value})" if self.value is not None else ""
        return f"{self.source}: {self.where()}: {self.field}: {self.problem}{shown}"

    def where(self) -> str:
        """The record as its maintainer finds it: position, then the feed's id and name."""
        named = [f"id {self.record_id}"] if self.record_id else []
        if self.record_name:
            named.append(repr(self.record_name))
        return f"{self.position} ({', '.join(named)})" if named else self.position

    def as_json(self) -> str:
        """One line of the --report file."""
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass
class Prepared:
    """Valid listings, every rejection, and counts for the summary."""

    listings: list[Listing] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)
    read: int = 0
    geocoded: int = 0
    merged: int = 0

    @property
    def rejected(self) -> int:
        """Records rejected (a record with three bad fields counts once)."""
        return len({(r.source, r.position) for r in self.rejections})


def complete(data: dict, allowed: frozenset[str]) -> dict:
    """Fill the stance fields a feed left out from the program's stance table."""
    missing = [name for name in STANCE_FIELDS if name in allowed and data.get(name) in (None, [], "")]
    if not missing:
        return data
    stance = programs.stance_for(data.get("program")) or FALLBACK_STANCE.get(data.get("kind"), FALLBACK_STANCE["group"])
    if data.get("program") and programs.canonical_program(data["program"]):
        data = {**data, "program": programs.canonical_program(data["program"])}
    filled = dict(data)
    for name in missing:
        value = getattr(stance, name)
        filled[name] = list(value) if isinstance(value, tuple) else value
    return filled


def without_bidi_controls(value):
    """Every text in a record without the bidirectional controls (`BIDI_CONTROLS`), whatever
    reader made it and whichever field holds it: a name or address must read on the page in
    the order its characters are stored."""
    kind = type(value)  # exact types first: what JSON and the readers make, walked quickly
    if kind is str:
        return BIDI_CONTROLS.sub("", value) if BIDI_CONTROLS.search(value) else value
    if kind is dict:
        return {key: without_bidi_controls(item) for key, item in value.items()}
    if kind is list:
        return [without_bidi_controls(item) for item in value]
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if isinstance(value, str):
        return BIDI_CONTROLS.sub("", value)
    if isinstance(value, dict):
        return {key: without_bidi_controls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_bidi_controls(item) for item in value]
    return value


def record_without_bidi_controls(data):
    """`without_bidi_controls` of a record, walked only when its JSON text holds a bidi
    control: almost no record does, and one search of the text is a fraction of a walk.

    Every text the walk would clean is in orjson's text as it is (orjson escapes only quotes,
    backslashes and C0 controls), so finding none there means the walk would change nothing.
    What orjson refuses (lone surrogates, integers beyond 64 bits, keys that are not text,
    types it does not know) is walked as before."""
    try:
        text = orjson.dumps(data)
    except orjson.JSONEncodeError:
        return without_bidi_controls(data)
    # Bidi controls are not ASCII: an ASCII text (most records) holds none, and telling that
    # is a fraction of a search.
    if text.isascii() or not BIDI_CONTROLS.search(text.decode("utf-8")):
        return data
    return without_bidi_controls(data)


def with_plain_name(data: dict) -> dict:
    """The record with its name as plain text (see `indexers.records.plain_name`): whatever
    reader made it, markup in a feed's name never reaches a listing."""
    name = data.get("name")
    cleaned = plain_name(name)
    return data if cleaned == name else {**data, "name": cleaned}


def _address_text(location: dict, street_level: bool = True) -> str:
    keys = ("address", "locality", "state", "postcode")
    if not street_level and (location.get("locality") or location.get("postcode")):
        keys = keys[1:]
    parts = [location.get(k) for k in keys]
    text = ", ".join(str(p) for p in parts if p)
    country = location.get("country")
    return f"{text}, {country}" if country and country != "AU" and text else text


def geocode_location(data: dict, geocoder) -> tuple[dict, Problem | None, bool]:
    """Fill a location's missing coordinates from its address; (data, problem, geocoded?)."""
    location = data.get("location")
    if not isinstance(location, dict) or (location.get("lat") is not None and location.get("lon") is not None):
        return data, None, False
    query = _address_text(location, getattr(geocoder, "street_level", True))
    if not query:
        return data, Problem("location", "no coordinates and no address to find them from"), False
    try:
        found = geocoder.geocode(query, exactly_one=True)
    except Exception as exc:  # an HTTP geocoder may fail; the record is reported, the run goes on
        return data, Problem("location", f"geocoder failed: {str(exc)[:200] or type(exc).__name__}", query), False
    if found is None:
        return data, Problem("location", "address not found by the geocoder", query), False
    raw = found.raw if isinstance(found.raw, dict) else {}
    filled = {
        **location,
        "lat": round(found.latitude, 6),
        "lon": round(found.longitude, 6),
        # Only a house-level match is exact; a suburb, postcode or city centre is approximate.
        "approximate": bool(location.get("approximate")) or bool(raw.get("approximate", True))
        or raw.get("precision") in ("locality", "postcode"),
        "country": location.get("country") or raw.get("country") or "AU",
    }
    for key, raw_key in (("state", "state"), ("postcode", "postcode"), ("locality", "name")):
        if not filled.get(key) and raw.get(raw_key):
            filled[key] = raw[raw_key]
    return {**data, "location": filled}, None, True


def validate(data: dict) -> tuple[Listing | None, list[Problem]]:
    """The listing, or the problems the schema found (field by field)."""
    try:
        return load_listing(data), []
    except ValidationError as exc:
        problems = []
        for field_name, message in flatten_errors(exc.messages):
            problems.append(Problem(field_name, message, _value_at(data, field_name)))
        return None, problems


def _value_at(data, dotted: str):
    """The value at a dotted path ("sessions.0.weekday") in the record, if any."""
    current = data
    for part in dotted.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current if not isinstance(current, (dict, list)) else None


# After this many geocoder failures in a row the server is taken to be down: the remaining
# records needing coordinates are reported at once instead of each waiting out retries.
GEOCODER_FAILURES_BEFORE_GIVING_UP = 5


class _Breaker:
    """Stops calling a geocoder that keeps failing."""

    def __init__(self, geocoder):
        self.geocoder = geocoder
        self.street_level = getattr(geocoder, "street_level", True)
        self.failures_in_a_row = 0

    def geocode(self, query, exactly_one=True):
        if self.failures_in_a_row >= GEOCODER_FAILURES_BEFORE_GIVING_UP:
            raise RuntimeError(f"geocoder skipped after {self.failures_in_a_row} failures in a row")
        try:
            found = self.geocoder.geocode(query, exactly_one=exactly_one)
        except Exception:
            self.failures_in_a_row += 1
            raise
        self.failures_in_a_row = 0
        return found


@dataclass(frozen=True)
class Outcome:
    """One record after completion, geocoding and validation: its listing, or why not."""

    listing: Listing | None
    rejections: tuple[Rejection, ...] = ()
    warnings: tuple[Rejection, ...] = ()
    geocoded: bool = False


def prepare_record(record: Record, geocoder) -> Outcome:
    """Run one record through completion, geocoding and validation (the duplicate-id check
    is the caller's: it needs every record before this one)."""
    # A reader's own problems already name the feed's fields; the pipeline's are translated.
    if record.data is None:
        problems = record.problems or (Problem("_record", "could not be read"),)
        return Outcome(None, tuple(_rejection(record, p, translated=True) for p in problems))
    # The record loads, but something in it was dropped.
    warnings = tuple(_rejection(record, problem, translated=True) for problem in record.problems)
    data = complete(with_plain_name(record_without_bidi_controls(record.data)), record.defaults_allowed)
    data, problem, geocoded = geocode_location(data, geocoder)
    if problem:
        return Outcome(None, (_rejection(record, problem),), warnings)
    listing, problems = validate(data)
    if listing is None:
        return Outcome(None, tuple(_rejections(record, problems)), warnings)
    problem = unwritable_text(listing)
    if problem:
        return Outcome(None, (_rejection(record, problem),), warnings)
    return Outcome(listing, (), warnings, geocoded)


def unwritable_text(listing: Listing) -> Problem | None:
    """The first text of a valid listing that cannot be written as UTF-8, as a problem: a
    lone surrogate, which a JSON feed can spell ("\\ud800") and the schema lets through,
    would otherwise fail the whole load when the index or the source cache writes it.

    Works out the listing's document (`listing_document`, kept: the load writes it), which
    is all an ASCII listing costs."""
    text = listing_document(listing)
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _lone_surrogate(dump_listing(listing), "")
    return None


def _lone_surrogate(value, path: str) -> Problem | None:
    """The first text at or under `value` that UTF-8 cannot write, named by its dotted path."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return Problem(path, "contains a lone surrogate (a character code no text can hold)", value)
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _lone_surrogate(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def needs_coordinates(record: Record) -> bool:
    """Whether `prepare_record` would ask a geocoder for this record's coordinates: its
    location lacks one. (The steps before geocoding never make a coordinate missing or
    present.)"""
    location = record.data.get("location") if record.data is not None else None
    return isinstance(location, dict) and (location.get("lat") is None or location.get("lon") is None)


def prepare(records: Iterable[Record], geocoder, progress=None) -> Prepared:
    """Run every record through completion, geocoding and validation."""
    return gather(((record, None) for record in records), breaker_for(geocoder), progress)


def breaker_for(geocoder):
    """The geocoder behind a `_Breaker` (None stays None): one per import of a source."""
    return _Breaker(geocoder) if geocoder is not None else None


def gather(prepared: Iterable[tuple[Record, Outcome | None]], geocoder, progress=None) -> Prepared:
    """The records in feed order, each with its outcome, or None to prepare it here with
    the `geocoder`: the listings that pass the duplicate-id check (the first of an id
    wins), and every rejection and warning, in feed order.

    An outcome prepared elsewhere (another process) comes with a record that needs only
    what a report of a duplicate id reads: source, position, the feed's id and name, and
    the feed's name for "id"."""
    result = Prepared()
    seen: dict[str, str] = {}
    for record, outcome in prepared:
        result.read += 1
        if progress and result.read % 1000 == 0:
            progress(result.read)
        if outcome is None:
            outcome = prepare_record(record, geocoder)
        result.warnings.extend(outcome.warnings)
        listing = outcome.listing
        if listing is None:
            result.rejections.extend(outcome.rejections)
            continue
        if listing.id in seen:
            result.rejections.append(_rejection(
                record, Problem("id", f"duplicate id: {seen[listing.id]} has it too", listing.id)))
            continue
        seen[listing.id] = f"{record.source} {record.position}"
        result.geocoded += outcome.geocoded
        result.listings.append(listing)
    return result


def _rejection(record: Record, problem: Problem, translated: bool = False) -> Rejection:
    """A problem as the report shows it: the field by the feed's name, the record by the feed's
    id and (plain) name as well as its position.

    `translated`: the problem's field is the feed's name already (a reader's own problem), so
    it is not looked up again; a feed's name can look like a Linkage one ("location.latitude"
    in HSDS begins like Linkage's "location") and would be translated twice.
    """
    field = problem.field if translated else record.feed_field(problem.field)
    return Rejection(record.source, record.position, field, problem.problem,
                     shorten(problem.value), shorten(_text_or_none(record.record_id)),
                     shorten(_text_or_none(plain_name(record.record_name))))


def _text_or_none(value) -> str | None:
    """An id or name as report text: numbers as digits, blanks and other values as None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _rejections(record: Record, problems) -> list[Rejection]:
    return [_rejection(record, p) for p in problems]


def _first_session_keys(listing: Listing) -> set[tuple[str, str]]:
    return {(s.weekday, s.start) for s in listing.sessions}


def same_meeting(a: Listing, b: Listing) -> bool:
    """Two feeds' records of one meeting: same program, a shared weekday and start, within
    100 m, similar names."""
    if a.kind != "group" or b.kind != "group" or a.location is None or b.location is None:
        return False
    if (programs.canonical_program(a.program) or a.program) != (programs.canonical_program(b.program) or b.program):
        return False
    if not _first_session_keys(a) & _first_session_keys(b):
        return False
    metres = 1000 * geo.great_circle_km(a.location.lat, a.location.lon, b.location.lat, b.location.lon)
    if metres > DUPLICATE_METRES:
        return False
    ratio = difflib.SequenceMatcher(None, normalise(a.name), normalise(b.name)).ratio()
    return ratio >= DUPLICATE_NAME_SIMILARITY


def dedupe(listings: list[Listing]) -> tuple[list[Listing], int]:
    """Merge the same meeting from different sources into one listing that keeps both sources.

    The first listing (in the order given: sources in import order) survives and records the
    others under `also_from`. Candidates are bucketed by ~1 km cell so this stays linear.
    """
    # Only listings of different feeds merge, so with one feed nothing can: the comparison
    # is skipped (it was seconds of a 100,000-meeting import for no change).
    if len({listing.source.name for listing in listings}) < 2:
        return list(listings), 0
    buckets: dict[tuple, list[int]] = {}
    kept: list[Listing] = []
    merged = 0
    for listing in listings:
        cell = None
        if listing.kind == "group" and listing.location is not None:
            cell = (round(listing.location.lat, 2), round(listing.location.lon, 2))
            match = None
            for dlat in (-0.01, 0.0, 0.01):
                for dlon in (-0.01, 0.0, 0.01):
                    for index in buckets.get((round(cell[0] + dlat, 2), round(cell[1] + dlon, 2)), ()):
                        other = kept[index]
                        if other.source.name != listing.source.name and same_meeting(other, listing):
                            match = index
                            break
            if match is not None:
                survivor = kept[match]
                sources = survivor.also_from + (listing.source,) + listing.also_from
                kept[match] = replace(survivor, also_from=tuple(dict.fromkeys(sources)))
                merged += 1
                continue
        if cell is not None:
            buckets.setdefault(cell, []).append(len(kept))
        kept.append(listing)
    return kept, merged
