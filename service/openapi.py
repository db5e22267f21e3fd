"""The OpenAPI 3 document (/v1/openapi.json) and its human view (/docs).

flask-smorest builds the document from the views' blueprints. The views keep parsing their
own input (params.py, the referral request schemas) so the documented parameters are the
very schemas that validate them; the response schemas below describe what the renderers
write, and the fuzzing tests (tests/api/test_openapi.py) hold every answer to them.
"""

from __future__ import annotations

import copy
from pathlib import Path

from flask import Blueprint, Response, render_template, send_from_directory
from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields, validate

from service.domain import vocab
from service.referrals.model import OUTCOMES
from service.domain.schemas import ListingSchema
from service.domain.text import LINK_FIELDS

OPENAPI_VERSION = "3.0.3"


# --- errors -------------------------------------------------------------------------------


class ErrorDetailSchema(Schema):
    """What went wrong, and the parameter or field it concerns when there is one."""

    status = fields.Integer(required=True, metadata={"description": "The HTTP status, repeated."})
    code = fields.String(required=True, metadata={"description": "A stable machine-readable code, "
                                                   "e.g. bad_parameter, unknown_place, not_found."})
    message = fields.String(required=True, metadata={"description": "A sentence for people."})
    parameter = fields.String(metadata={"description": "The query parameter or body field at fault."})


class ErrorSchema(Schema):
    """Every error, on every endpoint: {"error": {status, code, message, parameter}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# --- search -------------------------------------------------------------------------------


class StaleSchema(Schema):
    """Set when the listing was last checked longer ago than the service's freshness limit."""

    verified_at = fields.String(required=True, metadata={"description": "Date last checked (YYYY-MM-DD)."})


class SessionTimeSchema(Schema):
    """One upcoming session: start and end with the listing's UTC offset (and the viewer's)."""

    start = fields.String(required=True, metadata={"format": "date-time"})
    end = fields.String(required=True, metadata={"format": "date-time"})
    viewer_start = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    viewer_end = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    in_progress = fields.Boolean(required=True)


class DeadLinkSchema(Schema):
    """A link of the listing that `linkage check-links` found gone (404/410, no such host...)."""

    url = fields.String(required=True)
    reason = fields.String(required=True)
    http_status = fields.Integer(required=True, allow_none=True)
    failing_since = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    checked_at = fields.String(required=True, metadata={"format": "date"})
    held_in = fields.List(fields.String(validate=validate.OneOf(LINK_FIELDS)), required=True, data_key="fields",
                          metadata={"description": "The contact fields that hold this link."})


class ResultItemSchema(ListingSchema):
    """A listing with what the search adds."""

    stale = fields.Nested(StaleSchema, required=True, allow_none=True)
    distance_km = fields.Float(required=True, allow_none=True,
                               metadata={"description": "Great-circle distance from the place searched."})
    next_sessions = fields.List(fields.Nested(SessionTimeSchema), required=True)
    open_now = fields.Boolean(required=True)
    why = fields.List(fields.String(), required=True,
                      metadata={"description": "Plain-language reasons this listing matches."})
    for_everyone = fields.Boolean(required=True, metadata={
        "description": "False when the listing is only for particular audiences (family and friends, women, "
                       "young people ...). Without `audience` such listings come after all listings for "
                       "everyone: a page may head the first of them \"For particular groups\"."})
    dead_links = fields.List(fields.Nested(DeadLinkSchema), required=True,
                             metadata={"description": "Links found dead at the last link check."})


class PlaceEchoSchema(Schema):
    """The place a search resolved `near` or `lat,lon` to."""

    query = fields.String(required=True)
    name = fields.String(required=True)
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    state = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, allow_none=True)
    timezone = fields.String(required=True, allow_none=True)
    approximate = fields.Boolean(required=True)
    alternatives = fields.List(fields.String(), required=True)


def _names(**kwargs):
    return fields.List(fields.String(), required=True, **kwargs)


class QueryEchoSchema(Schema):
    """The query as the service understood it, after synonyms, defaults and clamping."""

    near = fields.Nested(PlaceEchoSchema, required=True, allow_none=True)
    radius_km = fields.Float(required=True, allow_none=True)
    format = _names()
    goal = _names()
    substance = _names()
    kind = _names()
    approach = _names()
    audience = _names()
    language = _names()
    day = _names()
    time = _names(metadata={"description": "Parts of the day asked for (morning, afternoon, evening)."})
    starts_within = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Minutes; with `tonight`, the minutes until midnight in the place's zone (or less)."})
    tonight = fields.Boolean(required=True)
    open_now = fields.Boolean(required=True)
    q = fields.String(required=True, allow_none=True, metadata={
        "description": "The words matched as text: what is left of `q` once substance and audience words "
                       "were read as filters (null when none is left)."})
    at = fields.String(required=True, metadata={"format": "date-time"})
    tz = fields.String(required=True, allow_none=True)
    sort = fields.String(required=True, validate=validate.OneOf(vocab.SORTS))
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


