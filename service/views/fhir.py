"""FHIR R4 resources, read-only: /fhir/HealthcareService, /fhir/Location, /fhir/Organization
(searchset Bundles and single reads), the Linkage CodeSystems (/fhir/CodeSystem) and the
server's CapabilityStatement (/fhir/metadata).

The resources are built from every listing once per index build (service.render.fhir does
the mapping) and kept, like the Meeting Guide feed: a directory polls these, and filtering
459 or 20,000 prepared resources in memory is quicker than asking the backend per page. Both
backends give the same listings in id order, so the same ids and pages.

Search parameters (anything else is a 400 OperationOutcome naming it, as a server with
strict handling answers, so a typo never silently widens a search):

- every type: `_count` (page size, 0 gives only the total, at most 100), `_offset` (where the
  page starts; the Bundle's next/previous links carry it), `_id` (comma-separated ids),
  `_lastUpdated` (repeatable; `eq` (default), `ne`, `gt`, `lt`, `ge`, `le` before a date or
  dateTime, compared as FHIR compares ranges: `2026-03` means all of March; resources
  without a date, the service areas, never match);
- Location: `near=lat|lon|distance|units` as FHIR defines it (distance default 25, units `km`
  (default), `m` or `[mi_i]`), only Locations with a position, nearest first;
- HealthcareService: `location.near`, the same on the service's Location (the chained form of
  FHIR's search; online and phone options, which have no Location, are not near anything).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from threading import Lock
from urllib.parse import urlencode

from flask import Response, request
from flask_smorest import Blueprint

from service.backends.contract import BackendUnavailable
from service.domain.codesystems import CODE_SYSTEMS
from service.domain.geo import great_circle_km
from service.render import fhir as render_fhir
from service.views import public_base, services

blueprint = Blueprint("fhir", __name__, url_prefix="/fhir",
                      description="Listings as FHIR R4 HealthcareService, Location and Organization.")

COUNT = {"default": 20, "max": 100}
MAX_OFFSET = 100_000
NEAR_DEFAULT_KM = 25.0
# UCUM units a `near` distance may be in, in kilometres.
NEAR_UNITS = {"km": 1.0, "m": 0.001, "[mi_i]": 1.609344, "mi_i": 1.609344}
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
# `_format` values meaning JSON; XML and Turtle are not served.
FORMATS = ("json", "application/json", "application/fhir+json")
# Resources are kept per public base (their links name it); without a configured public URL
# the base is the request's host, so only a few are kept.
MAX_CACHED = 4
# Cap on values a parameter may list (`_id=a,b,...`), so a request cannot ask for unbounded work.
MAX_IDS = 100

_COMMON = {
    "_count": ({"type": "integer", "minimum": 0, "maximum": COUNT["max"]},
               f"Resources per page (default {COUNT['default']}, at most {COUNT['max']}; 0 gives only the total)."),
    "_offset": ({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                "How many matches to skip (the Bundle's next and previous links set it)."),
    "_id": ({"type": "string"}, "Comma-separated resource ids."),
    "_format": ({"type": "string", "enum": list(FORMATS)}, "JSON only (clients that ask for it by name are served)."),
    "_lastUpdated": ({"type": "array", "items": {"type": "string"}},
                     "meta.lastUpdated: eq (default), ne, gt, lt, ge or le, then a date or dateTime "
                     "(`ge2026-01-01`); repeat for a range."),
}
_NEAR = ({"type": "string", "example": "-33.87|151.21|10|km"},
         "latitude|longitude|distance|units (WGS84; distance default 25, units km (default), m or [mi_i]).")
# The search parameters of each type: the parser accepts these names and no others, and the
# OpenAPI document lists the same table.
PARAMETERS = {
    "HealthcareService": {**_COMMON, "location.near": (_NEAR[0], "The service's Location is near: " + _NEAR[1])},
    "Location": {**_COMMON, "near": _NEAR},
    "Organization": dict(_COMMON),
    "CodeSystem": {k: v for k, v in _COMMON.items() if k in ("_count", "_offset", "_id", "_format")},
}

_SCHEMA_BUNDLE = {"type": "object", "required": ["resourceType", "type", "total", "link"],
                  "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]},
                                 "type": {"type": "string", "enum": ["searchset"]},
                                 "total": {"type": "integer", "minimum": 0},
                                 "link": {"type": "array", "items": {"type": "object"}},
                                 "entry": {"type": "array", "items": {"type": "object"}}}}
_SCHEMA_OUTCOME = {"type": "object", "required": ["resourceType", "issue"],
                   "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                                  "issue": {"type": "array", "items": {"type": "object"}}}}


def _resource_schema(resource_type: str) -> dict:
    return {"type": "object", "required": ["resourceType", "id"],
            "properties": {"resourceType": {"type": "string", "enum": [resource_type]},
                           "id": {"type": "string"}}}


class FhirError(Exception):
    """A request FHIR answers with an OperationOutcome: status, issue code, words, parameter."""

    def __init__(self, status: int, code: str, diagnostics: str, parameter: str | None = None):
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics, self.parameter = status, code, diagnostics, parameter


def fhir_response(data: dict, status: int = 200) -> Response:
    """FHIR JSON, readable from any site and cached like the public feed."""
    response = Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status=status,
                        mimetype=render_fhir.MEDIA_TYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    if status == 200:
        response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.errorhandler(FhirError)
def fhir_error(exc: FhirError):
    """Bad parameters and unknown ids as an OperationOutcome."""
    return fhir_response(render_fhir.operation_outcome(exc.code, exc.diagnostics, exc.parameter), exc.status)


@blueprint.errorhandler(BackendUnavailable)
def fhir_unavailable(exc: BackendUnavailable):
    """No index to read: a 503 OperationOutcome (FHIR's "transient" issue)."""
    return fhir_response(render_fhir.operation_outcome("transient", "The listings index is not available right now."),
                         503)


# --- the resources, once per index build ---------------------------------------------------


@dataclass
class Catalogue:
    """Every resource of one index build, by type, in id order, with what searches compare."""

    resources: dict[str, list[dict]] = field(default_factory=dict)
    by_id: dict[str, dict[str, dict]] = field(default_factory=dict)
    # (type, id) -> meta.lastUpdated as a datetime; (type, id) -> (lat, lon) for near.
    updated: dict[tuple[str, str], datetime] = field(default_factory=dict)
    position: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)


