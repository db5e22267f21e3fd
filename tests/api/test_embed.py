"""Embedding: place suggestions, program explainers, keys, CORS, rate limits, headers."""

import uuid

import pytest

from service import create_app
from tests.conftest import FIXED_NOW, drop_store, key_store_beside, referral_store_for

SITE = "https://clinic.example"


def test_place_suggestions_by_prefix(client):
    items = client.get("/v1/places?q=parra").get_json()["items"]
    assert items[0]["label"] == "Parramatta NSW" and {"lat", "lon", "state"} <= set(items[0])
    assert any(i["postcode"] == "2000" for i in client.get("/v1/places?q=200&limit=20").get_json()["items"])
    assert client.get("/v1/places?q=").get_json()["items"] == []
    refused = client.get("/v1/places?q=x&limit=lots")
    assert refused.status_code == 400 and refused.get_json()["error"]["parameter"] == "limit"
    assert len(client.get("/v1/places?q=s&limit=50").get_json()["items"]) == 20  # clamped, as documented


def test_program_explainers(client):
    items = {i["name"]: i for i in client.get("/v1/programs").get_json()["items"]}
    assert "CBT" in items["SMART Recovery"]["explainer"] or "cognitive" in items["SMART Recovery"]["explainer"]
    assert {"Narcotics Anonymous", "Crystal Meth Anonymous", "LifeRing", "Moderation Management"} <= set(items)


@pytest.fixture()
def keyed(backend, gazetteer, tmp_path):
    class Factory:
        def mktemp(self, name):
            (tmp_path / name).mkdir()
            return tmp_path / name

    store = referral_store_for(backend, Factory(), name=f"keys-{uuid.uuid4().hex[:8]}")
    keys = key_store_beside(store)
    keys.add_key("pk_test_clinic", "Clinic", [SITE])
    app = create_app({"api_rate_limit": "5/minute", "referrals_path": str(tmp_path / "state" / "referrals.sqlite")},
                     backend=backend, geocoder=gazetteer,
                     clock=lambda: FIXED_NOW, referrals=store, keys=keys)
    yield app.test_client()
    drop_store(store)
    drop_store(keys)


def test_key_store_creates_lists_and_revokes(backend, tmp_path_factory):
    keys = key_store_beside(referral_store_for(backend, tmp_path_factory, name=f"keys-{uuid.uuid4().hex[:8]}"))
    try:
        assert keys.list_keys() == []
        keys.add_key("pk_second", "Second clinic", ["https://second.example"])
        keys.add_key("pk_first", "First clinic", ["https://first.example", "https://first.example:8443"])
        assert keys.list_keys() == [
            {"key": "pk_first", "name": "First clinic", "origins": ["https://first.example", "https://first.example:8443"]},
            {"key": "pk_second", "name": "Second clinic", "origins": ["https://second.example"]}]
        assert keys.revoke_key("pk_first") is True
        assert keys.revoke_key("pk_first") is False
        assert [k["key"] for k in keys.list_keys()] == ["pk_second"]
    finally:
        drop_store(keys)


def test_keys_are_kept_where_the_referral_store_kept_them(backend, tmp_path):
    """No data to move: the same SQLite file as referrals, or the same engine index name."""
    from service import make_key_store, make_referral_store
    from service.embed.store import EngineKeyStore
    from service.settings import Settings

    settings = Settings.from_mapping({"referrals_path": str(tmp_path / "referrals.sqlite")})
    keys, referrals = make_key_store(settings, backend), make_referral_store(settings, backend)
    if isinstance(keys, EngineKeyStore):
        assert (keys.index, referrals.referrals) == ("linkage-embed-keys", "linkage-referrals")
    else:
        assert keys.path == referrals.path == tmp_path / "referrals.sqlite"


