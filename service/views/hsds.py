"""The HSDS 3.0 API profile, read-only: /hsds/services, /hsds/organizations,
/hsds/service_at_locations (lists in the profile's Page envelope, and one by id) and
/hsds/locations/{id}, plus /hsds/ (what this API is) and the Linkage taxonomy it publishes
(/hsds/taxonomies, /hsds/taxonomy_terms).

Lists take the profile's `page`, `per_page`, `search`, `modified_after`, `taxonomy_term_id`,
`taxonomy_id`, `organization_id` and `full`, and Linkage's own filters as extensions: `near`
(with `radius_km`), `goal`, and `format` (the profile's `format` names the answer's format,
which is always `json` here; a Linkage format such as `online` filters by how people attend).
Every filter is applied to the same sorted list of listings, whichever backend holds them, so
SQLite and the search engine give the same answers.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from threading import Lock

from flask import request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from service import render
from service.domain import taxonomy, vocab
from service.domain.geo import great_circle_km
from service.domain.models import Listing
from service.domain.text import normalise
from service.errors import ApiError
from service.render import hsds
from service.search.params import CommaList, load_args
from service.views import document, services

blueprint = Blueprint("hsds", __name__, url_prefix="/hsds",
                      description="Listings as Open Referral HSDS 3.0 (read-only API profile).")

MAX_PER_PAGE = 100
RESPONSE_FORMATS = ("json",)
# Where the profile these answers follow is described.
PROFILE_URL = "https://docs.openreferral.org/en/latest/hsds/api_reference.html"


class ListArgs(Schema):
    """The query string of the HSDS list endpoints."""

    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(validate=validate.Range(min=1, error="page must be 1 or more"))
    per_page = fields.Integer(validate=validate.Range(
        min=1, max=MAX_PER_PAGE, error=f"per_page must be 1 to {MAX_PER_PAGE}"),
        metadata={"description": f"1 to {MAX_PER_PAGE} (default 20)."})
    search = fields.String(validate=validate.Length(max=200), metadata={
        "description": "Words that must all appear in the name, description, program or town."})
    modified_after = fields.String(metadata={
        "description": "Only what changed on or after this day or moment (ISO 8601: 2026-03-01 or "
                       "2026-03-01T09:00:00+10:00)."})
    taxonomy_term_id = fields.String(metadata={
        "description": "Comma-separated ids (or codes such as goal:moderation) of Linkage taxonomy terms; "
                       "only services with every one of them."})
    taxonomy_id = fields.String(metadata={"description": "The Linkage taxonomy's id (the only taxonomy used)."})
    organization_id = fields.String(metadata={"description": "Only the services of this organization."})
    full = fields.Boolean(metadata={"description": "true: every related row, as /services/{id} gives them."})
    format = fields.String(metadata={
        "description": "json (the answer's format, the profile's meaning), or Linkage's attendance filter: "
                       "comma-separated in_person, online, phone."})
    goal = CommaList(vocab.GOALS)
    near = fields.String(validate=validate.Length(max=200), metadata={
        "description": "Linkage extension: a postcode, suburb or lat,lon; in-person listings within "
                       "radius_km, and online or phone listings whose service area covers it."})
    radius_km = fields.Float(validate=validate.Range(min=1, max=500, error="radius_km must be 1 to 500"),
                             allow_nan=False)


LIST_ARGS = ListArgs()


class OneArgs(Schema):
    """The query string of /hsds/organizations/{id}."""

    class Meta:
        unknown = EXCLUDE

    full_service = fields.Boolean(metadata={"description": "true: its services with every related row."})


ONE_ARGS = OneArgs()

_PAGE = {"type": "object", "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                                          "last_page", "empty", "contents"],
         "properties": {"total_items": {"type": "integer"}, "total_pages": {"type": "integer"},
                        "page_number": {"type": "integer"}, "size": {"type": "integer"},
                        "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
                        "empty": {"type": "boolean"}, "contents": {"type": "array", "items": {"type": "object"}}}}
_OBJECT = {"type": "object", "description": "An HSDS 3.0 object (see the specification's schema)."}


# --- the listings, indexed once per index build ----------------------------------------------------


class Catalogue:
    """Every listing in id order, with the HSDS ids that lead to them."""

    def __init__(self, listings):
        self.listings: list[Listing] = sorted(listings, key=lambda listing: listing.id)
        self.by_service: dict[str, Listing] = {}
        self.by_location: dict[str, tuple[Listing, bool]] = {}
        self.by_service_at_location: dict[str, tuple[Listing, bool]] = {}
        self.organizations: dict[str, list[Listing]] = {}
        self.service_at_locations: list[tuple[Listing, bool]] = []
        for listing in self.listings:
            self.by_service[hsds.service_id(listing)] = listing
            self.organizations.setdefault(hsds.organization_id(listing), []).append(listing)
            for sal_id, virtual in hsds.service_at_locations(listing):
                self.by_service_at_location[sal_id] = (listing, virtual)
                self.by_location[hsds.location_id(listing, virtual)] = (listing, virtual)
                self.service_at_locations.append((listing, virtual))
        self.codes: dict[str, frozenset[str]] = {listing.id: frozenset(hsds.attribute_codes(listing))
                                                 for listing in self.listings}
        self.text: dict[str, str] = {
            listing.id: normalise(" ".join(filter(None, (listing.name, listing.description, listing.program,
                                                         listing.location.locality if listing.location else None))))
            for listing in self.listings}


_cache: dict = {}
_lock = Lock()


def catalogue() -> Catalogue:
    """The catalogue of the backend's listings, rebuilt when the index is rebuilt."""
    backend = services().backend
    built = backend.info().get("built_at")
    with _lock:
        cached = _cache.get(id(backend))
        if cached and cached[0] == built and built is not None:
            return cached[1]
    made = Catalogue(backend.listings())
    with _lock:
        _cache[id(backend)] = (built, made)
    return made