def build_catalogue(listings, base: str) -> Catalogue:
    """Every listing's HealthcareService, Location and Organization, and the area Locations
    and program Organizations they refer to."""
    services_, locations, organizations, areas = [], [], {}, set()
    program_updated: dict[str, str] = {}
    catalogue = Catalogue()
    for listing in listings:
        service = render_fhir.healthcare_service(listing, base)
        services_.append(service)
        place = render_fhir.location(listing, base)
        if place is not None:
            locations.append(place)
            catalogue.position[("Location", place["id"])] = (listing.location.lat, listing.location.lon)
            catalogue.position[("HealthcareService", service["id"])] = (listing.location.lat, listing.location.lon)
        areas.update(listing.service_area)
        org_id = render_fhir.organization_id(listing)
        stamp = render_fhir.last_updated(listing)
        if listing.program:
            if stamp and stamp > program_updated.get(org_id, ""):
                program_updated[org_id] = stamp
            organizations.setdefault(org_id, listing)
        else:
            organizations[org_id] = listing
    orgs = [render_fhir.organization(listing, base, program_updated.get(org_id))
            for org_id, listing in organizations.items()]
    locations += [render_fhir.area_location(area) for area in areas]
    for resource_type, items in (("HealthcareService", services_), ("Location", locations),
                                 ("Organization", orgs)):
        items.sort(key=lambda r: r["id"])
        catalogue.resources[resource_type] = items
        catalogue.by_id[resource_type] = {r["id"]: r for r in items}
        for r in items:
            if r["meta"].get("lastUpdated"):
                catalogue.updated[(resource_type, r["id"])] = render_fhir.instant(r["meta"]["lastUpdated"])
    code_systems = sorted((render_fhir.code_system(base, name) for name in CODE_SYSTEMS), key=lambda r: r["id"])
    catalogue.resources["CodeSystem"] = code_systems
    catalogue.by_id["CodeSystem"] = {r["id"]: r for r in code_systems}
    return catalogue


