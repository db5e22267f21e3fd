"""The server-rendered search page: a form and results, usable without JavaScript, in the
language its `?lang=` asks for; and the widget's catalogues, as JSON, for `<linkage-search>`."""

from __future__ import annotations

import gettext as gettext_module
import hashlib
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import force_locale, get_babel, get_locale, gettext
from flask_smorest import Blueprint

from service import i18n, render

from service.domain import vocab
from service.backends.contract import BackendUnavailable
from service.errors import ApiError
from service.search.params import SearchArgs
from service.views import dead_links_of, document, public_base, services, stale_before
from service.views.api import run_search

blueprint = Blueprint("pages", __name__, static_folder="../static", static_url_path="/static",
                      description="Pages for people: the search page, the embed guide, the widget.")
_HTML = {"type": "string"}


def N_(text: str) -> str:
    """Marks a message for `pybabel extract` where it is written; `gettext` translates it where
    it is shown (module constants are read before any request has a language)."""
    return text


# The interface languages, English first: the page's chooser and the widget's catalogues.
INTERFACE_LANGUAGES = (i18n.DEFAULT_LANGUAGE, *i18n.CLIENT_LANGUAGES)
# The rule of a catalogue's Plural-Forms as a table for 0..199: gettext rules look at n, n % 10
# and n % 100 only, so the widget reads 100 + n % 100 beyond it (no expression evaluated there).
PLURAL_TABLE_SIZE = 200
# The search page's choices beyond the stored vocabularies (the widget offers the same).
SUBSTANCE_CHOICES = ("alcohol", "methamphetamine", "cannabis", "opioids", "any")
AUDIENCE_CHOICES = ("women", "young_people", "lgbtiq", "aboriginal_torres_strait_islander")
TIMES = ("morning", "afternoon", "evening")
# The language filter's choices (services that speak it, as listings code it): apart from the
# page's own language. The same list as widget.js SPOKEN.
SPOKEN = ("ar", "zh", "vi", "pa", "el", "it", "fil", "hi", "es")
CHOICE_LABELS = {"methamphetamine": N_("Methamphetamine / ice"), "any": N_("Other drugs"),
                 "morning": N_("Morning (5 am to noon)"), "afternoon": N_("Afternoon (noon to 5 pm)"),
                 "evening": N_("Evening (5 pm to midnight)"), "lgbtiq": N_("LGBTIQ+ people")}
# How each accessibility value reads in a list on a result (as the widget writes it).
ACCESS_WORDS = {"wheelchair_access": N_("wheelchair access"), "accessible_toilet": N_("accessible toilet"),
                "hearing_loop": N_("hearing loop"), "auslan_interpreter": N_("Auslan interpreter"),
                "parking": N_("parking"), "public_transport": N_("near public transport")}
MULTI = ("format", "goal", "kind", "substance", "audience", "day", "time")
# What a handout keeps, word for word as the widget's handout panel says it (widget.js KEPT).
KEPT = N_("The handout link keeps only the options you chose, the goal, the 7-day goal, the language and the "
          "client's time zone. Your note is sent only to print this one copy or make its PDF; Linkage does not "
          "store or log it.")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def zone_city(zone: str | None) -> str:
    """`Australia/Lord_Howe` -> `Lord Howe`: how a zone is named beside a time."""
    return (zone or "").rsplit("/", 1)[-1].replace("_", " ")


def _english() -> bool:
    """Whether the page is being rendered in English (outside a request: yes)."""
    try:
        return str(get_locale() or i18n.DEFAULT_LANGUAGE).split("_")[0] == "en"
    except RuntimeError:
        return True


def day_text(iso: str | None) -> str:
    """`2026-01-13` -> `13 Jan 2026`, as the widget writes a day (other text as it is); in another
    language, that locale's medium date (Babel)."""
    text = str(iso or "")
    try:
        day = datetime.strptime(text[:10], "%Y-%m-%d")
    except ValueError:
        return text
    if not _english():
        from babel.dates import format_date

        return format_date(day.date(), "medium", locale=get_locale())
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def clock(moment: datetime) -> str:
    """`7:30 pm`, as the widget writes times; the locale's short time in another language."""
    if not _english():
        from babel.dates import format_time

        return format_time(moment, "short", locale=get_locale())
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def _day_and_time(moment: datetime) -> str:
    """`Thu 3 Dec, 7:00 pm` in English; the locale's own weekday-day-month and time otherwise."""
    if not _english():
        from babel.dates import format_skeleton

        return gettext("%(day)s, %(time)s", day=format_skeleton("MMMEd", moment, locale=get_locale()),
                       time=clock(moment))
    return f"{moment:%a} {moment.day} {moment:%b}, {clock(moment)}"


def session_text(session: dict, zone: str | None) -> str:
    """One session for the page, in ZONE when given: `Thu 3 Dec, 7:00 pm Perth time` or
    `On now, ends 8:30 pm Sydney time` (in the page's language, the zone still named)."""
    start = datetime.fromisoformat(session["start"])
    end = datetime.fromisoformat(session["end"]) if session.get("end") else None
    where = ZoneInfo(zone) if zone else start.tzinfo
    name = zone_city(zone) if zone else ""

    def labelled(text: str) -> str:
        return gettext("%(time)s %(city)s time", time=text, city=name) if name else text

    if session.get("in_progress"):
        return (labelled(gettext("On now, ends %(time)s", time=clock(end.astimezone(where)))) if end
                else labelled(gettext("On now")))
    return labelled(_day_and_time(start.astimezone(where)))


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
    # Bytes every embedding page pays for and no client reads: Cache-Control's max-age
    # overrides Expires (RFC 9111 5.3), and a script is never saved as a file, so it needs no
    # file name. Caching rests on Cache-Control and the ETag.
    response.headers.pop("Expires", None)
    response.headers.pop("Content-Disposition", None)
    return response


