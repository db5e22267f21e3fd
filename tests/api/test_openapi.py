"""The OpenAPI document, and schemathesis fuzzing the running app against it.

The app runs on a real HTTP server on loopback (one per backend) and schemathesis sends
requests generated from /v1/openapi.json: no answer may be a 5xx, and every answer must be
a documented status with the documented content type, headers and body schema.
"""

from __future__ import annotations

import threading

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.conftest import serving

# Per backend; with two backends in `make test` the suite sends at least 2 × this many.
MIN_REQUESTS_PER_BACKEND = 300
EXAMPLES_PER_OPERATION = 40

CHECKS = (
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
)


class CountingApp:
    """WSGI middleware counting the requests that reached the app."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.count += 1
        return self.app(environ, start_response)


def test_document_is_openapi_3_and_names_every_route(client, app):
    """Every route the app serves is in the document (but static files and the docs' own files)."""
    document = client.get("/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    schemathesis.openapi.from_dict(document).validate()
    documented = set(document["paths"])
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "pages.static", "docs.docs_static", "docs.docs_page", "api-docs.openapi_json"):
            continue
        path = rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}")
        served.add(path)
    assert served - documented == set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":  # the path's own parameters, shared by its operations
                continue
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            statuses = set(operation["responses"])
            assert "default" not in statuses, f"{method.upper()} {path}: list statuses, no catch-all"
            assert "500" in statuses, f"{method.upper()} {path} does not document its error answer"


def test_search_parameters_come_from_the_validating_schema(client):
    """Query parameters are documented from params.SearchArgs itself, with the vocabularies."""
    operation = client.get("/v1/openapi.json").get_json()["paths"]["/v1/search"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    from service.search.params import SEARCH_ARGS

    assert set(parameters) == set(SEARCH_ARGS.fields)
    assert "moderation" in parameters["goal"]["description"]
    assert parameters["lat"]["schema"]["maximum"] == 90


def test_docs_page_is_served_locally_under_the_csp(client):
    """/docs loads Swagger UI from this service only, so the strict CSP holds."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "http" not in html.split("<body>")[1], "the docs page must not load anything from elsewhere"
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css", "/docs/static/start.js"):
        assert client.get(asset).status_code == 200, asset


def test_fuzzing_finds_no_server_error_and_no_undocumented_answer(app):
    """schemathesis: generated requests for every operation, against the served app."""
    counting = CountingApp(app)
    with serving(counting) as base_url:
        schema = schemathesis.openapi.from_url(f"{base_url}/v1/openapi.json")
        failures = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def exercise(case):
                case.call_and_validate(checks=CHECKS)

            try:
                exercise()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label}: {exc}")
        requests_sent = counting.count
    assert not failures, "\n\n".join(failures)
    assert requests_sent >= MIN_REQUESTS_PER_BACKEND