def test_keys_written_beside_referrals_before_are_read(tmp_path):
    import sqlite3

    from service.embed.store import SQLiteKeyStore
    from service.referrals.model import Referral
    from service.referrals.store import SQLiteReferralStore

    path = tmp_path / "referrals.sqlite"
    old = sqlite3.connect(path)
    with old:  # the table as the referral store made it
        old.execute("CREATE TABLE embed_keys (key TEXT PRIMARY KEY, name TEXT NOT NULL, origins TEXT NOT NULL)")
        old.execute("INSERT INTO embed_keys VALUES ('pk_old', 'Clinic', '[\"https://clinic.example\"]')")
    old.close()
    keys, referrals = SQLiteKeyStore(path), SQLiteReferralStore(path)
    assert keys.list_keys() == [{"key": "pk_old", "name": "Clinic", "origins": ["https://clinic.example"]}]
    referral = Referral(code="ABCDEFGHJKMNPQR", created_at=FIXED_NOW, expires_at=FIXED_NOW, goal=None,
                        language="en", items=({"id": "demo:g0001"},))
    referrals.save(referral)  # both stores in one file, each with its own connection
    keys.add_key("pk_new", "Another clinic", [SITE])
    assert referrals.get("ABCDEFGHJKMNPQR") == referral
    assert [k["key"] for k in keys.list_keys()] == ["pk_new", "pk_old"]


