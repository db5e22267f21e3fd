"""The server-rendered search page: a form and results, usable without JavaScript."""

from __future__ import annotations

from flask import Blueprint, request

from .. import render, vocab
from ..backends.base import BackendUnavailable
from ..errors import ApiError
from . import services, stale_before
from .api import run_search

blueprint = Blueprint("pages", __name__, static_folder="../static", static_url_path="/static")


@blueprint.get("/widget.js")
def widget():
    """The embeddable <linkage-search> element (one file, no build step)."""
    from flask import send_from_directory

    response = send_from_directory(blueprint.static_folder, "widget.js", mimetype="text/javascript",
                                   max_age=300)
    # Other sites load it with <script src>; it must be readable from any origin.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/embed")
def embed():
    """How to put the finder on another site: the snippet and a live preview."""
    return render.to_html("embed.html", public_url=services().settings.public_url.rstrip("/"))


@blueprint.get("/")
def index():
    """Search form; with a place or text, the results below it."""
    args = {k: v for k, v in request.args.items() if v != ""}
    # Checkbox groups arrive as repeated parameters; the API takes comma lists.
    for name in ("format", "goal", "kind"):
        values = request.args.getlist(name)
        if values:
            args[name] = ",".join(v for v in values if v)
    error = None
    result = None
    try:
        info = services().backend.info()
    except BackendUnavailable:
        info = {"demo_count": 0, "listing_count": 0}
    if args.get("near") or args.get("q"):
        try:
            query, matches, items = run_search(args)
            result = render.search_document(query, matches, items, stale_before(query.at))
        except ApiError as exc:
            error = exc.message
        except BackendUnavailable:
            error = "The search index is not available right now."
    return render.to_html(
        "index.html",
        status=400 if error and "near" in args else 200,
        args=args,
        result=result,
        error=error,
        info=info,
        vocab=vocab,
        label=vocab.label,
    )
