"""The reference app: the limit of this stack for the same responses.

A tiny Flask app that answers each URL of the query mix with the exact bytes (status and
content type too) the real app returned for it, looked up in a dict. Served by the same
gunicorn with the same options, it costs what Flask, gunicorn, the socket and the client
cost, and nothing of what a search costs; the real app's rate over this one's is the
share of the stack's limit the search work leaves.

Run by `bench.search` as `gunicorn ... 'bench.bare:create_bare_app()'` with
BENCH_BARE_RESPONSES naming the JSON file the real app's answers were saved to.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, request

RESPONSES_ENV = "BENCH_BARE_RESPONSES"


def load_responses(path: str) -> dict[str, tuple[int, str, bytes]]:
    """URL -> (status, content type, body bytes) from a file written by `bench.search`."""
    with open(path, encoding="utf-8") as fh:
        saved = json.load(fh)
    return {
        url: (item["status"], item["content_type"], item["body"].encode("utf-8"))
        for url, item in saved["responses"].items()
    }


def create_bare_app(path: str | None = None) -> Flask:
    """The bare app over saved responses (from `path`, else $BENCH_BARE_RESPONSES)."""
    return bare_app(load_responses(path or os.environ[RESPONSES_ENV]))


def bare_app(responses: dict[str, tuple[int, str, bytes]]) -> Flask:
    """The bare app answering each URL (path and raw query string) with its saved
    (status, content type, body bytes)."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        """Liveness, for the benchmark's start-up wait."""
        return Response(b'{"status":"ok"}', mimetype="application/json")

    @app.get("/v1/search")
    def search():
        """The saved answer for this exact URL (404 if it is not in the mix)."""
        # Keyed by the raw query string, as the mix file spells it, so no parsing is done.
        key = request.path + "?" + request.query_string.decode("latin-1")
        found = responses.get(key)
        if found is None:
            return Response(b'{"error":"not in mix"}', status=404, mimetype="application/json")
        status, content_type, body = found
        return Response(body, status=status, content_type=content_type)

    return app
