"""CORS for embedding: a site's browser may read the API's answers when it presents a key
that names the site's origin (`service.embed.keys`); refusals are readable too, so a widget
can say why it shows nothing.
"""

from __future__ import annotations

import re

from flask import Flask, g, request

from service.embed.keys import KeyCache, presented_key
from service.errors import ApiError

CORS_HEADERS = "Content-Type, X-Linkage-Key"
# The handout's SMS text, which a widget on a key's site fetches to show and copy.
HANDOUT_TEXT = re.compile(r"/r/[^/]+\.txt")


def keyed_path(path: str) -> bool:
    """Paths a widget calls with its key: the API and the handout's SMS text."""
    return path.startswith("/v1/") or HANDOUT_TEXT.fullmatch(path) is not None


def install_cors(app: Flask, keys: KeyCache) -> None:
    """Answer CORS for the origins of the key presented (the public feed stays open to all).

    A refused key's 403 carries CORS for the asking origin, and so does the preflight of a request
    that will present a key, so the widget can read the refusal and say so: the answer grants
    nothing, since the request itself is refused before it reaches a view.
    """

    def own_origin(origin: str) -> bool:
        return origin == request.host_url.rstrip("/")

    @app.before_request
    def check_key():
        if not keyed_path(request.path):
            return None
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS":
            wants_key = "x-linkage-key" in request.headers.get("Access-Control-Request-Headers", "").lower()
            if origin and (wants_key or keys.any_allows(origin) or own_origin(origin)):
                response = app.make_default_options_response()
                response.status_code = 204
                _allow(response, origin)
                return response
            return None
        key = presented_key()
        if key is None:
            if "X-Linkage-Key" in request.headers and origin and not own_origin(origin):
                # Sent empty: its preflight was answered on the promise of a key.
                g.linkage_key_refused = True
                raise ApiError(403, "bad_key", "the embed key is empty", "key")
            return None
        found = keys.get(key)
        if found is None:
            g.linkage_key_refused = True
            raise ApiError(403, "bad_key", "unknown embed key: the site's web team needs a key from the directory's operators", "key")
        if not origin and not same_origin_browser():
            # A key copied out of a site's HTML must not be usable from anywhere else: a
            # browser on the key's site always sends its Origin with these requests.
            raise ApiError(403, "origin_required",
                           "an embed key is accepted only with an Origin header naming one of its sites: "
                           "call without the key from a server, or from a page on the key's site", "key")
        if origin and not own_origin(origin) and origin not in found.origins:
            g.linkage_key_refused = True
            raise ApiError(403, "origin_not_allowed",
                           f"this embed key is not valid for {origin}", "key")
        return None

    @app.after_request
    def add_cors(response):
        origin = request.headers.get("Origin")
        if not origin or not keyed_path(request.path) or "Access-Control-Allow-Origin" in response.headers:
            return response
        if g.get("linkage_key_refused"):
            _allow(response, origin)  # the refusal only, so the page can show why
            return response
        key = presented_key()
        if key:
            found = keys.get(key)
            if found and origin in found.origins:
                _allow(response, origin)
        return response


def same_origin_browser() -> bool:
    """True for a browser's request from our own pages: browsers send no Origin on a
    same-origin GET, and say so with Sec-Fetch-Site instead (our pages need no key anyway)."""
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def _allow(response, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
