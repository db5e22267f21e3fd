"""The engine going away: 503 with the envelope, no hang, and recovery without a restart."""

import os
import socket
import subprocess
import time

import pytest

from service import create_app
from service.backends.engine import REQUEST_TIMEOUT_S, EngineBackend, make_transport
from tests.conftest import ENGINE_KIND, FIXED_NOW, ROOT

pytestmark = pytest.mark.engine

SCRIPTS = ROOT / "deploy" / "search-engine"
# A second node, so stopping it does not disturb the tests using the first.
FAULT_PORT = os.environ.get("LINKAGE_FAULT_ENGINE_PORT", "9211")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed_get(client, url):
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


def assert_unavailable(response):
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "backend_unavailable"
    assert b"Traceback" not in response.data


def test_unreachable_engine_is_503_without_hanging(gazetteer):
    backend = EngineBackend(make_transport(ENGINE_KIND, f"http://127.0.0.1:{free_port()}"), alias="nothing")
    client = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer, clock=lambda: FIXED_NOW).test_client()
    response, elapsed = timed_get(client, "/v1/search?near=2000")
    assert_unavailable(response)
    ready, _ = timed_get(client, "/readyz")
    assert ready.status_code == 503
    listing, _ = timed_get(client, "/v1/listings/demo:g0001")
    assert listing.status_code == 503
    # Bounded by the client timeout, not by the operating system's connect retries; the
    # limit is loose because this machine is shared: it catches hangs, not slowness.
    assert REQUEST_TIMEOUT_S <= 2.0 and elapsed < 10 * REQUEST_TIMEOUT_S


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
    response, _ = timed_get(client, "/v1/search?near=2000")
    assert_unavailable(response)
    assert client.get("/readyz").status_code == 503

    assert engine("start") == own_node
    # A new node has no index yet: still 503, and it says so.
    response = client.get("/v1/search?near=2000")
    assert_unavailable(response)
    backend.load(demo_listings)
    recovered = client.get("/v1/search?near=2000")
    assert recovered.status_code == 200 and recovered.get_json()["total"] > 0
    assert client.get("/readyz").get_json()["status"] == "ok"
