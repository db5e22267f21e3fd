"""Every error path answers with the one envelope, never HTML or a trace."""

import pytest

from service import create_app
from service.backends.contract import BackendUnavailable
from service.backends.sqlite.backend import SQLiteBackend
from tests.conftest import FIXED_NOW


def assert_envelope(response, status, code=None, parameter=None):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    if code:
        assert error["code"] == code
    if parameter:
        assert error["parameter"] == parameter
    assert b"Traceback" not in response.data and b"<html" not in response.data.lower()
    return error


def test_unknown_route(client):
    assert_envelope(client.get("/v2/nothing"), 404, "not_found")


def test_unknown_listing(client):
    assert_envelope(client.get("/v1/listings/demo:nope"), 404, "not_found", "id")


def test_method_not_allowed(client):
    response = client.post("/v1/search")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_bad_tz_on_listing(client):
    assert_envelope(client.get("/v1/listings/demo:g0001?tz=Nowhere/Land"), 400, "bad_parameter", "tz")


class ExplodingBackend:
    """A backend whose search fails unexpectedly, to exercise the 500 path."""

    def search(self, query):
        raise RuntimeError("secret internal detail")

    def info(self):
        return {}

    def count(self):
        return 1


def test_unexpected_exception_is_a_500_envelope_without_details(gazetteer):
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=ExplodingBackend(), geocoder=gazetteer, clock=lambda: FIXED_NOW)
    response = app.test_client().get("/v1/search?near=2000")
    error = assert_envelope(response, 500, "internal_error")
    assert "secret" not in error["message"]


def test_missing_index_is_503(tmp_path, gazetteer):
    backend = SQLiteBackend(tmp_path / "absent.sqlite")
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    client = app.test_client()
    assert_envelope(client.get("/v1/search?near=2000"), 503, "backend_unavailable")
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"
    alive = client.get("/healthz")  # the process is up even without an index
    assert alive.status_code == 200 and alive.get_json() == {"status": "ok"}


def test_corrupt_index_is_503(tmp_path, gazetteer):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=SQLiteBackend(path), geocoder=gazetteer, clock=lambda: FIXED_NOW)
    assert_envelope(app.test_client().get("/v1/search?near=2000"), 503, "backend_unavailable")


@pytest.mark.parametrize("url, parameter", [
    ("/v1/search?lat=-33", "lon"),
    ("/v1/search?sort=upside_down", "sort"),
    ("/v1/search?at=not-a-time", "at"),
    ("/v1/search?format=fax", "format"),
    ("/v1/search?page=-1", "page"),
])
def test_bad_parameters_through_the_api(client, url, parameter):
    assert_envelope(client.get(url), 400, "bad_parameter", parameter)


def test_backend_unavailable_is_raised_by_sqlite(tmp_path):
    with pytest.raises(BackendUnavailable, match="no index at none.sqlite"):
        SQLiteBackend(tmp_path / "none.sqlite").count()