# --- filters ---------------------------------------------------------------------------------------


def _filters(args: dict, found: Catalogue):
    """A predicate over listings from the list arguments; ApiError(400) naming a bad one."""
    checks = []
    if args.get("search", "").strip():
        words = normalise(args["search"]).split()
        checks.append(lambda listing: all(word in found.text[listing.id] for word in words))
    if args.get("modified_after"):
        since = _moment(args["modified_after"])
        checks.append(lambda listing: (changed := hsds.last_modified(listing)) is not None
                      and _moment(changed, None) >= since)
    codes = []
    for raw in (args.get("taxonomy_term_id") or "").split(","):
        if raw.strip():
            term = taxonomy.find_term(raw)
            if term is None:
                raise ApiError(400, "bad_parameter", f"taxonomy_term_id: {raw.strip()[:60]!r} is not a term of the "
                               "Linkage taxonomy (see /hsds/taxonomy_terms)", "taxonomy_term_id")
            codes.append(term.code)
    for code in codes:
        if ":" in code:
            checks.append(lambda listing, code=code: code in found.codes[listing.id])
        else:  # a vocabulary's own term: any value of it
            checks.append(lambda listing, code=code: any(c.startswith(code + ":") for c in found.codes[listing.id]))
    if args.get("taxonomy_id") and args["taxonomy_id"].strip().lower() != taxonomy.TAXONOMY_ID:
        raise ApiError(400, "bad_parameter", f"taxonomy_id: only the Linkage taxonomy ({taxonomy.TAXONOMY_ID}) "
                       "is used here", "taxonomy_id")
    if args.get("organization_id"):
        wanted = args["organization_id"].strip().lower()
        checks.append(lambda listing: hsds.organization_id(listing) == wanted)
    formats = _formats(args.get("format"))
    if formats:
        checks.append(lambda listing: any(f in listing.formats for f in formats))
    if args.get("goal"):
        checks.append(lambda listing: any(g in listing.goals for g in args["goal"]))
    if args.get("near"):
        checks.append(_near(args["near"], args.get("radius_km", 25.0)))
    elif "radius_km" in args:
        raise ApiError(400, "bad_parameter", "radius_km needs near", "radius_km")
    return lambda listing: all(check(listing) for check in checks)


