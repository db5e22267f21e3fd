"""Referrals: create one, show it as JSON or a handout, count anonymous outcomes."""

from __future__ import annotations

import hmac

from flask import Response, current_app, redirect, request
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from service import i18n, render
from service.render.handout import rendering_key
from service.render.sms import sms_length
from service.render.reasons import reason_text
from service.settings import PDF_RENDER_COST

from service.search import scoring

from service.domain import vocab
from service.domain.zones import known_zone
from service.errors import ApiError
from service.referrals.handout import build_handout
from service.domain.models import Place, RankedHit, SearchQuery
from service.search.places import PlaceError, resolve_place
from service.referrals.model import (MAX_ITEMS, MAX_NOTE, OUTCOMES, SEVEN_DAY_GOALS, Referral, choice_warning, differs,
                         display_code, expiry, new_code, normalise_code)
from service.openapi import ErrorSchema, RecordedSchema, ReferralCreatedSchema, ReferralSchema, ReferralStatsSchema
from service.domain.schemas import dump_listing
from service.views import ERROR_MEANINGS, dead_links_of, document, public_base, services

blueprint = Blueprint("referrals", __name__, description="Referral lists: create, show, print, text, "
                      "and count anonymous outcomes.")
# A PDF's 503: the backend's, or this server's PDF renderer cannot load (`pdf_unavailable`).
PDF_UNAVAILABLE_MEANING = (ERROR_MEANINGS[503] + " For a PDF also: this server cannot make PDFs "
                           "(`pdf_unavailable`; the handout's page prints from the browser).")
# The handout's downloads at /r/<code>.<fmt>, each rendered by `render.FORMATS["handout.<fmt>"]`.
HANDOUT_FILES = ("pdf", "txt", "ics")


def _known_zone(name: str) -> None:
    """An IANA zone name zoneinfo knows, or a validation error naming it."""
    if known_zone(name) is None:
        raise ValidationError(f"unknown time zone {name[:60]!r} (use an IANA name such as Australia/Perth)")


HANDOUT_LANGUAGES = (i18n.DEFAULT_LANGUAGE, *i18n.CLIENT_LANGUAGES)


