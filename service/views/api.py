"""The JSON API, v1."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_babel import force_locale
from flask_smorest import Blueprint

from service import http_cache, i18n, render

from service.search import scoring
from service.backends.contract import Matches
from service.errors import ApiError
from service.domain.models import Hit, SearchQuery
from service.render.json_api import json_response, search_body
from service.openapi import MeetingGuideMeetingSchema, PlacesSchema, ProgramsSchema, ResultItemSchema, SearchResultSchema
from service.search.params import ListingArgs, PlacesArgs, ProgramsArgs, SearchArgs, load_args, parse_at, parse_search, parse_zone
from service.views import dead_links_of, document, services, stale_before

PLACES_ARGS = PlacesArgs()
LISTING_ARGS = ListingArgs()
SEARCH_LANG = SearchArgs(only=("lang",))
SEARCH_FIELDS = SearchArgs(only=("fields",))



def response_language(args) -> tuple[str, str | None]:
    """The catalogue to write `why` in for the request's `lang` (English when absent), and a
    warning when a language was asked for that has no catalogue (then English, not a 400:
    the results are still useful). A `lang` over the length limit is a 400 naming it."""
    raw = (load_args(SEARCH_LANG, args).get("lang") or "").strip() if "lang" in args else ""
    if not raw:
        return i18n.DEFAULT_LANGUAGE, None
    language = i18n.negotiate(raw)
    if language == i18n.DEFAULT_LANGUAGE and raw.replace("-", "_").split("_")[0].lower() != "en":
        return language, (f"lang {raw[:20]!r} has no catalogue here; why it fits is in English "
                          f"(languages: {', '.join(i18n.available_languages())})")
    return language, None

blueprint = Blueprint("api", __name__, description="Search listings, places and programs.")


def run_search(args) -> tuple[SearchQuery, Matches, tuple]:
    """params -> backend -> post-search steps; shared by the API and the search page."""
    svc = services()
    query = parse_search(args, svc.geocoder, svc.clock())
    with current_app.extensions["linkage_metrics"].backend_seconds.labels("search").time():
        matches = svc.backend.search(query)
    return query, matches, scoring.rank_hits(matches.hits, query)


@blueprint.get("/v1/search")
@document(blueprint, SearchResultSchema, query=SearchArgs, errors=(400, 429, 503))
def search():
    """Search listings near a place or online, filtered by format, goal and more; `why` in the
    language `lang` names; with `fields`, only those fields of each item."""
    language, warning = response_language(request.args)
    # Checked before searching: a bad field name costs no search.
    fields = load_args(SEARCH_FIELDS, request.args).get("fields") if "fields" in request.args else None
    query, matches, items = run_search(request.args)
    stale, dead_links = stale_before(query.at), dead_links_of(render.listing_ids(items))
    with force_locale(language):
        # The body with each listing's stored text written once (most searches), else the
        # document written whole: the same bytes either way.
        written = None if fields is not None else search_body(query, matches, items, stale, dead_links,
                                                              [warning] if warning else [])
        if written is None:
            document = render.search_document(query, matches, items, stale, dead_links, fields, for_json_bytes=True)
    if written is not None:
        body, sessions = written
        http_cache.keep_document(sessions)
        return Response(body, mimetype="application/json")
    if warning:
        document["warnings"].append(warning)
    http_cache.keep_document(document)
    return json_response(document, datetimes=True)


@blueprint.get("/v1/places")
@document(blueprint, PlacesSchema, query=PlacesArgs, errors=(400, 429))
def places():
    """Place suggestions for a typed prefix (Australian suburbs and postcodes, biggest first)."""
    args = load_args(PLACES_ARGS, request.args)
    text = args["q"].strip()[:80]
    limit = min(max(args["limit"], 1), 20)
    suggest = getattr(services().geocoder, "suggest", None)
    entries = suggest(text, limit) if suggest and text else []
    return render.to_json({"items": [
        {"label": e.label, "name": e.name, "state": e.state, "postcode": e.postcode,
         "lat": round(e.lat, 5), "lon": round(e.lon, 5)} for e in entries]})


@blueprint.get("/v1/programs")
@document(blueprint, ProgramsSchema, query=ProgramsArgs, errors=(400, 429))
def program_explainers():
    """Plain-language explainers of the programs, for GPs and community sites; in the language
    `lang` names (program names stay as the programs write them)."""
    from service.domain.programs import STANCES

    language, _warning = response_language(request.args)
    with force_locale(language):
        return render.to_json({"items": [
            {"name": name, "approach": stance.approach, "goals": list(stance.goals),
             "explainer": i18n.explainer(stance.explainer)}
            for name, stance in STANCES.items()]})


@blueprint.get("/v1/feeds/meeting-guide.json")
@document(blueprint, MeetingGuideMeetingSchema(many=True), errors=(429, 503))
def meeting_guide_feed():
    """Every group, in Meeting Guide format, for TSML UI and other Meeting Guide clients.

    One meeting per weekly session. Monthly sessions are left out (the format is weekly only):
    the X-Linkage-Left-Out header counts them and says why; X-Linkage-Meetings counts the
    meetings.
    """
    from service.render.meeting_guide import NOT_WEEKLY, meeting_guide_feed as published_feed

    svc = services()
    # Built once per index build: the counts here and the body below come from the same export.
    feed = published_feed(svc.backend, svc.clock())
    response = render.respond("meeting-guide.json", svc.backend, svc.clock())
    response.headers["X-Linkage-Meetings"] = str(feed.meetings)
    response.headers["X-Linkage-Left-Out"] = f"{feed.left_out} sessions ({NOT_WEEKLY})"
    # A public feed anyone may read, from any site (TSML UI fetches it from the site that
    # embeds it), counts included.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "X-Linkage-Meetings, X-Linkage-Left-Out"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get("/v1/schema/listing.json")
@document(blueprint, {"type": "object"}, content_type="application/schema+json", errors=(429,))
def listing_schema():
    """The JSON Schema of a listing (the native import format), generated from the schemas."""
    from flask import Response

    from service.domain.jsonschema import listing_schema_text

    return Response(listing_schema_text(), mimetype="application/schema+json")


@blueprint.get("/v1/listings/<path:listing_id>")
@document(blueprint, ResultItemSchema, query=ListingArgs, errors=(400, 404, 429, 503))
def listing(listing_id: str):
    """One listing with its next sessions (from `at`, shown also in `tz`); `why` in the language
    `lang` names (a language without a catalogue gives English)."""
    svc = services()
    found = svc.backend.get(listing_id)
    if found is None:
        raise ApiError(404, "not_found", f"No listing with id {listing_id[:120]!r}", "id")
    args = load_args(LISTING_ARGS, request.args)
    viewer_tz = parse_zone(args["tz"], "tz") if args.get("tz") else None
    at = parse_at(args.get("at"), viewer_tz, svc.clock())
    query = SearchQuery(at=at, viewer_tz=viewer_tz)
    hit = scoring.rank_hit(Hit(listing=found, distance_km=None), query)
    language, _warning = response_language(request.args)  # a listing has no warnings to carry it
    with force_locale(language):
        document = render.item_document(hit, viewer_tz, stale_before(at), dead_links_of([found.id]).get(found.id, ()))
    http_cache.keep_document(document)
    return render.to_json(document)
