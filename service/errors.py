"""One error envelope for every error path: {"error": {status, code, message, parameter}}."""

from __future__ import annotations

import logging

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from service.backends.contract import BackendUnavailable

log = logging.getLogger("linkage")


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
        415: "unsupported_media_type",
        422: "invalid_body",
        429: "rate_limited",
    }.get(status, "http_error")


def register_error_handlers(app: Flask) -> None:
    """Route every exception through the envelope."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.parameter)

    @app.errorhandler(BackendUnavailable)
    def backend_unavailable(exc: BackendUnavailable):
        log.error("backend unavailable: %s", exc)
        return error_response(503, "backend_unavailable", "The search index is not available right now.")

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
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


# Pages load only our own scripts, styles and images; nothing inline; nobody frames them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


# Answers that are data, not documents (PDF handouts are left to the browser's viewer).
DATA_TYPES = frozenset({"application/json", "application/schema+json", "text/plain", "text/calendar"})


def register_security_headers(app: Flask) -> None:
    """Standard headers on every response; a CSP on every page."""

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
        elif response.mimetype in DATA_TYPES:
            # A JSON or text answer opened in a browser runs nothing and is framed by no one.
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