class HandoutLanguage(fields.String):
    """A handout's language: a catalogue name ("en", "zh_Hans", "ar"...) or a browser tag that
    stands for one ("zh-TW" -> "zh_Hant", "tl" -> "fil", "vi-VN" -> "vi"), loaded as the name."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        name = i18n.catalogue_name(text)
        if name is None:
            raise ValidationError(f"unknown language {text[:40]!r}: use one of {', '.join(HANDOUT_LANGUAGES)} "
                                  "(or a browser tag such as zh-TW or vi-VN)")
        return name


class ReferralRequest(Schema):
    """POST /v1/referrals. There is deliberately no field for free text about the client: only
    choices from fixed lists are stored. `near` and `formats` describe the search the options
    came from; they steer the "widen the choice" suggestions and are not stored."""

    class Meta:
        unknown = RAISE

    listing_ids = fields.List(fields.String(validate=validate.Length(min=1, max=200)), required=True,
                              validate=validate.Length(min=1, error="choose at least one listing"))
    goal = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(vocab.QUERY_GOALS))
    seven_day_goal = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(tuple(SEVEN_DAY_GOALS)),
                                   metadata={"description": "One goal for the next seven days, from a short list."})
    timezone = fields.String(load_default=None, allow_none=True, validate=_known_zone, metadata={
        "description": "The client's IANA time zone (the searched place's); times in another zone are labelled."})
    language = HandoutLanguage(load_default=i18n.DEFAULT_LANGUAGE, metadata={
        "enum": list(HANDOUT_LANGUAGES),
        "description": "The client's language: the handout prints it first with English beside it. A catalogue "
                       "name, or a browser tag read as one (zh-TW -> zh_Hant, zh-CN -> zh_Hans, tl -> fil)."})
    near = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200), metadata={
        "description": "The place searched (postcode, suburb or lat,lon), for suggestions only; not stored."})
    formats = fields.List(fields.String(validate=validate.OneOf(vocab.FORMATS)), load_default=list, metadata={
        "description": "The formats the search asked for, for suggestions only; not stored."})
    substances = fields.List(fields.String(validate=validate.OneOf(vocab.SUBSTANCES)), load_default=list, metadata={
        "description": "The substances the search asked for, for suggestions only; not stored."})
    audiences = fields.List(fields.String(validate=validate.OneOf(vocab.AUDIENCES)), load_default=list, metadata={
        "description": "The audiences the search asked for, for suggestions only; not stored."})


class NoteForm(Schema):
    """POST /r/{code} and /r/{code}.pdf: a note printed onto this one copy, never stored or logged."""

    class Meta:
        unknown = RAISE

    note = fields.String(load_default="", validate=validate.Length(
        max=MAX_NOTE, error=f"the note is longer than {MAX_NOTE} characters"))
    print = fields.String(load_default="", validate=validate.OneOf(("", "0", "1")))


NOTE_NOT_STORED = ("a note about the client is never sent to Linkage's storage: print it onto the client's "
                   "copy from your browser (POST it as the form field `note` to the handout's page or its .pdf)")


class FeedbackRequest(Schema):
    """POST /v1/referrals/{code}/feedback: which option, and how it went. Nothing else."""

    class Meta:
        unknown = RAISE

    listing_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))


def _json_body(schema: Schema) -> dict:
    """The request's JSON body through a schema: 400 when not JSON, 422 naming the bad field."""
    try:
        data = request.get_json(silent=True, force=True)
    except RecursionError:  # json.loads gives up on deep nesting this way, not with a ValueError
        raise ApiError(400, "bad_json", "the body is nested too deeply to read: it must be a JSON object") from None
    if data is None:
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object")
    ids = data.get("listing_ids")
    if isinstance(ids, list) and len(ids) > MAX_ITEMS:
        raise ApiError(422, "invalid_body", f"at most {MAX_ITEMS} listings per referral (got {len(ids)})",
                       "listing_ids")
    try:
        return schema.load(data)
    except ValidationError as exc:
        field_name, problems = next(iter(exc.messages.items()))
        problem = problems[0] if isinstance(problems, dict) else problems
        problem = problem[0] if isinstance(problem, list) else problem
        if isinstance(problem, dict):  # a list's item: {0: ["Must be one of ..."]}
            problem = next(iter(problem.values()))[0]
        if field_name == "language" and field_name in schema.fields:
            # A language Linkage has no catalogue for is a bad request, not a bad listing choice.
            raise ApiError(400, "invalid_language", f"language: {problem}", "language") from None
        if field_name == "note":
            problem = NOTE_NOT_STORED
        elif field_name not in schema.fields:
            problem = f"unknown field {field_name!r}: referrals store nothing about the client"
        raise ApiError(422, "invalid_body", f"{field_name}: {problem}", field_name) from None


def _referral_or_404(code_text: str, page: bool = False) -> Referral:
    svc = services()
    code = normalise_code(code_text)
    found = svc.referrals.get(code) if code else None
    if found is None or found.expired(svc.clock()):
        if page:
            raise _MissingPage()
        raise ApiError(404, "not_found", "no referral with that code (it may have expired)", "code")
    return found


class _MissingPage(Exception):
    """An unknown or expired handout code on a page route (answered with a friendly page)."""


@blueprint.errorhandler(_MissingPage)
def _missing(_exc):
    return _not_kept(render.respond("handout-missing.html", status=404))


def _suggestion_place(chosen, near: str | None) -> Place | None:
    """Where suggestions are sought: the searched place, else the first chosen in-person option
    that has a precise location; None when only online or phone options were chosen."""
    if near:
        try:
            place, _warnings = resolve_place(near, services().geocoder)
            return place
        except PlaceError as exc:
            raise ApiError(422, "unknown_place", str(exc), "near") from None
    for listing in chosen:
        where = listing.location
        if "in_person" in listing.formats and where is not None and not where.approximate:
            return Place(query="referral", name="referral", lat=where.lat, lon=where.lon,
                         state=where.state, country=where.country)
    return None