@lru_cache(maxsize=64)
def _catalogue_body(path: str, modified: float) -> tuple[str, str]:
    """A compiled widget catalogue as the widget reads it (JSON text) and its ETag; cached by
    file and modification time, so a deploy's new catalogue is read again."""
    from babel.messages.mofile import read_mo

    code = Path(path).parent.parent.name
    with open(path, "rb") as handle:
        catalogue = read_mo(handle)
    messages: dict[str, object] = {}
    for message in catalogue:
        if not message.id:
            continue  # the header
        if isinstance(message.id, (tuple, list)):
            forms = list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]
            # An untranslated plural compiles to its English forms: leave it out, like other untranslated ones.
            if any(forms) and forms != list(message.id):
                messages[message.id[0]] = forms
        elif message.string:
            messages[message.id] = message.string
    rule = gettext_module.c2py(catalogue.plural_expr or "(n != 1)")
    body = json.dumps({"language": code, "dir": i18n.direction(code),
                       "plural": [rule(n) for n in range(PLURAL_TABLE_SIZE)],
                       "messages": messages}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return body, hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


def widget_catalogue_path(code: str) -> Path | None:
    """The compiled widget catalogue (`<code>/LC_MESSAGES/widget.mo`) of one of the interface
    languages, in the app's translation directories; None when there is none."""
    if code not in INTERFACE_LANGUAGES:  # also keeps any other text out of the path
        return None
    for directory in get_babel().translation_directories:
        path = Path(directory) / code / "LC_MESSAGES" / "widget.mo"
        if path.is_file():
            return path
    return None


@blueprint.get("/i18n/widget/<code>.json")
@document(blueprint, {"type": "object"}, content_type="application/json", errors=(404, 429),
          description="The widget's messages in one language: {language, dir, plural, messages}")
def widget_catalogue(code: str):
    """The `<linkage-search>` widget's catalogue for one language (`vi`, `zh_Hant`, `ar`...), from
    its compiled `widget.mo`: `messages` maps each English message to its translation (a list of
    plural forms for counted ones), `plural` gives the plural form for n = 0..199, `dir` the
    text direction. English, the source language, has no translations to send."""
    from flask import Response

    path = widget_catalogue_path(code)
    if path is None and code == i18n.DEFAULT_LANGUAGE:
        body = json.dumps({"language": "en", "dir": "ltr", "plural": [int(n != 1) for n in range(PLURAL_TABLE_SIZE)],
                           "messages": {}}, sort_keys=True, separators=(",", ":"))
        etag = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
    elif path is None:
        raise ApiError(404, "not_found", f"No widget catalogue for the language {code[:20]!r}; "
                       f"languages: {', '.join(INTERFACE_LANGUAGES)}", "code")
    else:
        body, etag = _catalogue_body(str(path), path.stat().st_mtime)
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    # Host pages load it cross-origin, like widget.js; it changes only with a deploy (the ETag says when).
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response.make_conditional(request)


def language_choices() -> list[dict]:
    """The page's language chooser: each interface language by its code, BCP 47 tag and its
    own name for itself (Babel's CLDR names: "Tiếng Việt", "中文 (简体)", "العربية")."""
    from babel import Locale

    choices = []
    for code in INTERFACE_LANGUAGES:
        name = Locale.parse(code).get_display_name(code) or code
        choices.append({"code": code, "tag": code.replace("_", "-"), "name": name[:1].upper() + name[1:],
                        "dir": i18n.direction(code)})
    return choices


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
    """Search form; with a place or text, the results below it; in the language `?lang=` names
    (one of the interface languages with a catalogue, else English)."""
    language = i18n.negotiate(request.args.get("lang")) if request.args.get("lang") else i18n.DEFAULT_LANGUAGE
    with force_locale(language):
        return _index(language)


def _index(language: str):
    args = {k: v for k, v in request.args.items() if v != "" and k != "lang"}
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
            # "Why it fits" in the page's language too.
            query, matches, items = run_search(dict(args, lang=language) if language != "en" else args)
            result = render.search_document(query, matches, items, stale_before(query.at),
                                            dead_links_of(render.listing_ids(items)))
        except ApiError as exc:
            error = exc.message
        except BackendUnavailable:
            error = gettext("The search index is not available right now.")
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
        label=lambda value: gettext(CHOICE_LABELS[value]) if value in CHOICE_LABELS else i18n.label(value),
        whom=whom,
        chosen=lambda name: (args.get(name) or "").split(","),
        choices={"substance": SUBSTANCE_CHOICES, "audience": AUDIENCE_CHOICES, "time": TIMES},
        session_text=session_text,
        zone_city=zone_city,
        day_text=day_text,
        kept=gettext(KEPT),
        access_words={value: gettext(words) for value, words in ACCESS_WORDS.items()},
        language_names=_language_names,
        language=language,
        language_tag=language.replace("_", "-"),
        direction=i18n.direction(language),
        languages=language_choices(),
        spoken=SPOKEN,
        kept_args=[(k, v) for k, v in request.args.items(multi=True) if k != "lang" and v != ""],
    )


def _language_names(codes) -> str:
    """`["en", "vi"]` -> `English, Vietnamese`, named in the page's language (codes without a
    name stay as they are)."""
    from babel import Locale, UnknownLocaleError

    names = []
    for code in codes or ():
        try:
            names.append(Locale.parse(code.replace("-", "_")).get_display_name(get_locale() or "en") or code)
        except (ValueError, UnknownLocaleError):
            names.append(code)
    return ", ".join(names)
