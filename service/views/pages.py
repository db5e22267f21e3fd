"""The server-rendered search page: a form and results, usable without JavaScript."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from .. import render, vocab
from ..backends.base import BackendUnavailable
from ..errors import ApiError
from ..params import SearchArgs
from . import dead_links_of, document, services, stale_before
from .api import run_search

blueprint = Blueprint("pages", __name__, static_folder="../static", static_url_path="/static",
                      description="Pages for people: the search page, the embed guide, the widget.")
_HTML = {"type": "string"}


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
    return render.to_html("embed.html", public_url=services().settings.public_url.rstrip("/"))


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
    for name in ("format", "goal", "kind"):
        values = request.args.getlist(name)
        if values:
            args[name] = ",".join(v for v in values if v)
    error = None
    unavailable = False
    result = None
    try:
        info = services().backend.info()
    except BackendUnavailable:
        info = {"demo_count": 0, "listing_count": 0}
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
    return render.to_html(
        "index.html",
        status=503 if unavailable else 400 if error and "near" in args else 200,
        args=args,
        result=result,
        error=error,
        info=info,
        vocab=vocab,
        label=vocab.label,
    )
