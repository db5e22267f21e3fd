"""Renderers: views hand over data, these return text or bytes. One registry, chosen by format.

`FORMATS` names every format Linkage answers in, with the function that renders it and the
media type it is served as; a view picks one by name (`respond("handout.pdf", handout)`).
One module per format family:

- `json_api`: the JSON API's documents (a search answer, one listing) and deterministic JSON.
- `html_pages`: the server-rendered pages for people (the search page, the embed guide).
- `handout`: a referral's handout as an HTML page, an A4 PDF, an SMS text and iCalendar.
- `meeting_guide`: every group as a Meeting Guide feed.
- `reasons`: "why it fits" in words, in the reader's language (used by the others).

A new format (HSDS, FHIR) is one module here and one line in `FORMATS`.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from flask import Response

from service.render import handout, html_pages, json_api
from service.render.json_api import item_document, listing_ids, search_document
from service.render.meeting_guide import meeting_guide_text


class Renderer(NamedTuple):
    """A format's renderer (data in, text or bytes out) and the media type it is served as."""

    render: Callable[..., str | bytes]
    media_type: str


FORMATS: dict[str, Renderer] = {
    # data -> JSON text (every /v1 answer; `json_api` builds the documents)
    "json": Renderer(json_api.json_text, "application/json"),
    # template name, values -> a page
    "html": Renderer(html_pages.page_html, "text/html"),
    # Handout -> the printable page (print_on_load=True opens the print dialog)
    "handout.html": Renderer(handout.handout_html, "text/html"),
    # title, message -> a page saying what went wrong (errors on page routes)
    "error.html": Renderer(html_pages.error_page_html, "text/html"),
    # () -> the page for an unknown or expired handout code
    "handout-missing.html": Renderer(handout.missing_html, "text/html"),
    # Handout -> the same page as an A4 PDF
    "handout.pdf": Renderer(handout.handout_pdf, "application/pdf"),
    # Handout -> one SMS of at most 480 characters
    "handout.txt": Renderer(handout.handout_text, "text/plain; charset=utf-8"),
    # Handout -> the sessions and services to contact as calendar events
    "handout.ics": Renderer(handout.handout_ics, "text/calendar; charset=utf-8"),
    # backend, now -> every active group in Meeting Guide JSON
    "meeting-guide.json": Renderer(meeting_guide_text, "application/json"),
}

__all__ = ["FORMATS", "Renderer", "item_document", "listing_ids", "respond", "search_document", "to_html",
           "to_json"]


def respond(format_name: str, *args, status: int = 200, **kwargs) -> Response:
    """An HTTP response: the named format's rendering of `args`, served as its media type."""
    renderer = FORMATS[format_name]
    body = renderer.render(*args, **kwargs)
    if ";" in renderer.media_type:
        # Already says its charset: as `mimetype`, Werkzeug would add a second one.
        return Response(body, status=status, content_type=renderer.media_type)
    return Response(body, status=status, mimetype=renderer.media_type)


def to_json(data, status: int = 200) -> Response:
    """Deterministic JSON: the same data always gives the same body."""
    return respond("json", data, status=status)


def to_html(template: str, status: int = 200, **context) -> Response:
    """A server-rendered page."""
    return respond("html", template, status=status, **context)
