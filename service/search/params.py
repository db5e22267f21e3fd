"""Search parameters: validate `request.args` at the edge into one frozen SearchQuery.

Soft where it helps (clamp radius and page size, with a warning), hard where it matters
(a latitude off the globe, an unknown place, an unknown filter value: 400 naming the
parameter).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, validate, validates_schema

from service.domain import vocab
from service.domain.zones import known_zone
from service.errors import ApiError
from service.search.places import PlaceError, coordinate_place, resolve_place
from service.domain.models import SearchQuery

RADIUS_KM = {"default": 25.0, "min": 1.0, "max": 500.0}
PER_PAGE = {"default": 20, "max": 50}
# Engines refuse to page past 10,000 results; the embedded store keeps the same limit.
MAX_RESULT_WINDOW = 10_000
MAX_TEXT = 200
# The years `at` may name. A search reads days ahead of and behind its moment, which past
# the ends of Python's calendar (years 1 and 9999) cannot be counted; no directory answers
# for 1970 or 3000 either, so the bounds are kept well inside.
AT_YEARS = (1970, 2999)

# An offset written into a URL without encoding arrives with its "+" turned into a space.
_UNENCODED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class CommaList(fields.Field):
    """`a,b,c` -> ("a", "b", "c"), each checked against a vocabulary (after synonyms)."""

    def __init__(self, choices, synonyms=None, **kwargs):
        # How the OpenAPI document describes it: a string, with the values it may list.
        kwargs.setdefault("metadata", {"type": "string", "example": ",".join(tuple(choices)[:2]),
                                       "description": "Comma-separated, any of: " + ", ".join(choices)})
        super().__init__(**kwargs)
        self.choices = tuple(choices)
        self.synonyms = synonyms or {}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Must be a comma-separated list.")
        items = []
        for raw in value.split(","):
            item = raw.strip().casefold().replace("-", "_").replace(" ", "_")
            if not item:
                continue
            item = self.synonyms.get(item.replace("_", " "), item)
            if item not in self.choices:
                raise ValidationError(
                    f"{raw.strip()[:40]!r} is not one of: {', '.join(self.choices)}."
                )
            items.append(item)
        return tuple(dict.fromkeys(items))


class LanguageList(fields.Field):
    """`en,vi` -> ("en", "vi"): language codes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {"type": "string", "example": "en,vi",
                                       "description": "Comma-separated language codes (ISO 639)."})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        items = tuple(dict.fromkeys(v.strip().lower() for v in str(value).split(",") if v.strip()))
        for item in items:
            if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", item):
                raise ValidationError(f"{item[:20]!r} is not a language code such as en or vi.")
        return items


class Flag(fields.Boolean):
    """A boolean that also takes an empty value (`?open_now`) as true."""

    truthy = fields.Boolean.truthy | {"", "on"}


# The interface language of the words a response carries ("why it fits"): a language tag.
LANG_MAX = 35
LANG_DESCRIPTION = ("The language to write `why` (\"why it fits\") in: one of en, zh_Hans, ar, vi, zh_Hant, pa, el, "
                    "it, fil, hi, es, or a browser tag (zh-TW, tl, vi-VN) read as one of them. A language without "
                    "a catalogue gives English, with a warning. Not the `language` filter, which asks for services "
                    "that speak a language.")


# The top-level fields of a search item, in the order an item has them: the stored
# listing's (`service.domain.schemas.ListingSchema`), then what the search adds
# (`service.render.json_api.item_document`). `fields=` may name only these.
SEARCH_ADDS = ("stale", "dead_links", "distance_km", "next_sessions", "open_now", "why", "for_everyone")


def item_field_names() -> tuple[str, ...]:
    """Every top-level field of a search item, in order (what `fields=` may keep)."""
    from service.domain.schemas import ListingSchema

    return tuple(field.data_key or name for name, field in ListingSchema().fields.items()) + SEARCH_ADDS