_cache: dict = {}
_lock = Lock()


def catalogue() -> Catalogue:
    """This index build's resources, built on first use (per public base, which links name)."""
    svc, base = services(), public_base()
    built = svc.backend.info().get("built_at")
    key = (id(svc.backend), base)
    with _lock:
        cached = _cache.get(key)
        if cached and built is not None and cached[0] == built:
            return cached[1]
    found = build_catalogue(svc.backend.listings(), base)
    with _lock:
        if key not in _cache and len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[key] = (built, found)
    return found


# --- parameters ----------------------------------------------------------------------------


def _single(name: str) -> str:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise FhirError(400, "invalid", f"{name} may be given once", name)
    return values[0]


def _integer(name: str, lowest: int, highest: int | None) -> int | None:
    if name not in request.args:
        return None
    text = _single(name).strip()
    if not re.fullmatch(r"\d{1,9}", text):
        raise FhirError(400, "invalid", f"{name} must be a whole number of at least {lowest}", name)
    value = int(text)
    if value < lowest:
        raise FhirError(400, "invalid", f"{name} must be at least {lowest}", name)
    return min(value, highest) if highest is not None else value


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2}))?)?)?$")


def date_range(text: str, name: str) -> tuple[datetime, datetime]:
    """A FHIR date or dateTime as the instants it covers, [start, end): "2026" is the year,
    "2026-03-11" the day (UTC), a dateTime to the second that second."""
    # An offset's "+" written into a URL without encoding arrives as a space.
    match = _DATE.match(text.replace(" ", "+"))
    if not match:
        raise FhirError(400, "invalid", f"{name}: {text[:40]!r} is not a date (YYYY, YYYY-MM, YYYY-MM-DD) "
                        "or a dateTime with its zone", name)
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        if hour is not None:
            start = datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second or '00'}"
                                           f"{'+00:00' if zone == 'Z' else zone}").astimezone(UTC)
            return start, start + timedelta(seconds=1)
        if day is not None:
            start = datetime(int(year), int(month), int(day), tzinfo=UTC)
            return start, start + timedelta(days=1)
        if month is not None:
            start = datetime(int(year), int(month), 1, tzinfo=UTC)
            following = datetime(int(year) + (month == "12"), int(month) % 12 + 1, 1, tzinfo=UTC)
            return start, following
        start = datetime(int(year), 1, 1, tzinfo=UTC)
        return start, datetime(int(year) + 1, 1, 1, tzinfo=UTC)
    except (ValueError, OverflowError):
        raise FhirError(400, "invalid", f"{name}: {text[:40]!r} is not a real date", name) from None


def last_updated_tests(name: str = "_lastUpdated") -> list:
    """The `_lastUpdated` values as tests of an instant (all must hold)."""
    tests = []
    for raw in request.args.getlist(name):
        text = raw.strip()
        prefix = text[:2] if text[:2].isalpha() else "eq"
        if text[:2].isalpha() and prefix not in PREFIXES:
            raise FhirError(400, "invalid", f"{name}: the prefix {prefix!r} is not supported "
                            f"(one of {', '.join(PREFIXES)})", name)
        start, end = date_range(text[2:] if text[:2].isalpha() else text, name)
        tests.append({"eq": lambda t, s=start, e=end: s <= t < e,
                      "ne": lambda t, s=start, e=end: not (s <= t < e),
                      "gt": lambda t, e=end: t >= e,
                      "lt": lambda t, s=start: t < s,
                      "ge": lambda t, s=start: t >= s,
                      "le": lambda t, e=end: t < e}[prefix])
    return tests


def near(name: str) -> tuple[float, float, float] | None:
    """`lat|lon|distance|units` as (lat, lon, km); None when not asked."""
    if name not in request.args:
        return None
    parts = _single(name).split("|")
    if len(parts) < 2 or len(parts) > 4:
        raise FhirError(400, "invalid", f"{name} must be latitude|longitude|distance|units", name)
    try:
        lat, lon = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2].strip() else NEAR_DEFAULT_KM
    except ValueError:
        raise FhirError(400, "invalid", f"{name}: latitude, longitude and distance must be numbers", name) from None
    units = parts[3].strip() if len(parts) > 3 and parts[3].strip() else "km"
    if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
        raise FhirError(400, "invalid", f"{name}: the point is off the globe", name)
    if units not in NEAR_UNITS:
        raise FhirError(400, "invalid", f"{name}: units must be one of {', '.join(NEAR_UNITS)}", name)
    km = distance * NEAR_UNITS[units]
    if not (0 < km <= 20_100):
        raise FhirError(400, "invalid", f"{name}: the distance must be above 0 and at most 20,100 km", name)
    return lat, lon, km