def _suggestions(chosen, lacking: set[str], goal: str | None, place: Place | None,
                 asked: dict) -> list[dict]:
    """Up to three options for the same place, goal, substances and audiences that add what
    the chosen ones lack.

    They keep to the formats the search asked for (`asked`: formats, substances, audiences),
    and when the advice is to add another format they all have it. Without a place only
    online and phone options can be suggested (an in-person group is no use when nobody
    knows where the client is); options for a particular audience only when it was asked.
    """
    asked_formats = tuple(asked["formats"])
    formats = set(asked_formats or vocab.FORMATS)
    chosen_formats = {f for x in chosen for f in x.formats}
    if "format" in lacking:
        formats -= chosen_formats
    if place is None:
        formats &= set(vocab.REMOTE_FORMATS)
    if not formats:
        return []
    query = SearchQuery(at=services().clock(), place=place, goals=(goal,) if goal else (),
                        formats=tuple(f for f in vocab.FORMATS if f in formats), per_page=50,
                        substances=tuple(dict.fromkeys(asked["substances"])),
                        audiences=tuple(dict.fromkeys(asked["audiences"])))
    found = []
    for hit in services().backend.search(query).hits:
        listing = hit.listing
        if "everyone" not in listing.audiences and not set(listing.audiences) & set(query.audiences):
            continue
        if "format" in lacking and not set(listing.formats) & formats:
            continue
        if differs(listing, chosen, lacking):
            found.append({"id": listing.id, "name": listing.name,
                          "why": [reason_text(reason) for reason in scoring.rank_hit(hit, query).why]})
        if len(found) == 3:
            break
    return found


def _refused(limit: str, status: int, code: str, message: str) -> ApiError:
    """A refusal by a cost or abuse limit, counted for /metrics."""
    current_app.extensions["linkage_metrics"].limit_refusals.labels(limit).inc()
    return ApiError(status, code, message)


def _make_room(now) -> None:
    """Room for one more referral: 507 when the store holds its ceiling of unexpired ones
    (expired ones are purged first), 429 when this address has stored its share."""
    svc = services()
    ceiling = svc.settings.referral_store_max
    if svc.referrals.referral_count() >= ceiling:
        svc.referrals.purge(now)
        if svc.referrals.referral_count() >= ceiling:
            raise _refused("referral_store_total", 507, "storage_full",
                           f"the referral store holds {ceiling} referrals, its ceiling (LINKAGE_REFERRAL_STORE_MAX): "
                           "no more can be stored until older ones expire")
    used_up = svc.allowances.take(svc.settings.referral_client_limit, "referrals", request.remote_addr or "")
    if used_up:
        raise _refused("referral_client", 429, "referral_limit",
                       f"this address has stored {used_up} referrals, the most one client may "
                       "(LINKAGE_REFERRAL_CLIENT_LIMIT): try again later")


@blueprint.post("/v1/referrals")
@document(blueprint, ReferralCreatedSchema, body=ReferralRequest, errors=(400, 413, 422, 429, 503), status=201)
@blueprint.alt_response(507, schema=ErrorSchema, description="The referral store holds its ceiling of referrals "
                        "(LINKAGE_REFERRAL_STORE_MAX); none can be stored until older ones expire.")