ITEM_FIELDS = item_field_names()


class FieldNames(fields.Field):
    """`id,name,next_sessions` -> frozenset of item field names; unknown names are a 400
    naming them."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("fields must be a comma-separated list of item field names")
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in dict.fromkeys(names) if name not in ITEM_FIELDS]
        if unknown:
            raise ValidationError(
                f"fields: unknown field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(name[:40]) for name in unknown[:10])}; an item has "
                f"{', '.join(ITEM_FIELDS)}")
        if not names:
            raise ValidationError("fields must name at least one item field")
        return frozenset(names)


class SearchArgs(Schema):
    """The query string of GET /v1/search."""

    class Meta:
        unknown = EXCLUDE

    near = fields.String(validate=validate.Length(max=200), metadata={
        "description": "A postcode, suburb or city (e.g. 2000, Fitzroy VIC, Miami, US)."})
    lat = fields.Float(validate=validate.Range(min=-90, max=90, error="lat must be between -90 and 90"))
    lon = fields.Float(validate=validate.Range(min=-180, max=180, error="lon must be between -180 and 180"))
    radius_km = fields.Float(allow_nan=False, metadata={"description": "1 to 500 km (default 25); clamped."})
    format = CommaList(vocab.FORMATS, synonyms={"in person": "in_person", "hybrid": "online"})
    goal = CommaList(vocab.QUERY_GOALS)
    substance = CommaList(vocab.SUBSTANCES, synonyms=vocab.SUBSTANCE_SYNONYMS)
    kind = CommaList(vocab.KINDS)
    approach = CommaList(vocab.APPROACHES)
    audience = CommaList(vocab.AUDIENCES, metadata={
        "type": "string", "example": "family_friends",
        "description": "Comma-separated, any of: " + ", ".join(vocab.AUDIENCES) + ". Without it a search is "
                       "for the person themselves: listings open to everyone first, listings for particular "
                       "groups after them. With it: listings for those audiences first, then listings for "
                       "everyone; listings for other groups are left out."})
    language = LanguageList()
    day = CommaList(vocab.WEEKDAYS, synonyms={d: d[:3] for d in (
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}, metadata={
        "type": "string", "example": "mon,wed",
        "description": "Comma-separated days (mon..sun) a session falls on, by its local start; "
                       "with `time`, only those parts of those days."})
    time = CommaList(vocab.TIMES_OF_DAY, metadata={
        "type": "string", "example": "evening",
        "description": "Comma-separated parts of the day: morning (05:00-11:59), afternoon (12:00-16:59), "
                       "evening (17:00-23:59), on the searched place's clock (else `tz`'s, else each "
                       "listing's own; zones' offsets at `at`). A group counts by its start, a service or "
                       "helpline if open at any time in the part, a 24/7 one in every part. "
                       "Combines with `day` as (day, part) pairs on that clock."})
    tonight = Flag(metadata={"description": "Only sessions in progress or starting from `at` until midnight "
                                            "in the searched place's zone (else `tz`, else UTC)."})
    starts_within = fields.Integer(
        validate=validate.Range(min=1, max=7 * 24 * 60, error="starts_within must be 1 to 10080 minutes")
    )
    open_now = Flag(metadata={"description": "Only sessions in progress or services open now."})
    q = fields.String(validate=validate.Length(max=MAX_TEXT), metadata={
        "description": "Words to match. Words naming a substance (ice, alcohol ...) or whom the search is "
                       "for (my son, partner, women, young, LGBTIQ ...) become the `substance` and "
                       "`audience` filters, with a warning saying how they were read; the other words "
                       "are matched as text."})
    at = fields.String(metadata={"description": "Search from this moment (ISO 8601 with an offset, or naive "
                                              "with tz); default now."})
    tz = fields.String(metadata={"description": "IANA zone to show session times in as well."})
    sort = fields.String(validate=validate.OneOf(vocab.SORTS))
    page = fields.Integer(validate=validate.Range(min=1, error="page must be 1 or more"))
    per_page = fields.Integer(validate=validate.Range(min=1, error="per_page must be 1 or more"))
    lang = fields.String(validate=validate.Length(max=LANG_MAX, error=f"lang must be at most {LANG_MAX} characters"),
                         metadata={"description": LANG_DESCRIPTION, "example": "vi"})

    @validates_schema
    def check_pairs(self, data, **kwargs):
        if ("lat" in data) != ("lon" in data):
            missing = "lon" if "lat" in data else "lat"
            raise ValidationError(f"{missing} is needed with {'lat' if missing == 'lon' else 'lon'}", missing)
        if "near" in data and "lat" in data:
            raise ValidationError("give either near or lat and lon, not both", "near")


# `fields` cannot be a class attribute of a schema (it would shadow the schema's own
# `fields`), so it joins the declared fields by name.
SearchArgs._declared_fields["fields"] = FieldNames(metadata={
    "type": "string", "example": "id,name,next_sessions",
    "description": "Sparse fieldsets: a comma-separated list of the item fields to keep in each of "
                   "`items` (the rest of the answer is unchanged); any of: " + ", ".join(ITEM_FIELDS)
                   + ". An unknown name is a 400 naming it. Default: every field."})
SEARCH_ARGS = SearchArgs()


class PlacesArgs(Schema):
    """The query string of GET /v1/places."""

    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", metadata={
        "description": "What the person has typed: a suburb or postcode prefix (first 80 characters)."})
    limit = fields.Integer(load_default=8, metadata={"description": "How many suggestions: 1 to 20 "
                                                                     "(others are clamped); default 8."})


class ListingArgs(Schema):
    """The query string of GET /v1/listings/{id}."""

    class Meta:
        unknown = EXCLUDE

    at = fields.String(metadata={"description": "List sessions from this moment (ISO 8601 with an offset, "
                                                  "or naive with tz); default now."})
    tz = fields.String(metadata={"description": "IANA zone to show session times in as well."})
    lang = fields.String(validate=validate.Length(max=LANG_MAX, error=f"lang must be at most {LANG_MAX} characters"),
                         metadata={"description": LANG_DESCRIPTION, "example": "vi"})


class ProgramsArgs(Schema):
    """The query string of GET /v1/programs."""

    class Meta:
        unknown = EXCLUDE

    lang = fields.String(validate=validate.Length(max=LANG_MAX, error=f"lang must be at most {LANG_MAX} characters"),
                         metadata={"description": "The language to write the explainers in (as for /v1/search); "
                                                  "program names stay as the programs write them.", "example": "vi"})


def parameter_names(schema: Schema) -> frozenset[str]:
    """The query parameters a schema reads (its fields' data keys)."""
    return frozenset(field.data_key or name for name, field in schema.fields.items())


SEARCH_PARAMETERS = parameter_names(SEARCH_ARGS)


class CompiledLoad:
    """A schema's `load` of query args, without marshmallow's per-load machinery.

    `Schema.load` walks every declared field (24 for a search, most absent), keeps an error
    store and calls each hook through its dispatcher: about a tenth of a millisecond per
    search. This calls only the fields present (`Field.deserialize`, so their conversions
    and validators are marshmallow's own), adds the defaults of absent fields, and runs the
    schema's `validates_schema` methods. It answers only when all of that passes; anything
    doubtful (an invalid value, a required field missing, a hook it does not replay) gives
    None, and `load_args` then asks `schema.load` itself, so every error is marshmallow's.
    """

    # The kinds of schema hook replayed here; a schema with any other runs `schema.load`.
    REPLAYED_HOOKS = frozenset({"validates_schema"})

    def __init__(self, schema: Schema):
        self.schema = schema
        fields_by_name = schema.load_fields
        self.names = parameter_names(schema)
        self.by_key = {field.data_key or name: (name, field) for name, field in fields_by_name.items()}
        # Absent fields that still give a value (a load_default) or an error (required).
        self.absent = tuple((field.data_key or name, name, field) for name, field in fields_by_name.items()
                            if field.required or field.load_default is not missing)
        hooks = {kind: entries for kind, entries in schema._hooks.items() if entries}
        schema_checks = hooks.get("validates_schema", [])
        self.usable = (set(hooks) <= self.REPLAYED_HOOKS and schema.opts.unknown == EXCLUDE
                       and all(not pass_many and not options.get("pass_original")
                               for _name, pass_many, options in schema_checks))
        self.checks = tuple(getattr(schema, name) for name, _many, _options in schema_checks)

    def load(self, args) -> dict | None:
        """The loaded args, as `schema.load` gives them when they are valid; None otherwise."""
        if not self.usable:
            return None
        data = {}
        by_key = self.by_key
        try:
            for key in args.keys():
                found = by_key.get(key)
                if found is not None:
                    name, field = found
                    data[name] = field.deserialize(args.get(key), key, args)
            for key, name, field in self.absent:
                if key not in args:
                    if field.required:
                        return None
                    data[name] = field.deserialize(missing, key, args)
            for check in self.checks:
                check(data)
        # Whatever the reason (a bad value, a failed check, an unexpected type), the
        # reference answer, or error, is marshmallow's.
        except Exception:  # noqa: BLE001
            return None
        return data


_COMPILED: dict[int, CompiledLoad] = {}


def compiled_load(schema: Schema) -> CompiledLoad:
    """The `CompiledLoad` of a schema instance, built on first use (schemas here are
    module-level and live as long as the process)."""
    found = _COMPILED.get(id(schema))
    if found is None or found.schema is not schema:
        found = _COMPILED[id(schema)] = CompiledLoad(schema)
    return found


def load_args(schema: Schema, args) -> dict:
    """Request args (a mapping of str -> str) through a schema, or ApiError(400) naming the
    first bad parameter. Parameters the schema does not know are left out.

    Valid args are loaded by the schema's `CompiledLoad`; the rest by `schema.load`, whose
    first error names the parameter."""
    compiled = compiled_load(schema)
    data = compiled.load(args)
    if data is not None:
        return data
    try:
        return schema.load({k: args.get(k) for k in args.keys() if k in compiled.names})
    except ValidationError as exc:
        parameter, message = _first_error(exc.messages)
        raise ApiError(400, "bad_parameter", message, parameter) from None


def parse_zone(name: str, parameter: str) -> str:
    """Check an IANA zone name; raise a 400 naming the parameter when unknown."""
    if known_zone(name) is None:
        raise ApiError(400, "bad_parameter", f"{parameter}: unknown time zone {name[:60]!r} "
                       "(use an IANA name such as Australia/Brisbane)", parameter)
    return name


def parse_at(text: str | None, viewer_tz: str | None, now: datetime) -> datetime:
    """The moment to search from: `at` with an offset, or naive in `tz`; default now (whole minute)."""
    if not text:
        return now.astimezone(timezone.utc).replace(second=0, microsecond=0)
    text = _UNENCODED_OFFSET.sub(r"\1+\2", text.strip())
    try:
        moment = datetime.fromisoformat(text)  # Python 3.11 reads a trailing Z as UTC
    except ValueError:
        raise ApiError(400, "bad_parameter", "at must be an ISO 8601 date-time such as "
                       "2026-03-01T20:00:00+10:00", "at") from None
    if moment.tzinfo is None:
        if not viewer_tz:
            raise ApiError(400, "bad_parameter", "at needs a UTC offset (e.g. +10:00) or a tz "
                           "parameter to read it in", "at")
        moment = moment.replace(tzinfo=ZoneInfo(viewer_tz))
    if not AT_YEARS[0] <= moment.year <= AT_YEARS[1]:
        raise ApiError(400, "bad_parameter", f"at must be a moment in the years {AT_YEARS[0]} to {AT_YEARS[1]} "
                       f"(got the year {moment.year})", "at")
    return moment


def _first_error(messages: dict) -> tuple[str, str]:
    """The first (parameter, message) from marshmallow's error dict."""
    for field_name, problems in messages.items():
        problem = problems[0] if isinstance(problems, list) else problems
        if isinstance(problem, dict):
            problem = next(iter(problem.values()))
            problem = problem[0] if isinstance(problem, list) else problem
        text = str(problem)
        if not text.startswith(field_name):
            text = f"{field_name}: {text}"
        return field_name, text
    return "_", "invalid parameters"


_WORD = re.compile(r"\w+")
_LONGEST_PHRASE = max(len(p.split()) for p in (*vocab.TYPED_SUBSTANCES, *vocab.TYPED_AUDIENCES))


# How a word read as a filter is told back, in plain words: 'read "son" as for family and
# friends', 'read "ice" as methamphetamine'.
_READ_AS = {
    "substance": lambda value: vocab.label(value).lower(),
    "audience": lambda value: "for " + (vocab.label(value) if value in ("lgbtiq", "aboriginal_torres_strait_islander")
                                        else vocab.label(value).lower()),
}


@dataclass(frozen=True)
class ReadWords:
    """What `q` says: substances and audiences it names, the words left as text, how it was read."""

    substances: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    text: str | None = None
    warnings: tuple[str, ...] = ()


def read_words(text: str | None) -> ReadWords:
    """Split `q` into the substance and audience filters its words name and the text left over.

    Longest phrases first ("crystal meth", "torres strait islander"). Once any word was read
    as a filter, small words ("my", "uses", "for" ...) are dropped from the rest; when none
    was, the text is kept as typed.
    """
    text = (text or "").strip()
    words = _WORD.findall(text.casefold())
    substances: list[str] = []
    audiences: list[str] = []
    warnings: list[str] = []
    left: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(_LONGEST_PHRASE, len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + size])
            for table, found, name in ((vocab.TYPED_SUBSTANCES, substances, "substance"),
                                       (vocab.TYPED_AUDIENCES, audiences, "audience")):
                if phrase in table:
                    found.append(table[phrase])
                    warnings.append(f'read "{phrase}" as {_READ_AS[name](table[phrase])}')
                    break
            else:
                continue
            i += size
            break
        else:
            left.append(words[i])
            i += 1
    if not substances and not audiences:
        return ReadWords(text=text or None)
    rest = " ".join(w for w in left if w not in vocab.STOPWORDS)
    return ReadWords(tuple(dict.fromkeys(substances)), tuple(dict.fromkeys(audiences)), rest or None,
                     tuple(dict.fromkeys(warnings)))


