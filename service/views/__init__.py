"""HTTP views: each wires params -> backend -> ranking -> render in a few lines."""

from flask import current_app


def services():
    """The app's injected services."""
    return current_app.extensions["linkage"]


def public_base() -> str:
    """The address links in answers point at (see Settings.public_base)."""
    from flask import request

    return services().settings.public_base(request.host_url)


def stale_before(at) -> str:
    """The date before which a listing's last check counts as stale at the moment `at`
    (the search's `at`, so an answer depends only on its request)."""
    from datetime import timedelta

    return (at - timedelta(days=services().settings.stale_after_days)).date().isoformat()


def dead_links_of(listing_ids) -> dict[str, tuple[dict, ...]]:
    """The links `linkage check-links` last found dead, per listing id, as the API shows them."""
    from service.link_checks import dead_links

    found = dead_links(services().settings.link_checks_path, listing_ids)
    return {listing_id: tuple({"url": check.url, "reason": check.reason, "http_status": check.http_status,
                               "failing_since": check.first_failed_at[:10] if check.first_failed_at else None,
                               "checked_at": check.last_checked_at[:10]} for check in checks)
            for listing_id, checks in found.items()}


# What each documented error status means, for the OpenAPI document.
ERROR_MEANINGS = {
    400: "A parameter is malformed or unknown (the error names it).",
    401: "The admin token is missing or wrong.",
    403: "Admin endpoints are switched off (no LINKAGE_ADMIN_TOKEN).",
    404: "Nothing has that id or code (a referral may have expired).",
    413: "The request body is too large.",
    422: "The body is well-formed JSON but a field is invalid (the error names it).",
    429: "Too many requests from this key or address; retry later.",
    500: "An unexpected error (logged with the request id).",
    503: "The search backend is unavailable.",
}


def document(blueprint, schema, *, query=None, body=None, errors=(), status=200, content_type=None,
             description=None):
    """Describe a view in the OpenAPI document without changing what it does.

    The view still parses its own input; `query` and `body` are the marshmallow schemas it
    parses with, so the document cannot drift from the validation.
    """
    from service.openapi import ErrorSchema

    decorators = [blueprint.alt_response(status, schema=schema, content_type=content_type,
                                         description=description or "Success", success=True)]
    # Any operation can fail unexpectedly; that answer has the same envelope, or is a page
    # on a page route (service.errors.PAGE_ENDPOINTS).
    page = content_type == "text/html"
    decorators += [blueprint.alt_response(500, schema={"type": "string"}, content_type="text/html",
                                          description="An unexpected error, as a page (logged with the request id)")
                   if page and code == 500 else
                   blueprint.alt_response(code, schema=ErrorSchema, description=ERROR_MEANINGS[code])
                   for code in sorted(set(errors) | {500})]
    manual = {}
    if query is not None:
        manual["parameters"] = [{"in": "query", "schema": query}]
    if body is not None:
        manual["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if manual:
        decorators.append(blueprint.doc(**manual))

    def decorate(view):
        for decorator in decorators:
            view = decorator(view)
        return view

    return decorate
