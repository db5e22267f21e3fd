"""Hostile input never makes a server error: each case from a sweep of attacker requests gets
a 400/404 naming the problem, and every answer carries the headers it should.

The expected answers are written by hand from what the request is (a year the calendar code
cannot hold, a body nested too deeply to read, a control character in a code), not from what
the code under test returns.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service import create_app
from service.backends.engine.backend import EngineBackend, make_transport
from tests.conftest import FIXED_NOW

# A listing that exists in the demo data (data/demo/listings.json).
LISTING = "demo:g0001"
# Years at the ends of what Python's datetime holds: the search looks days ahead and back.
EDGE_MOMENTS = ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+10:00", "9999-12-31T23:59:00Z",
                "9999-12-31T23:59:00-10:00")


def error_of(response, status: int, parameter: str | None = None) -> dict:
    """The JSON error envelope of a response with this status (and parameter, when given)."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    if parameter:
        assert error["parameter"] == parameter, error
    return error


@pytest.mark.parametrize("moment", EDGE_MOMENTS)
@pytest.mark.parametrize("path", ["/v1/search?near=2000&at={}", "/v1/search?at={}", f"/v1/listings/{LISTING}?at={{}}"])
def test_a_moment_at_the_ends_of_the_calendar_is_a_400_naming_at(client, path, moment):
    error = error_of(client.get(path.format(quote(moment))), 400, "at")
    assert "year" in error["message"], error


def test_a_naive_moment_in_year_one_read_in_a_zone_is_a_400(client):
    error_of(client.get("/v1/search?at=0001-01-01T00:00&tz=Australia/Sydney"), 400, "at")


@pytest.mark.parametrize("moment", EDGE_MOMENTS)
def test_the_search_page_says_what_is_wrong_with_at(client, moment):
    for words in ("near=2000", "q=meeting"):
        response = client.get(f"/?{words}&at={quote(moment)}")
        assert response.status_code == 400 and response.mimetype == "text/html"
        assert "at must be" in response.get_data(as_text=True)


def test_a_deeply_nested_json_body_is_a_400(client):
    for endpoint in ("/v1/referrals", "/v1/referrals/ABCDE-FGHJK-MNPQR/feedback"):
        error = error_of(client.post(endpoint, data="[" * 5000, content_type="application/json"), 400)
        assert error["code"] == "bad_json" and "nested" in error["message"]


@pytest.fixture(scope="module")
def handout_code(app):
    """A handout's code as the API shows it."""
    response = app.test_client().post("/v1/referrals", json={"listing_ids": [LISTING]})
    assert response.status_code == 201
    return response.get_json()["code"]


@pytest.mark.parametrize("control", ["%0A", "%0D", "%0D%0AX-Injected:%201", "%09", "%00", "%1B", "%7F"])
@pytest.mark.parametrize("fmt", ["pdf", "ics", "txt"])
def test_a_control_character_in_a_handout_code_is_a_404(client, handout_code, control, fmt):
    response = client.get(f"/r/{handout_code}{control}.{fmt}")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "X-Injected" not in response.headers


