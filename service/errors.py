"""One error envelope for every error path: {"error": {status, code, message, parameter}}."""

from __future__ import annotations

import logging

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from service.backends.contract import BackendUnavailable

log = logging.getLogger("linkage")

# Routes a person reads in a browser: their unexpected errors are pages, not JSON.
PAGE_ENDPOINTS = frozenset({"pages.index", "pages.embed", "referrals.handout_page",
                            "referrals.handout_page_with_note", "referrals.feedback_form"})
# The longest request target (path and query) the app reads. gunicorn (service/gunicorn_conf.py)
# lets lines up to twice this through, so that the app, not gunicorn, refuses the longer ones,
# with the envelope and the security headers; the longest search URL is well under 2 KB.
MAX_REQUEST_TARGET = 4094


class PdfUnavailable(Exception):
    """Handout PDFs cannot be made in this process: WeasyPrint could not load its libraries
    (Pango, HarfBuzz, fontconfig). The rest of the service goes on; a PDF is answered 503."""


class ApiError(Exception):
    """An error the client should see, with the parameter it concerns when there is one."""

    def __init__(self, status: int, code: str, message: str, parameter: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter


def envelope(status: int, code: str, message: str, parameter: str | None = None) -> dict:
    """The error body shared by every endpoint."""
    body = {"status": status, "code": code, "message": message}
    if parameter is not None:
        body["parameter"] = parameter
    return {"error": body}


def error_response(status: int, code: str, message: str, parameter: str | None = None) -> Response:
    """A JSON error response; never HTML, never a stack trace."""
    return Response(
        json.dumps(envelope(status, code, message, parameter), ensure_ascii=False),
        status=status,
        mimetype="application/json",
    )


def _code_for(status: int) -> str:
    return {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        414: "uri_too_long",
        415: "unsupported_media_type",
        422: "invalid_body",
        429: "rate_limited",
    }.get(status, "http_error")


def _on_a_page() -> bool:
    """Whether the request is for a page a person reads (see PAGE_ENDPOINTS)."""
    return request.endpoint in PAGE_ENDPOINTS


def error_page(status: int, title: str, message: str) -> Response:
    """An error on a page route, as a page."""
    from service import render

    return render.respond("error.html", title, message, status=status)


def register_error_handlers(app: Flask) -> None:
    """Route every exception through the envelope (a page, on page routes, for 500 and 503)."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.parameter)

    @app.errorhandler(BackendUnavailable)
    def backend_unavailable(exc: BackendUnavailable):
        log.error("backend unavailable: %s", exc)
        if _on_a_page():
            return error_page(503, "Not available right now", "The search index is not available right now. "
                              "Please try again in a few minutes.")
        return error_response(503, "backend_unavailable", "The search index is not available right now.")

    @app.errorhandler(PdfUnavailable)
    def pdf_unavailable(exc: PdfUnavailable):
        # The libraries' own words go to the log, for whoever installs the server; the
        # client is told what still works.
        log.error("handout PDF refused: %s", exc)
        return error_response(503, "pdf_unavailable", "Handout PDFs cannot be made on this server right now; "
                              "the handout's page prints from the browser, and its text message and calendar "
                              "work as usual.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 404:
            message = f"Nothing at {request.path[:200]}"
        elif status == 405:
            message = f"{request.method} is not allowed on {request.path[:200]}"
        else:
            message = exc.description or exc.name
        response = error_response(status, _code_for(status), message)
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _on_a_page():
            return error_page(500, "Something went wrong", "Something went wrong on our side; it has been "
                              "logged. Please try again, or go back to the search.")
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


# Pages load only our own scripts, styles and images; nothing inline; nobody frames them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


# Answers that are data, not documents.
DATA_TYPES = frozenset({"application/json", "application/schema+json", "text/plain", "text/calendar"})


def register_request_limits(app: Flask) -> None:
    """Refuse an over-long request target before any view reads it: 414 in the envelope."""

    @app.before_request
    def refuse_long_targets():
        environ = request.environ
        # gunicorn passes the target as sent (RAW_URI), Werkzeug's server as REQUEST_URI.
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        length = len(target) if target else len(request.path) + 1 + len(environ.get("QUERY_STRING", ""))
        if length > MAX_REQUEST_TARGET:
            return error_response(414, _code_for(414), f"the address is longer than {MAX_REQUEST_TARGET} "
                                  "characters: shorten the query")
        return None


# A PDF opened in the browser's own viewer: nobody frames it. No fetch directives (default-src):
# Chromium's viewer builds its page with inline styles, which `default-src 'none'` would block
# (the PDF then shows in a strip at the top); our PDFs carry no scripts or links to load.
PDF_POLICY = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def register_security_headers(app: Flask) -> None:
    """Standard headers on every response; a CSP on every page."""

    @app.after_request
    def secure(response: Response) -> Response:
        headers = response.headers
        # The names already set, read once: werkzeug's `setdefault` finds a missing header
        # by raising and catching an exception, for each of these on every response.
        present = {name.lower() for name, _value in headers}

        def setdefault(name: str, value: str) -> None:
            if name.lower() not in present:
                headers[name] = value

        setdefault("X-Content-Type-Options", "nosniff")
        setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        mimetype = response.mimetype
        if mimetype == "text/html":
            setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            setdefault("X-Frame-Options", "DENY")
        elif mimetype in DATA_TYPES:
            # A JSON or text answer opened in a browser runs nothing and is framed by no one.
            setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        elif mimetype == "application/pdf":
            setdefault("Content-Security-Policy", PDF_POLICY)
            setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