def _none_required(schema: type[Schema]) -> dict:
    """Copies of a schema's fields, each optional (nested schemas keep their own rules)."""
    optional = {}
    for name, field in schema._declared_fields.items():
        optional[name] = copy.copy(field)
        optional[name].required = False
    return optional


class SearchItemSchema(Schema.from_dict(_none_required(ResultItemSchema), name="SearchItemBase")):
    """An item of a search answer: a `ResultItem`, with every field, or with only those `fields`
    named (so no field is required here)."""


class SearchResultSchema(Schema):
    """GET /v1/search."""

    query = fields.Nested(QueryEchoSchema, required=True)
    warnings = _names(metadata={"description": "What was adjusted or ignored, in words."})
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    items = fields.List(fields.Nested(SearchItemSchema), required=True)
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                         required=True, metadata={"description": "Counts per filter value over all matches."})


class PlaceSchema(Schema):
    """A place suggestion."""

    label = fields.String(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True, allow_none=True)
    postcode = fields.String(required=True, allow_none=True)
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class PlacesSchema(Schema):
    """GET /v1/places."""

    items = fields.List(fields.Nested(PlaceSchema), required=True)


class ProgramSchema(Schema):
    """A program's approach and the goals it supports, in plain language."""

    name = fields.String(required=True)
    approach = fields.String(required=True)
    goals = _names()
    explainer = fields.String(required=True)


class ProgramsSchema(Schema):
    """GET /v1/programs."""

    items = fields.List(fields.Nested(ProgramSchema), required=True)


class MeetingGuideMeetingSchema(Schema):
    """A meeting in the Meeting Guide format (https://github.com/code4recovery/spec)."""

    class Meta:
        unknown = INCLUDE

    name = fields.String(required=True)
    slug = fields.String(required=True)
    day = fields.Integer(validate=validate.Range(min=0, max=6))
    time = fields.String()
    timezone = fields.String()
    types = fields.List(fields.String())
    attendance_option = fields.String(validate=validate.OneOf(("in_person", "hybrid", "online", "inactive")))


# --- referrals ----------------------------------------------------------------------------


class SuggestionSchema(Schema):
    """An option near the chosen ones that adds what they lack."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    why = _names()


class SmsLengthSchema(Schema):
    """A text message counted as phones count it (`service.render.sms`)."""

    encoding = fields.String(required=True, validate=validate.OneOf(("GSM-7", "UCS-2")), metadata={
        "description": "GSM-7 when every character is in the GSM alphabet, else UCS-2."})
    characters = fields.Integer(required=True, metadata={
        "description": "Length in the encoding's units: GSM-7 septets (an extension character such as € "
                       "counts 2) or UTF-16 code units (an emoji counts 2)."})
    segments = fields.Integer(required=True, metadata={
        "description": "Segments a phone sends it in: 160 septets in one, 153 a segment beyond; "
                       "UCS-2 70 in one, 67 a segment beyond."})


class ReferralCreatedSchema(Schema):
    """POST /v1/referrals: the handout's code and where to find it."""

    code = fields.String(required=True, metadata={"description": "Short code to read over the phone."})
    url = fields.String(required=True)
    sms = fields.String(required=True, metadata={"description": "The handout as a text message: the "
                                                                 "client's language, then English, then the link."})
    sms_length = fields.Nested(SmsLengthSchema, required=True)
    pdf = fields.String(required=True, metadata={"description": "The handout as PDF (GET; POST a `note` form "
                                                                 "field for a copy with a note, never stored)."})
    ics = fields.String(required=True, metadata={"description": "The sessions as a calendar file."})
    txt = fields.String(required=True, metadata={"description": "The handout as a text message (plain text)."})
    expires_at = fields.String(required=True, metadata={"format": "date-time"})
    warnings = _names()
    suggestions = fields.List(fields.Nested(SuggestionSchema), required=True)
    items = fields.List(fields.Nested(ListingSchema), required=True,
                        metadata={"description": "The listings as frozen into the handout."})


class ReferralItemSchema(ResultItemSchema):
    """A referral's option: its snapshot, and whether the listing changed since."""

    change = fields.String(required=True, validate=validate.OneOf(("unchanged", "changed", "removed")),
                           metadata={"description": "Since the handout was made: unchanged, changed (edited "
                                                    "since) or removed (gone or inactive)."})