def test_the_file_name_is_the_code_as_shown_whatever_was_typed(client, handout_code):
    typed = handout_code.lower().replace("-", "")
    response = client.get(f"/r/{typed}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'inline; filename="linkage-{handout_code}.ics"'


def test_the_pdf_has_a_policy_and_cannot_be_framed(client, handout_code):
    response = client.get(f"/r/{handout_code}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("suffix", ["", ".pdf", ".txt", ".ics", "-nothing", "-nothing.pdf"])
def test_handouts_are_never_kept_by_caches(client, handout_code, suffix):
    code = handout_code if not suffix.startswith("-") else "ZZZZZ-ZZZZZ-ZZZZZ"
    response = client.get(f"/r/{code}{suffix.removeprefix('-nothing')}")
    assert response.headers["Cache-Control"] == "no-store", (suffix, response.status_code)
    assert client.get(f"/v1/referrals/{handout_code}").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("fmt, media_type", [("txt", "text/plain"), ("ics", "text/calendar")])
def test_text_downloads_say_their_charset_once(client, handout_code, fmt, media_type):
    content_type = client.get(f"/r/{handout_code}.{fmt}").headers["Content-Type"]
    assert content_type == f"{media_type}; charset=utf-8"


def test_an_over_long_request_target_is_a_414_with_the_headers(client):
    response = client.get("/v1/search?q=" + "x" * 5000)
    error_of(response, 414)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


class ExplodingBackend:
    """A backend whose searches fail unexpectedly: a bug, not an outage."""

    def search(self, query):
        raise RuntimeError("secret internal detail")

    def info(self):
        return {}

    def count(self):
        return 1

    def get(self, listing_id):
        raise RuntimeError("secret internal detail")


def test_a_server_error_on_a_page_is_a_page(gazetteer, tmp_path):
    app = create_app({"api_rate_limit": "1000000/minute", "referrals_path": str(tmp_path / "r.sqlite")},
                     backend=ExplodingBackend(), geocoder=gazetteer, clock=lambda: FIXED_NOW)
    client = app.test_client()
    page = client.get("/?near=2000")
    assert page.status_code == 500 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "<html" in text and "secret" not in text and "Traceback" not in text
    assert page.headers["X-Frame-Options"] == "DENY"
    # The API keeps its JSON envelope.
    error_of(client.get("/v1/search?near=2000"), 500)


class HungEngine:
    """A TCP server that accepts connections and never answers: an engine that has hung.
    It counts the connections, which is how many requests the service sent it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self):
        self.sock.close()
        for connection in self.accepted:
            connection.close()


def test_with_the_engine_hung_the_search_page_waits_for_one_request(gazetteer, tmp_path):
    engine = HungEngine()
    try:
        backend = EngineBackend(make_transport("opensearch", engine.url), alias="hung-listings")
        app = create_app({"api_rate_limit": "1000000/minute", "referrals_path": str(tmp_path / "r.sqlite")},
                         backend=backend, geocoder=gazetteer, clock=lambda: FIXED_NOW)
        response = app.test_client().get("/?near=2000")
        assert response.status_code == 503 and "not available" in response.get_data(as_text=True)
        assert len(engine.accepted) == 1, "the page waited on the hung engine more than once"
    finally:
        engine.close()


# --- the sweep --------------------------------------------------------------------------

PATHS = ("/", "/v1/search", f"/v1/listings/{LISTING}", "/v1/places", "/embed", "/r/ABCDE-FGHJK-MNPQR",
         "/r/ABCDE-FGHJK-MNPQR.pdf", "/v1/referrals/ABCDE-FGHJK-MNPQR")
PARAMETERS = ("near", "lat", "lon", "q", "at", "tz", "radius_km", "page", "per_page", "format", "day", "time",
              "sort", "starts_within", "tonight", "limit", "for")
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:00-10:00", "nan", "inf", "-1e309", "1e309",
                     "\u202e", "\x00", "%", "[" * 64, "<script>", "../../etc/passwd", "0" * 400]),
    st.text(max_size=60),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), query=st.dictionaries(st.sampled_from(PARAMETERS), HOSTILE_TEXT, max_size=4))
@example(path="/v1/search", query={"at": "0001-01-01T00:00:00Z"})
@example(path="/v1/search", query={"at": "9999-12-31T23:59:00Z"})
@example(path="/", query={"near": "2000", "at": "9999-12-31T23:59:00-10:00"})
@example(path="/", query={"q": "x", "at": "0001-01-01T00:00:00+10:00"})
@example(path=f"/v1/listings/{LISTING}", query={"at": "0001-01-01T00:00:00Z"})
@example(path="/v1/search", query={"at": "0001-01-01T00:00", "tz": "Pacific/Kiritimati"})
@example(path="/r/ABCDE-FGHJK-MNPQR\n.pdf", query={})
@example(path="/v1/search", query={"q": "x" * 5000})
def test_no_query_makes_a_server_error(client, path, query):
    response = client.get(path, query_string=query)
    assert response.status_code < 500 or response.status_code == 503, (path, query, response.status_code)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), st.integers(1, 20_000).map(lambda n: b"[" * n),
                      st.integers(1, 20_000).map(lambda n: b'{"a":' * n)))
@example(body=b"[" * 5000)
@example(body=b'{"listing_ids": [' * 3000)
def test_no_body_makes_a_server_error(client, body):
    for endpoint in ("/v1/referrals", "/v1/referrals/ABCDE-FGHJK-MNPQR/feedback"):
        response = client.post(endpoint, data=body, content_type="application/json")
        assert response.status_code < 500, (endpoint, body[:40], response.status_code)