def create_referral():
    """Freeze the chosen listings into a handout; 201 with its code and URL."""
    svc = services()
    body = _json_body(ReferralRequest())
    ids = list(dict.fromkeys(body["listing_ids"]))
    listings = [svc.backend.get(i) for i in ids]
    unknown = [i for i, listing in zip(ids, listings) if listing is None]
    if unknown:
        raise ApiError(422, "unknown_listing", "unknown listing ids: " + ", ".join(unknown[:12]), "listing_ids")
    place = _suggestion_place(listings, body["near"])
    warnings, suggestions = [], []
    choice = choice_warning(listings, tuple(body["formats"]))
    if choice:
        message, lacking = choice
        suggestions = _suggestions(listings, lacking, body["goal"], place, body)
        warnings.append(message)
    now = svc.clock()
    _make_room(now)
    referral = Referral(
        code=new_code(), created_at=now, expires_at=expiry(now), goal=body["goal"],
        language=body["language"], items=tuple(dump_listing(x) for x in listings),
        seven_day_goal=body["seven_day_goal"], timezone=body["timezone"],
    )
    svc.referrals.save(referral)
    handout = build_handout(referral, {x.id: (x, snap) for x, snap in zip(listings, referral.items)}, now,
                            public_base(), stale_after_days=svc.settings.stale_after_days)
    document = {
        "code": display_code(referral.code),
        "url": handout.url,
        **_sms(handout),
        "pdf": handout.url + ".pdf",
        "ics": handout.url + ".ics",
        "txt": handout.url + ".txt",
        "expires_at": referral.expires_at.isoformat(),
        "warnings": warnings,
        "suggestions": suggestions,
        "items": list(referral.items),
    }
    response = render.to_json(document, status=201)
    response.headers["Location"] = f"/v1/referrals/{display_code(referral.code)}"
    return response


def _sms(handout) -> dict:
    """The handout as a text message and its length as phones count it, for the clinician
    to see before sending."""
    text = render.FORMATS["handout.txt"].render(handout)
    return {"sms": text, "sms_length": sms_length(text)}


def _current(referral: Referral) -> dict:
    """What the backend holds now for each listing of a referral."""
    backend = services().backend
    found = {}
    for listing_id in referral.listing_ids:
        listing = backend.get(listing_id)
        found[listing_id] = (listing, dump_listing(listing)) if listing else None
    return found


def _handout(code: str, page: bool, note: str | None = None):
    svc = services()
    referral = _referral_or_404(code, page=page)
    return build_handout(referral, _current(referral), svc.clock(), public_base(),
                         dead_links_of(referral.listing_ids), note=note,
                         stale_after_days=svc.settings.stale_after_days)


def _kept_rendering(format_name: str, handout) -> Response:
    """A handout without a note in one format, rendered once per server and then served from
    the render cache; a render (not a repeat) draws on the client's render allowance (429
    beyond it)."""
    svc = services()
    renderer = render.FORMATS[format_name]

    def allow() -> None:
        cost = PDF_RENDER_COST if format_name == "handout.pdf" else 1
        used_up = svc.allowances.take(svc.settings.render_rate_limit, "renders", request.remote_addr or "", cost)
        if used_up:
            raise _refused("render", 429, "render_limit",
                           f"this address has had {used_up} handouts rendered, the most one client may "
                           f"(LINKAGE_RENDER_RATE_LIMIT; a PDF counts as {PDF_RENDER_COST}): try again later; "
                           "handouts already rendered are still served")

    def made() -> bytes:
        body = renderer.render(handout)
        return body.encode("utf-8") if isinstance(body, str) else body

    body, rendered = svc.renders.fetch(rendering_key(handout, format_name), made, allow)
    current_app.extensions["linkage_metrics"].handouts.labels(
        format_name.removeprefix("handout."), "rendered" if rendered else "cache").inc()
    if ";" in renderer.media_type:  # already says its charset (as render.respond does)
        return Response(body, content_type=renderer.media_type)
    return Response(body, mimetype=renderer.media_type)


def _note_form() -> tuple[str | None, bool]:
    """The note and print choice of a handout form; 422 naming the field, never echoing the note."""
    try:
        form = NoteForm().load(request.form.to_dict())
    except ValidationError as exc:
        field_name, problems = next(iter(exc.messages.items()))
        problem = problems[0] if isinstance(problems, list) else problems
        if field_name not in NoteForm().fields:
            problem = "unknown field: the form takes only note and print"
        raise ApiError(422, "invalid_body", f"{field_name}: {problem}", field_name) from None
    return (form["note"].strip() or None), form["print"] == "1"


