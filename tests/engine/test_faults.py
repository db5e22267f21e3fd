"""The engine going away: 503 with the envelope, no hang, and recovery without a restart."""

import os
import socket
import subprocess
import threading

import pytest

from service import create_app
from service.backends.engine.backend import EngineBackend, make_transport
from tests.conftest import ENGINE_KIND, FIXED_NOW, ROOT

pytestmark = pytest.mark.engine

SCRIPTS = ROOT / "deploy" / "search-engine"
# A second node, so stopping it does not disturb the tests using the first.
FAULT_PORT = os.environ.get("LINKAGE_FAULT_ENGINE_PORT", "9211")
# Only stops a hanging request from hanging the suite; nothing is asserted about durations.
GUARD_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_unless_it_hangs(client, url):
    """GET url on a thread; fail the test if no answer comes at all (the guard is generous)."""
    answer = {}
    thread = threading.Thread(target=lambda: answer.setdefault("response", client.get(url)), daemon=True)
    thread.start()
    thread.join(GUARD_S)
    if thread.is_alive():
        pytest.fail(f"GET {url} never answered: the request hangs on an unresponsive engine")
    return answer["response"]


def assert_unavailable(response):
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "backend_unavailable"
    assert b"Traceback" not in response.data


class SilentEngine:
    """A port that takes connections and never answers (a stuck node).

    Nothing accepts them: the kernel completes each connection and queues it, so `connections()`
    counts every one the client opened, whenever it opened it.
    """

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.listener.setblocking(False)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.taken: list[socket.socket] = []

    def connections(self) -> int:
        """How many connections were opened so far."""
        while True:
            try:
                self.taken.append(self.listener.accept()[0])
            except BlockingIOError:
                return len(self.taken)

    def close(self):
        for connection in self.taken:
            connection.close()
        self.listener.close()


@pytest.fixture()
def silent_engine():
    engine = SilentEngine()
    yield engine
    engine.close()


def test_unreachable_engine_is_503_without_hanging(gazetteer):
    backend = EngineBackend(make_transport(ENGINE_KIND, f"http://127.0.0.1:{free_port()}"), alias="nothing")
    client = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer, clock=lambda: FIXED_NOW).test_client()
    assert_unavailable(get_unless_it_hangs(client, "/v1/search?near=2000"))
    assert get_unless_it_hangs(client, "/readyz").status_code == 503
    assert get_unless_it_hangs(client, "/v1/listings/demo:g0001").status_code == 503


def test_an_engine_that_never_answers_is_503_after_one_try(silent_engine, gazetteer):
    """The client's own timeout ends the wait, and it does not try again: one connection per request."""
    backend = EngineBackend(make_transport(ENGINE_KIND, silent_engine.url), alias="nothing")
    client = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer,
                        clock=lambda: FIXED_NOW).test_client()
    assert_unavailable(get_unless_it_hangs(client, "/v1/search?near=2000"))
    assert silent_engine.connections() == 1
    assert get_unless_it_hangs(client, "/v1/listings/demo:g0001").status_code == 503
    assert silent_engine.connections() == 2


def engine(action: str):
    result = subprocess.run([str(SCRIPTS / action)], env={**os.environ, "LINKAGE_ENGINE_PORT": FAULT_PORT},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


@pytest.fixture()
def own_node():
    url = engine("start")
    try:
        yield url
    finally:
        engine("stop")


def test_app_recovers_when_the_node_comes_back(own_node, demo_listings, gazetteer):
    backend = EngineBackend(make_transport(ENGINE_KIND, own_node), alias="linkage-faults")
    backend.load(demo_listings)
    client = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer, clock=lambda: FIXED_NOW).test_client()
    assert client.get("/v1/search?near=2000").status_code == 200

    engine("stop")
    assert_unavailable(get_unless_it_hangs(client, "/v1/search?near=2000"))
    assert client.get("/readyz").status_code == 503

    assert engine("start") == own_node
    # A new node has no index yet: still 503, and it says so.
    response = client.get("/v1/search?near=2000")
    assert_unavailable(response)
    backend.load(demo_listings)
    recovered = client.get("/v1/search?near=2000")
    assert recovered.status_code == 200 and recovered.get_json()["total"] > 0
    assert client.get("/readyz").get_json()["status"] == "ok"