def _moment(text: str, parameter: str | None = "modified_after") -> datetime:
    """An ISO 8601 day or moment as an aware datetime (a day, or a moment without an offset, in UTC)."""
    # A "+" left unencoded in a query string arrives as a space: put it back before the offset.
    text = re.sub(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2", text.strip())
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "bad_parameter", f"{parameter} must be an ISO 8601 date or date-time such as "
                       "2026-03-01 or 2026-03-01T09:00:00+10:00", parameter) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _formats(text: str | None) -> tuple[str, ...]:
    """Linkage formats named in `format`; () when it names the answer's format (json)."""
    if not text:
        return ()
    items = [item.strip().casefold().replace("-", "_").replace(" ", "_") for item in text.split(",") if item.strip()]
    if items and all(item in RESPONSE_FORMATS for item in items):
        return ()
    for item in items:
        if item not in vocab.FORMATS:
            raise ApiError(400, "bad_parameter", f"format: {item[:40]!r} is neither an answer format "
                           f"({', '.join(RESPONSE_FORMATS)}) nor a Linkage format ({', '.join(vocab.FORMATS)})",
                           "format")
    return tuple(items)


def _near(text: str, radius_km: float):
    """A predicate: in person within the radius of the place, or online/phone covering it."""
    from service.search.places import PlaceError, resolve_place

    try:
        place, _ = resolve_place(text, services().geocoder)
    except PlaceError as exc:
        raise ApiError(400, "unknown_place", str(exc), "near") from None

    def close(listing: Listing) -> bool:
        location = listing.location
        if location and "in_person" in listing.formats and \
                great_circle_km(place.lat, place.lon, location.lat, location.lon) <= radius_km:
            return True
        return listing.remote_covers(place)
    return close


def _list_args() -> dict:
    args = load_args(LIST_ARGS, request.args)
    args.setdefault("page", 1)
    args.setdefault("per_page", 20)
    return args


def _page(items: list, args: dict, shape) -> dict:
    """The Page envelope of one page of `items`, each shaped by `shape`."""
    shown, total = hsds.page_of(items, args["page"], args["per_page"])
    return hsds.Page([shape(item) for item in shown], total, args["page"], args["per_page"]).document()


def _answer(document: dict):
    response = render.to_json(document)
    # Open data for other directories: readable from any site, like the Meeting Guide feed.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _not_found(what: str, key: str):
    raise ApiError(404, "not_found", f"No {what} with id {key[:120]!r}", "id")


# --- endpoints -----------------------------------------------------------------------------------


@blueprint.get("/")
@document(blueprint, _OBJECT, errors=(429,))
def about():
    """What this API is: the HSDS version and profile it follows."""
    from flask import url_for
    from werkzeug.routing import BuildError

    about_api = {"version": "3.0", "profile": PROFILE_URL}
    try:
        about_api["openapi_url"] = url_for("api-docs.openapi_json", _external=True)
    except BuildError:  # the OpenAPI document is not served in this configuration
        pass
    return _answer(about_api)


@blueprint.get("/services")
@document(blueprint, _PAGE, query=ListArgs, errors=(400, 429, 503))
def service_list():
    """Services (one per listing) in the profile's Page envelope; `full=true` nests every row."""
    args = _list_args()
    found = catalogue()
    keep = _filters(args, found)
    full = bool(args.get("full"))
    return _answer(_page([listing for listing in found.listings if keep(listing)], args,
                         lambda listing: hsds.to_service(listing, full=full)))