def _not_kept(response: Response) -> Response:
    """A handout in any form: no cache, proxy or browser history keeps it. It says which services
    one person was referred to (and a copy may carry the clinician's note), and a shared
    computer in a waiting room must not show it to the next person."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@blueprint.get("/v1/referrals/<code>")
@document(blueprint, ReferralSchema, errors=(404, 503))
def get_referral(code: str):
    """The referral as JSON: each option's snapshot, whether it changed since, and next sessions."""
    handout = _handout(code, page=False)
    referral = _referral_or_404(code)
    items = []
    for item in handout.items:
        hit = RankedHit(listing=None, distance_km=None, next_sessions=item.next_sessions,
                                open_now=False, why=item.why, document=item.listing)
        document = render.item_document(hit, None)
        document["dead_links"] = list(item.dead_links)  # already matched to the snapshot's links
        document["change"] = item.status  # beside the listing's own status (active, closed...)
        items.append(document)
    return _not_kept(render.to_json({
        "code": handout.display_code, "url": handout.url, "expires_at": handout.expires_at.isoformat(),
        "goal": handout.goal, "language": handout.language, "seven_day_goal": referral.seven_day_goal,
        "timezone": referral.timezone, "items": items, **_sms(handout),
    }))


def _record_outcome(code_text: str, listing_id: str, outcome: str, page: bool) -> Referral:
    svc = services()
    referral = _referral_or_404(code_text, page=page)
    if listing_id not in referral.listing_ids:
        raise ApiError(422, "invalid_body", "listing_id: that listing is not on this referral", "listing_id")
    svc.referrals.add_outcome(referral, listing_id, outcome, svc.clock())
    return referral


@blueprint.post("/v1/referrals/<code>/feedback")
@document(blueprint, RecordedSchema, body=FeedbackRequest, errors=(400, 404, 413, 422, 429, 503), status=201)
def feedback(code: str):
    """Count an anonymous outcome for one option (rate-limited per address)."""
    body = _json_body(FeedbackRequest())
    _record_outcome(code, body["listing_id"], body["outcome"], page=False)
    return render.to_json({"recorded": True}, status=201)


@blueprint.post("/r/<code>/feedback")
@document(blueprint, None, status=303, description="Recorded; on to the handout's thank-you",
          errors=(413, 422, 429, 503))
@blueprint.alt_response(404, schema={"type": "string"}, content_type="text/html",
                        description="No handout with that code (a page for people)")
@blueprint.doc(requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {
    "schema": {"type": "object", "required": ["listing_id", "outcome"], "properties": {
        "listing_id": {"type": "string"}, "outcome": {"type": "string", "enum": list(OUTCOMES)}}}}}})
def feedback_form(code: str):
    """The handout's buttons (a plain HTML form): count the outcome, then thank the person."""
    outcome = request.form.get("outcome", "")
    listing_id = request.form.get("listing_id", "")
    if outcome not in OUTCOMES:
        raise ApiError(422, "invalid_body", "outcome must be one of: " + ", ".join(OUTCOMES), "outcome")
    referral = _record_outcome(code, listing_id, outcome, page=True)
    return redirect(f"/r/{display_code(referral.code)}?thanks=1#feedback", code=303)


@blueprint.get("/r/<code>")
@document(blueprint, {"type": "string"}, content_type="text/html", description="The printable handout",
          errors=(429, 503))
@blueprint.alt_response(404, schema={"type": "string"}, content_type="text/html",
                        description="No handout with that code (a page for people)")
def handout_page(code: str):
    """The printable handout."""
    return _not_kept(_kept_rendering("handout.html", _handout(code, page=True)))


@blueprint.post("/r/<code>")
@document(blueprint, {"type": "string"}, content_type="text/html", errors=(413, 422, 429, 503),
          description="The handout with the clinician's note printed on it (opens the print dialog with print=1); "
                      "the note is used for this answer only, never stored or logged")
@blueprint.alt_response(404, schema={"type": "string"}, content_type="text/html",
                        description="No handout with that code (a page for people)")
@blueprint.doc(requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {
    "schema": {"type": "object", "properties": {
        "note": {"type": "string", "maxLength": MAX_NOTE}, "print": {"type": "string", "enum": ["", "0", "1"]}}}}}})
def handout_page_with_note(code: str):
    """The client's copy with a note, made in the clinician's browser: nothing of it is kept."""
    note, print_now = _note_form()
    return _not_kept(render.respond("handout.html", _handout(code, page=True, note=note), print_on_load=print_now))