def check_known(resource_type: str) -> None:
    """Refuse a parameter this type does not search by (and repeated single values)."""
    for name in request.args:
        if name not in PARAMETERS[resource_type]:
            raise FhirError(400, "not-supported", f"{name[:60]!r} is not a search parameter of {resource_type} "
                            f"here (supported: {', '.join(PARAMETERS[resource_type])})", name[:60])


# --- views ---------------------------------------------------------------------------------


def search(resource_type: str) -> Response:
    """A searchset Bundle of `resource_type` for the request's parameters."""
    check_known(resource_type)
    count = _integer("_count", 0, COUNT["max"])
    count = COUNT["default"] if count is None else count
    offset = _integer("_offset", 0, MAX_OFFSET) or 0
    # "application/fhir+json" unencoded in a URL arrives with a space for its "+".
    if "_format" in request.args and _single("_format").strip().replace(" ", "+") not in FORMATS:
        raise FhirError(400, "not-supported", f"_format: only JSON is served ({', '.join(FORMATS)})", "_format")
    ids = None
    if "_id" in request.args:
        ids = {part.strip() for part in _single("_id").split(",") if part.strip()}
        if len(ids) > MAX_IDS:
            raise FhirError(400, "invalid", f"_id may list at most {MAX_IDS} ids", "_id")
    tests = last_updated_tests() if "_lastUpdated" in PARAMETERS[resource_type] else []
    near_name = {"Location": "near", "HealthcareService": "location.near"}.get(resource_type)
    point = near(near_name) if near_name else None
    found = catalogue()
    matches = []
    for resource in found.resources[resource_type]:
        if ids is not None and resource["id"] not in ids:
            continue
        if tests:
            stamp = found.updated.get((resource_type, resource["id"]))
            if stamp is None or not all(test(stamp) for test in tests):
                continue
        distance = None
        if point is not None:
            where = found.position.get((resource_type, resource["id"]))
            if where is None:
                continue
            distance = great_circle_km(point[0], point[1], where[0], where[1])
            if distance > point[2]:
                continue
        matches.append((distance, resource))
    if point is not None:
        # Nearest first; the id breaks ties, so pages are the same on every backend.
        matches.sort(key=lambda item: (item[0], item[1]["id"]))
    page = [resource for _, resource in matches[offset:offset + count]]
    return fhir_response(render_fhir.bundle(page, len(matches), public_base(),
                                            page_links(resource_type, len(matches), offset, count)))


def page_links(resource_type: str, total: int, offset: int, count: int) -> dict[str, str]:
    """self, first, previous and next: the request's own parameters with `_offset` moved."""
    kept = [(name, value) for name in PARAMETERS[resource_type] if name not in ("_offset", "_count")
            for value in request.args.getlist(name)]
    address = f"{public_base()}{request.path}"

    def at(start: int) -> str:
        return f"{address}?{urlencode(kept + [('_count', count), ('_offset', start)])}"

    links = {"self": at(offset), "first": at(0)}
    if count and offset > 0:
        links["previous"] = at(max(offset - count, 0))
    if count and offset + count < total:
        links["next"] = at(offset + count)
    return links


def read(resource_type: str, resource_id: str) -> Response:
    """One resource by id, or a 404 OperationOutcome."""
    resource = catalogue().by_id[resource_type].get(resource_id)
    if resource is None:
        raise FhirError(404, "not-found", f"No {resource_type} with id {resource_id[:80]!r}", "id")
    return fhir_response(resource)