def test_cors_only_for_the_keys_origins(keyed):
    allowed = keyed.get("/v1/search?near=2000&key=pk_test_clinic", headers={"Origin": SITE})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == SITE
    other = keyed.get("/v1/search?near=2000&key=pk_test_clinic", headers={"Origin": "https://evil.example"})
    # Refused, with no results; the refusal itself is readable there, so a widget can say why.
    assert other.status_code == 403 and "items" not in other.get_json()
    assert other.get_json()["error"]["code"] == "origin_not_allowed"
    assert other.headers["Access-Control-Allow-Origin"] == "https://evil.example"
    wrong = keyed.get("/v1/search?near=2000", headers={"Origin": SITE, "X-Linkage-Key": "pk_nope"})
    assert wrong.status_code == 403 and wrong.get_json()["error"]["parameter"] == "key"
    assert wrong.get_json()["error"]["code"] == "bad_key" and wrong.headers["Access-Control-Allow-Origin"] == SITE
    # Without a key another site gets answers its browser may not read.
    keyless = keyed.get("/v1/search?near=2000", headers={"Origin": "https://evil.example"})
    assert keyless.status_code == 200 and "Access-Control-Allow-Origin" not in keyless.headers
    preflight = keyed.options("/v1/referrals", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-linkage-key"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == SITE
    assert "X-Linkage-Key" in preflight.headers["Access-Control-Allow-Headers"]
    refused = keyed.options("/v1/referrals", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    # A request that will present a key may be sent from anywhere: the key is checked on the request.
    keyed_preflight = keyed.options("/v1/search", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-linkage-key"})
    assert keyed_preflight.headers["Access-Control-Allow-Origin"] == "https://evil.example"
    empty = keyed.post("/v1/referrals", json={"listing_ids": ["demo:g0002"]},
                       headers={"Origin": "https://evil.example", "X-Linkage-Key": ""})
    assert empty.status_code == 403 and empty.get_json()["error"]["code"] == "bad_key"


def test_handout_text_answers_cors_for_the_keys_origins(keyed):
    code = keyed.post("/v1/referrals?key=pk_test_clinic", json={"listing_ids": ["demo:g0002"]},
                      headers={"Origin": SITE}).get_json()["code"]
    text = keyed.get(f"/r/{code}.txt", headers={"Origin": SITE, "X-Linkage-Key": "pk_test_clinic"})
    assert text.status_code == 200 and text.headers["Access-Control-Allow-Origin"] == SITE
    assert f"/r/{code}" in text.get_data(as_text=True)
    by_query = keyed.get(f"/r/{code}.txt?key=pk_test_clinic", headers={"Origin": SITE})
    assert by_query.headers["Access-Control-Allow-Origin"] == SITE
    preflight = keyed.options(f"/r/{code}.txt", headers={
        "Origin": SITE, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-linkage-key"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == SITE
    elsewhere = keyed.get(f"/r/{code}.txt", headers={"Origin": "https://evil.example", "X-Linkage-Key": "pk_test_clinic"})
    assert elsewhere.status_code == 403 and elsewhere.get_json()["error"]["code"] == "origin_not_allowed"
    keyless = keyed.get(f"/r/{code}.txt", headers={"Origin": SITE})
    assert keyless.status_code == 200 and "Access-Control-Allow-Origin" not in keyless.headers
    # Only the text: the HTML handout and the PDF are pages, not data for other sites.
    page = keyed.get(f"/r/{code}?key=pk_test_clinic", headers={"Origin": SITE})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_meeting_guide_feed_stays_open_to_all(keyed):
    response = keyed.get("/v1/feeds/meeting-guide.json", headers={"Origin": "https://anyone.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_api_is_rate_limited_per_key_and_per_address(keyed):
    site = {"Origin": SITE}  # a key is accepted only with the origin it was registered for
    statuses = [keyed.get("/v1/places?q=syd&key=pk_test_clinic", headers=site).status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    # The address has its own bucket, apart from the key's.
    assert keyed.get("/v1/places?q=syd").status_code == 200
    limited = keyed.get("/v1/places?q=syd&key=pk_test_clinic", headers=site)
    assert limited.get_json()["error"]["status"] == 429


def test_security_headers(client):
    page = client.get("/")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    api = client.get("/v1/search?near=2000", headers={"X-Request-ID": "helpline-42"})
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert api.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["X-Request-ID"] == "helpline-42"
    assert "Strict-Transport-Security" not in api.headers  # plain http: HSTS would mean nothing
    secure = client.get("/v1/search?near=2000", base_url="https://linkage.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    embed = client.get("/embed").get_data(as_text=True)
    assert "linkage-search" in embed and "widget.js" in embed


@pytest.mark.parametrize("hops", [0, 1])
def test_rate_limits_count_clients_behind_a_trusted_proxy(sqlite_backend, gazetteer, tmp_path, hops):
    """With LINKAGE_PROXY_HOPS=1 each forwarded client has its own bucket; with 0 (no proxy)
    X-Forwarded-For is not believed, so a client cannot dodge the limit by forging it."""
    app = create_app({"api_rate_limit": "2/minute", "proxy_hops": str(hops),
                      "referrals_path": str(tmp_path / "referrals.sqlite")},
                     backend=sqlite_backend, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    client = app.test_client()

    def places(address):
        return client.get("/v1/places?q=syd", headers={"X-Forwarded-For": address}).status_code

    assert [places("203.0.113.1") for _ in range(3)] == [200, 200, 429]
    assert places("203.0.113.2") == (200 if hops else 429)


def test_keys_command(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "LINKAGE_REFERRALS_PATH": str(tmp_path / "state.sqlite")}
    made = subprocess.run([sys.executable, "-m", "indexers", "keys", "create", "--origin", "https://clinic.example/x",
                           "--name", "Clinic"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and made.stdout.startswith("pk_")
    key = made.stdout.strip()
    listed = subprocess.run([sys.executable, "-m", "indexers", "keys", "list"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60).stdout
    assert key in listed and "https://clinic.example" in listed and "/x" not in listed
    bad = subprocess.run([sys.executable, "-m", "indexers", "keys", "create", "--origin", "clinic", "--name", "X"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not an origin" in bad.stderr
    gone = subprocess.run([sys.executable, "-m", "indexers", "keys", "revoke", key], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert gone.returncode == 0


def test_each_open_api_has_its_own_allowance_and_a_429_names_the_limit(sqlite_backend, gazetteer, tmp_path):
    """The search API, HSDS and FHIR each count 2 a minute per address here (the settings'
    API limit): using up one leaves the others, and pages are never limited."""
    app = create_app({"api_rate_limit": "2/minute", "referrals_path": str(tmp_path / "referrals.sqlite")},
                     backend=sqlite_backend, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    client = app.test_client()
    assert [client.get("/v1/places?q=syd").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/v1/search?near=2000")
    error = refused.get_json()["error"]
    assert refused.status_code == 429 and error["code"] == "rate_limited" and "2 per 1 minute" in error["message"]
    assert [client.get("/hsds/services").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/fhir/metadata").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]