@blueprint.post("/r/<code>.pdf")
@blueprint.alt_response(200, schema={"type": "string", "format": "binary"}, content_type="application/pdf",
                        description="The handout as PDF with the clinician's note, for this one download "
                                    "(never stored or logged)", success=True)
@blueprint.alt_response(404, schema={"type": "string"}, content_type="text/html",
                        description="No handout with that code (a page for people)")
@blueprint.alt_response(413, schema=ErrorSchema, description=ERROR_MEANINGS[413])
@blueprint.alt_response(422, schema=ErrorSchema, description=ERROR_MEANINGS[422])
@blueprint.alt_response(429, schema=ErrorSchema, description=ERROR_MEANINGS[429])
@blueprint.alt_response(500, schema=ErrorSchema, description=ERROR_MEANINGS[500])
@blueprint.alt_response(503, schema=ErrorSchema, description=PDF_UNAVAILABLE_MEANING)
@blueprint.doc(requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {
    "schema": {"type": "object", "properties": {"note": {"type": "string", "maxLength": MAX_NOTE}}}}}})
def handout_pdf_with_note(code: str):
    """The handout as a PDF with the clinician's note, rendered for this download only."""
    note, _print = _note_form()
    handout = _handout(code, page=True, note=note)
    response = render.respond("handout.pdf", handout)
    # The stored code as shown, never the code as typed (which may carry any character).
    response.headers["Content-Disposition"] = f'attachment; filename="linkage-{handout.display_code}.pdf"'
    return _not_kept(response)


@blueprint.get("/r/<code>.<fmt>")
@blueprint.alt_response(200, schema={"type": "string", "format": "binary"}, content_type="application/pdf",
                        description="fmt=pdf: the handout as PDF", success=True)
@blueprint.alt_response(200, schema={"type": "string"}, content_type="text/plain",
                        description="fmt=txt: the handout as a text message")
@blueprint.alt_response(200, schema={"type": "string"}, content_type="text/calendar",
                        description="fmt=ics: the sessions as calendar events")
@blueprint.alt_response(404, schema={"type": "string"}, content_type="text/html",
                        description="No handout with that code, or a format other than pdf, txt, ics")
@blueprint.alt_response(429, schema=ErrorSchema, description="This address has had its share of handouts rendered "
                        "(LINKAGE_RENDER_RATE_LIMIT); handouts already rendered are still served.")
@blueprint.alt_response(500, schema=ErrorSchema, description=ERROR_MEANINGS[500])
@blueprint.alt_response(503, schema=ErrorSchema, description=PDF_UNAVAILABLE_MEANING)
def handout_file(code: str, fmt: str):
    """The handout as PDF, SMS text or calendar."""
    if fmt not in HANDOUT_FILES:
        raise _MissingPage()
    handout = _handout(code, page=True)
    response = _kept_rendering(f"handout.{fmt}", handout)
    if fmt != "txt":
        # The stored code as shown, never the code as typed (which may carry any character).
        response.headers["Content-Disposition"] = f'inline; filename="linkage-{handout.display_code}.{fmt}"'
    return _not_kept(response)


def _require_admin() -> None:
    token = services().settings.admin_token
    if not token:
        raise ApiError(403, "admin_disabled", "admin endpoints are off: set LINKAGE_ADMIN_TOKEN")
    given = request.headers.get("X-Admin-Token") or ""
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        given = given or bearer[len("Bearer "):]
    # Constant-time comparison: the answer's timing says nothing about the token.
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError(401, "unauthorised", "a valid admin token is required (Authorization: Bearer …)")


@blueprint.get("/v1/stats/referrals")
@document(blueprint, ReferralStatsSchema, errors=(401, 403, 503))
@blueprint.doc(security=[{"adminToken": []}])
def referral_stats():
    """Outcome totals by program, format and outcome (admin token required)."""
    from service.referrals.store import totals

    _require_admin()
    store = services().referrals
    return render.to_json({"referrals": store.referral_count(), **totals(store.outcome_rows())})