def documented(resource_type: str, single: bool):
    """The OpenAPI description of a search (or a read) of `resource_type`: FHIR JSON, and
    OperationOutcome for 400, 404 and 503 (429 and 500 come from the app, in its envelope)."""
    from service.openapi import ErrorSchema

    schema = _resource_schema(resource_type) if single else _SCHEMA_BUNDLE
    decorators = [blueprint.alt_response(200, schema=schema, content_type=render_fhir.MEDIA_TYPE,
                                         description="Success", success=True)]
    if not single:
        failures = ((400, "A parameter is malformed or unknown (an OperationOutcome naming it)."),)
    elif resource_type in PARAMETERS:
        failures = ((404, "No resource has that id (an OperationOutcome)."),)
    else:  # the CapabilityStatement: always there
        failures = ()
    for status, meaning in failures:
        decorators.append(blueprint.alt_response(status, schema=_SCHEMA_OUTCOME,
                                                 content_type=render_fhir.MEDIA_TYPE, description=meaning))
    decorators.append(blueprint.alt_response(503, schema=_SCHEMA_OUTCOME, content_type=render_fhir.MEDIA_TYPE,
                                             description="The listings index is not available (an OperationOutcome)."))
    for status, meaning in ((429, "Too many requests from this key or address; retry later."),
                            (500, "An unexpected error (logged with the request id).")):
        decorators.append(blueprint.alt_response(status, schema=ErrorSchema, description=meaning))
    if not single:
        decorators.append(blueprint.doc(parameters=[
            {"in": "query", "name": name, "required": False, "schema": schema_, "description": words,
             **({"explode": True} if schema_.get("type") == "array" else {})}
            for name, (schema_, words) in PARAMETERS[resource_type].items()]))

    def decorate(view):
        for decorator in decorators:
            view = decorator(view)
        return view

    return decorate


@blueprint.get("/metadata")
@documented("CapabilityStatement", single=True)
def capability_statement():
    """What this FHIR server does: reads and searches, and the parameters each type takes."""
    search_types = {"_id": "token", "_lastUpdated": "date", "near": "special", "location.near": "special"}
    return fhir_response(render_fhir.capability_statement(
        public_base(), services().clock().date().isoformat(),
        {resource_type: {name: (search_types[name], words) for name, (_, words) in names.items() if name in search_types}
         for resource_type, names in PARAMETERS.items()}))


@blueprint.get("/HealthcareService")
@documented("HealthcareService", single=False)
def search_healthcare_services():
    """Every listing as an AU Base HealthcareService: a searchset Bundle.

    `_count`, `_offset`, `_id`, `_lastUpdated` and `location.near` (lat|lon|distance|units).
    """
    return search("HealthcareService")


@blueprint.get("/HealthcareService/<path:resource_id>")
@documented("HealthcareService", single=True)
def read_healthcare_service(resource_id: str):
    """One listing as an AU Base HealthcareService."""
    return read("HealthcareService", resource_id)


@blueprint.get("/Location")
@documented("Location", single=False)
def search_locations():
    """Where in-person listings meet, and the service areas: AU Base Locations in a Bundle.

    `_count`, `_offset`, `_id`, `_lastUpdated` and `near` (lat|lon|distance|units, nearest first).
    """
    return search("Location")


@blueprint.get("/Location/<path:resource_id>")
@documented("Location", single=True)
def read_location(resource_id: str):
    """One Location: where a listing meets ("demo.g0001") or a service area ("area.NSW")."""
    return read("Location", resource_id)


@blueprint.get("/Organization")
@documented("Organization", single=False)
def search_organizations():
    """The providers: programs' fellowships and services' own organisations, in a Bundle."""
    return search("Organization")


@blueprint.get("/Organization/<path:resource_id>")
@documented("Organization", single=True)
def read_organization(resource_id: str):
    """One Organization ("program.alcoholics-anonymous", or a service's own)."""
    return read("Organization", resource_id)


@blueprint.get("/CodeSystem")
@documented("CodeSystem", single=False)
def search_code_systems():
    """The Linkage CodeSystems (kind, approach, goal, substance, format, audience, ...)."""
    return search("CodeSystem")


@blueprint.get("/CodeSystem/<path:resource_id>")
@documented("CodeSystem", single=True)
def read_code_system(resource_id: str):
    """One Linkage CodeSystem, whose URL is also its canonical URL ("linkage-goal")."""
    return read("CodeSystem", resource_id)