class ReferralSchema(Schema):
    """GET /v1/referrals/{code}."""

    code = fields.String(required=True)
    url = fields.String(required=True)
    expires_at = fields.String(required=True, metadata={"format": "date-time"})
    goal = fields.String(required=True, allow_none=True)
    language = fields.String(required=True)
    seven_day_goal = fields.String(required=True, allow_none=True, metadata={
        "description": "The goal for the next seven days picked from the short list (a key)."})
    timezone = fields.String(required=True, allow_none=True, metadata={
        "description": "The client's time zone (the searched place's), which times are labelled against."})
    items = fields.List(fields.Nested(ReferralItemSchema), required=True)
    sms = fields.String(required=True, metadata={"description": "The handout as a text message."})
    sms_length = fields.Nested(SmsLengthSchema, required=True)


class RecordedSchema(Schema):
    """POST /v1/referrals/{code}/feedback."""

    recorded = fields.Boolean(required=True)


_COUNTS = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReferralStatsSchema(Schema):
    """GET /v1/stats/referrals: anonymous outcome counts."""

    referrals = fields.Integer(required=True)
    outcomes = fields.Dict(keys=fields.String(validate=validate.OneOf(OUTCOMES)), values=fields.Integer(),
                           required=True)
    by_program = fields.Dict(keys=fields.String(), values=_COUNTS, required=True)
    by_format = fields.Dict(keys=fields.String(), values=_COUNTS, required=True)
    by_listing = fields.Dict(keys=fields.String(), values=_COUNTS, required=True)


# --- health -------------------------------------------------------------------------------


class HealthSchema(Schema):
    """GET /healthz."""

    status = fields.String(required=True, validate=validate.Equal("ok"))


class ReadinessSchema(Schema):
    """GET /readyz: the backend's own details (index name, build time...) plus these."""

    class Meta:
        unknown = INCLUDE

    status = fields.String(required=True, validate=validate.OneOf(("ok", "degraded", "empty", "unavailable")))
    listing_count = fields.Integer()
    index_age_seconds = fields.Integer(allow_none=True)
    warnings = fields.List(fields.String())
    reason = fields.String()


# --- the document -------------------------------------------------------------------------


class LinkageApi(Api):
    """flask-smorest's Api with this service's error envelope as the documented error body."""

    ERROR_SCHEMA = ErrorSchema
    # No catch-all "default" response: every status an operation can answer is listed, so
    # the fuzzing tests' status check fails on one that is not.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """Errors keep this service's envelope (service/errors.py), not flask-smorest's."""


DESCRIPTION = """\
Find mutual-help groups (SMART Recovery, AA, NA, CMA, LifeRing, Moderation Management,
family-and-friends groups) and treatment services near a place or online, filtered by format
and by the person's goal, and hand over a referral list.

Every error has the same body: `{"error": {"status", "code", "message", "parameter"}}`.
Embedding sites pass their key as `key=` or `X-Linkage-Key`; anonymous use is rate-limited
per address.
"""


def install_openapi(app, blueprints) -> LinkageApi:
    """Register the documented blueprints through flask-smorest and serve /docs."""
    app.config.update(
        API_TITLE="Linkage",
        API_VERSION="v1",
        OPENAPI_VERSION=OPENAPI_VERSION,
        OPENAPI_URL_PREFIX="/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": DESCRIPTION}},
    )
    api = LinkageApi(app)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    _document_metrics(api)
    api.spec.components.security_scheme("adminToken", {
        "type": "http", "scheme": "bearer",
        "description": "LINKAGE_ADMIN_TOKEN, as `Authorization: Bearer …` (or `X-Admin-Token`)."})
    app.register_blueprint(_docs_blueprint())
    return api


def _document_metrics(api: LinkageApi) -> None:
    """/metrics is served by the observability module, outside any blueprint."""
    from werkzeug.routing import Map, Rule

    rule = Rule("/metrics")
    Map([rule])  # binds the rule, as flask-smorest's path helper reads its arguments
    api.spec.path(rule=rule, parameters=[], operations={"get": {
        "summary": "Prometheus metrics",
        "description": "Request and backend latency, listing count, index age, imports per source.",
        "tags": ["health"],
        "responses": {"200": {"description": "Prometheus text exposition format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      "500": {"description": "An unexpected error (logged with the request id)",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    }})


def _docs_blueprint() -> Blueprint:
    """Swagger UI from the swagger-ui-bundle package: served here, so no CDN and a strict CSP."""
    from swagger_ui_bundle import swagger_ui_path

    docs = Blueprint("docs", __name__)

    @docs.get("/docs")
    def docs_page():
        """The API reference, for people."""
        return Response(render_template("docs.html"), mimetype="text/html")

    @docs.get("/docs/static/<path:filename>")
    def docs_static(filename: str):
        """Swagger UI's own files, and our two-line start-up script."""
        if filename == "start.js":
            return send_from_directory(Path(__file__).parent / "static", "docs-start.js",
                                       mimetype="text/javascript", max_age=300)
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    return docs
