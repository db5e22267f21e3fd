"""The server-rendered search page: a form and results, usable without JavaScript."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import request
from flask_smorest import Blueprint

from service import render

from service.domain import vocab
from service.backends.contract import BackendUnavailable
from service.errors import ApiError
from service.search.params import SearchArgs
from service.views import dead_links_of, document, public_base, services, stale_before
from service.views.api import run_search

blueprint = Blueprint("pages", __name__, static_folder="../static", static_url_path="/static",
                      description="Pages for people: the search page, the embed guide, the widget.")
_HTML = {"type": "string"}
# The search page's choices beyond the stored vocabularies (the widget offers the same).
SUBSTANCE_CHOICES = ("alcohol", "methamphetamine", "cannabis", "opioids", "any")
AUDIENCE_CHOICES = ("women", "young_people", "lgbtiq", "aboriginal_torres_strait_islander")
TIMES = ("morning", "afternoon", "evening")
CHOICE_LABELS = {"methamphetamine": "Methamphetamine / ice", "any": "Other drugs",
                 "morning": "Morning (5 am to noon)", "afternoon": "Afternoon (noon to 5 pm)",
                 "evening": "Evening (5 pm to midnight)", "lgbtiq": "LGBTIQ+ people"}
# How each accessibility value reads in a list on a result (as the widget writes it).
ACCESS_WORDS = {"wheelchair_access": "wheelchair access", "accessible_toilet": "accessible toilet",
                "hearing_loop": "hearing loop", "auslan_interpreter": "Auslan interpreter",
                "parking": "parking", "public_transport": "near public transport"}
MULTI = ("format", "goal", "kind", "substance", "audience", "day", "time")
# What a handout keeps, word for word as the widget's handout panel says it (widget.js KEPT).
KEPT = ("The handout link keeps only the options you chose, the goal, the 7-day goal, the language and the "
        "client's time zone. Your note is sent only to print this one copy or make its PDF; Linkage does not "
        "store or log it.")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def zone_city(zone: str | None) -> str:
    """`Australia/Lord_Howe` -> `Lord Howe`: how a zone is named beside a time."""
    return (zone or "").rsplit("/", 1)[-1].replace("_", " ")


def day_text(iso: str | None) -> str:
    """`2026-01-13` -> `13 Jan 2026`, as the widget writes a day (other text as it is)."""
    text = str(iso or "")
    try:
        day = datetime.strptime(text[:10], "%Y-%m-%d")
    except ValueError:
        return text
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def clock(moment: datetime) -> str:
    """`7:30 pm`, as the widget writes times."""
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def session_text(session: dict, zone: str | None) -> str:
    """One session for the page, in ZONE when given: `Thu 3 Dec, 7:00 pm Perth time` or
    `On now, ends 8:30 pm Sydney time`."""
    start = datetime.fromisoformat(session["start"])
    end = datetime.fromisoformat(session["end"]) if session.get("end") else None
    where = ZoneInfo(zone) if zone else start.tzinfo
    name = zone_city(zone) if zone else ""
    label = f" {name} time" if name else ""
    if session.get("in_progress"):
        return f"On now, ends {clock(end.astimezone(where))}{label}" if end else f"On now{label}"
    local = start.astimezone(where)
    return f"{local:%a} {local.day} {local:%b}, {clock(local)}{label}"


def for_everyone(item: dict) -> bool:
    """Whether a result is open to everyone (the API's flag, else its audiences)."""
    if isinstance(item.get("for_everyone"), bool):
        return item["for_everyone"]
    return "everyone" in (item.get("audiences") or ["everyone"])


@blueprint.app_template_test("for_everyone")
def _for_everyone_test(item: dict) -> bool:
    """Jinja test: `items|select("for_everyone")`."""
    return for_everyone(item)


def _demo_info() -> dict:
    try:
        return services().backend.info()
    except BackendUnavailable:
        return {"demo_count": 0, "listing_count": 0}


@blueprint.get("/widget.js")
@document(blueprint, {"type": "string"}, content_type="text/javascript",
          description="The <linkage-search> custom element")
def widget():
    """The embeddable <linkage-search> element (one file, no build step)."""
    from flask import send_from_directory

    response = send_from_directory(blueprint.static_folder, "widget.js", mimetype="text/javascript",
                                   max_age=300)
    # Other sites load it with <script src>; it must be readable from any origin.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/embed")
@document(blueprint, _HTML, content_type="text/html", description="The embed snippet and a live preview")
def embed():
    """How to put the finder on another site: the snippet and a live preview."""
    return render.to_html("embed.html", public_url=public_base(), info=_demo_info(), kept=KEPT)


@blueprint.get("/")
@document(blueprint, _HTML, content_type="text/html", query=SearchArgs, description="The search page")
@blueprint.alt_response(400, schema=_HTML, content_type="text/html",
                        description="The search page, saying what was wrong with the place")
@blueprint.alt_response(503, schema=_HTML, content_type="text/html",
                        description="The search page, saying the search index is not available")
def index():
    """Search form; with a place or text, the results below it."""
    args = {k: v for k, v in request.args.items() if v != ""}
    # Checkbox groups arrive as repeated parameters; the API takes comma lists.
    for name in MULTI:
        values = [v for v in request.args.getlist(name) if v]
        if values:
            args[name] = ",".join(values)
    # "For a family member or friend" is the family_friends audience; "for me" asks for none.
    whom = args.pop("for", "me")
    if whom == "family_friends":
        args["audience"] = ",".join(["family_friends"] + [a for a in args.get("audience", "").split(",") if a])
    error = None
    unavailable = False
    result = None
    if args.get("near") or args.get("q"):
        try:
            query, matches, items = run_search(args)
            result = render.search_document(query, matches, items, stale_before(query.at),
                                            dead_links_of(render.listing_ids(items)))
        except ApiError as exc:
            error = exc.message
        except BackendUnavailable:
            error = "The search index is not available right now."
            unavailable = True
    # The index's counts only after the search: when the engine has hung, the search has
    # already waited out its timeout, and asking again would make the person wait twice.
    info = {"demo_count": 0, "listing_count": 0} if unavailable else _demo_info()
    return render.to_html(
        "index.html",
        status=503 if unavailable else 400 if error else 200,
        args=args,
        result=result,
        error=error,
        info=info,
        vocab=vocab,
        label=lambda value: CHOICE_LABELS.get(value) or vocab.label(value),
        whom=whom,
        chosen=lambda name: (args.get(name) or "").split(","),
        choices={"substance": SUBSTANCE_CHOICES, "audience": AUDIENCE_CHOICES, "time": TIMES},
        session_text=session_text,
        zone_city=zone_city,
        day_text=day_text,
        kept=KEPT,
        access_words=ACCESS_WORDS,
        language_names=_language_names,
    )


def _language_names(codes) -> str:
    """`["en", "vi"]` -> `English, Vietnamese` (codes without a name stay as they are)."""
    from babel import Locale, UnknownLocaleError

    names = []
    for code in codes or ():
        try:
            names.append(Locale.parse(code.replace("-", "_")).get_display_name("en") or code)
        except (ValueError, UnknownLocaleError):
            names.append(code)
    return ", ".join(names)