def minutes_to_midnight(at: datetime, zone_name: str) -> int:
    """The `starts_within` that `tonight` means: every start before the next local midnight.

    A session starting at midnight itself belongs to tomorrow and is left out; 0 (a minute
    before midnight) still keeps sessions on now and starting this minute.
    """
    local = at.astimezone(ZoneInfo(zone_name))
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=local.tzinfo)
    # Elapsed time, not wall-clock difference: a clock change tonight shortens or lengthens it.
    left = (midnight.astimezone(timezone.utc) - at.astimezone(timezone.utc)).total_seconds() / 60.0
    return max(0, math.ceil(left) - 1)


def parse_search(args, geocoder, now: datetime) -> SearchQuery:
    """Request args (a mapping of str -> str) into a SearchQuery, or raise ApiError(400)."""
    unknown = sorted(k for k in args.keys() if k not in SEARCH_PARAMETERS and k not in ("key",))
    data = load_args(SEARCH_ARGS, args)
    warnings: list[str] = [f"unknown parameter {k[:40]!r} ignored" for k in unknown]

    viewer_tz = parse_zone(data["tz"], "tz") if data.get("tz") else None
    at = parse_at(data.get("at"), viewer_tz, now)

    place = None
    if data.get("near"):
        try:
            place, place_warnings = resolve_place(data["near"], geocoder)
        except PlaceError as exc:
            raise ApiError(400, "unknown_place", str(exc), "near") from None
        warnings.extend(place_warnings)
    elif "lat" in data:
        place = coordinate_place(data["lat"], data["lon"], geocoder)

    radius = data.get("radius_km", RADIUS_KM["default"])  # finite: the field refuses nan and inf
    clamped = min(max(radius, RADIUS_KM["min"]), RADIUS_KM["max"])
    if clamped != radius:
        warnings.append(f"radius_km {radius:g} is outside 1–500; using {clamped:g}")
    per_page = data.get("per_page", PER_PAGE["default"])
    if per_page > PER_PAGE["max"]:
        warnings.append(f"per_page {per_page} is over {PER_PAGE['max']}; using {PER_PAGE['max']}")
        per_page = PER_PAGE["max"]
    page = data.get("page", 1)
    if page * per_page > MAX_RESULT_WINDOW:
        raise ApiError(400, "bad_parameter", f"page {page} is past the first {MAX_RESULT_WINDOW} "
                       "results; narrow the search instead", "page")
    sort = data.get("sort", "best")
    if sort == "distance" and place is None:
        warnings.append("sort=distance needs near or lat,lon; sorted by best match instead")
        sort = "best"
    typed = read_words(data.get("q"))
    warnings.extend(typed.warnings)
    substances = tuple(dict.fromkeys(data.get("substance", ()) + typed.substances))
    audiences = tuple(dict.fromkeys(data.get("audience", ()) + typed.audiences))
    if data.get("radius_km") is not None and place is None:
        warnings.append("radius_km has no effect without near or lat,lon")
    starts_within = data.get("starts_within")
    tonight = data.get("tonight", False)
    if tonight:
        zone_name = (place.timezone if place else None) or viewer_tz
        if zone_name is None:
            zone_name = "UTC"
            warnings.append("tonight needs near, lat,lon or tz to know where midnight is; read as until "
                            "midnight UTC")
        until_midnight = minutes_to_midnight(at, zone_name)
        starts_within = until_midnight if starts_within is None else min(starts_within, until_midnight)

    return SearchQuery(
        at=at,
        place=place,
        radius_km=clamped,
        formats=data.get("format", ()),
        goals=data.get("goal", ()),
        substances=substances,
        kinds=data.get("kind", ()),
        approaches=data.get("approach", ()),
        audiences=audiences,
        languages=data.get("language", ()),
        days=data.get("day", ()),
        times=data.get("time", ()),
        starts_within=starts_within,
        tonight=tonight,
        open_now=data.get("open_now", False),
        text=typed.text,
        viewer_tz=viewer_tz,
        sort=sort,
        page=page,
        per_page=per_page,
        warnings=tuple(warnings),
    )


def query_echo(query: SearchQuery) -> dict:
    """The cleaned query as the response echoes it."""
    place = query.place
    return {
        "near": None if place is None else {
            "query": place.query,
            "name": place.name,
            "lat": place.lat,
            "lon": place.lon,
            "state": place.state,
            "country": place.country or None,
            "timezone": place.timezone,
            "approximate": place.approximate,
            "alternatives": list(place.alternatives),
        },
        "radius_km": query.radius_km if place else None,
        "format": list(query.formats),
        "goal": list(query.goals),
        "substance": list(query.substances),
        "kind": list(query.kinds),
        "approach": list(query.approaches),
        "audience": list(query.audiences),
        "language": list(query.languages),
        "day": list(query.days),
        "time": list(query.times),
        "starts_within": query.starts_within,
        "tonight": query.tonight,
        "open_now": query.open_now,
        "q": query.text,
        "at": query.at.isoformat(),
        "tz": query.viewer_tz,
        "sort": query.sort,
        "page": query.page,
        "per_page": query.per_page,
    }