@blueprint.get("/services/<path:service_id>")
@document(blueprint, _OBJECT, errors=(404, 429, 503))
def service_one(service_id: str):
    """One service with every related row (service_full)."""
    listing = catalogue().by_service.get(service_id.lower())
    if listing is None:
        _not_found("service", service_id)
    return _answer(hsds.to_service(listing))


@blueprint.get("/organizations")
@document(blueprint, _PAGE, query=ListArgs, errors=(400, 429, 503))
def organization_list():
    """Organisations: each program, and each listing without one; `full=true` nests their services."""
    args = _list_args()
    found = catalogue()
    keep = _filters(args, found)
    groups = [(key, [listing for listing in members if keep(listing)])
              for key, members in sorted(found.organizations.items())]
    groups = [(key, members) for key, members in groups if members]
    full = bool(args.get("full"))
    return _answer(_page(groups, args, lambda group: hsds.to_organization(
        group[1], [hsds.to_service(listing, full=False) for listing in group[1]] if full else None)))


@blueprint.get("/organizations/<path:organization_id>")
@document(blueprint, _OBJECT, query=OneArgs, errors=(400, 404, 429, 503))
def organization_one(organization_id: str):
    """One organisation with its services (their one-to-one fields, or all with full_service=true)."""
    args = load_args(ONE_ARGS, request.args)
    members = catalogue().organizations.get(organization_id.lower())
    if not members:
        _not_found("organization", organization_id)
    full = bool(args.get("full_service"))
    return _answer(hsds.to_organization(members, [hsds.to_service(listing, full=full) for listing in members]))


@blueprint.get("/service_at_locations")
@document(blueprint, _PAGE, query=ListArgs, errors=(400, 429, 503))
def service_at_location_list():
    """Each service at each of its places (physical, and its conference link as a virtual one)."""
    args = _list_args()
    found = catalogue()
    keep = _filters(args, found)
    full = bool(args.get("full"))
    return _answer(_page([pair for pair in found.service_at_locations if keep(pair[0])], args,
                         lambda pair: hsds.to_service_at_location(pair[0], pair[1], with_service=full)))


@blueprint.get("/service_at_locations/<path:sal_id>")
@document(blueprint, _OBJECT, errors=(404, 429, 503))
def service_at_location_one(sal_id: str):
    """One service at one place, with its location and service nested in full."""
    pair = catalogue().by_service_at_location.get(sal_id.lower())
    if pair is None:
        _not_found("service_at_location", sal_id)
    return _answer(hsds.to_service_at_location(pair[0], pair[1], with_service=True))


@blueprint.get("/locations/<path:location_id>")
@document(blueprint, _OBJECT, errors=(404, 429, 503))
def location_one(location_id: str):
    """One location: a listing's place, or its conference link."""
    pair = catalogue().by_location.get(location_id.lower())
    if pair is None:
        _not_found("location", location_id)
    return _answer(hsds.to_location(pair[0], pair[1]))


@blueprint.get("/taxonomies")
@document(blueprint, _PAGE, errors=(429,))
def taxonomy_list():
    """The one taxonomy Linkage publishes its vocabularies in."""
    return _answer(hsds.Page([dict(taxonomy.TAXONOMY)], 1, 1, 1).document())


@blueprint.get("/taxonomy_terms")
@document(blueprint, _PAGE, errors=(400, 429))
def taxonomy_term_list():
    """Every term of the Linkage taxonomy (a parent per vocabulary, a child per value)."""
    args = _list_args()
    terms = list(taxonomy.TERMS.values())
    return _answer(_page(terms, args, hsds.to_taxonomy_term))


@blueprint.get("/taxonomy_terms/<path:term_id>")
@document(blueprint, _OBJECT, errors=(404, 429))
def taxonomy_term_one(term_id: str):
    """One term of the Linkage taxonomy, by id or code."""
    term = taxonomy.find_term(term_id)
    if term is None:
        _not_found("taxonomy_term", term_id)
    return _answer(hsds.to_taxonomy_term(term))

