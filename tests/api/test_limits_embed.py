"""An embed key's rate bucket cannot be emptied by others: limits count per key and address,
and a key is accepted only with the Origin it was registered for."""

from __future__ import annotations

import pytest

from service import create_app
from tests.conftest import FIXED_NOW

SITE = "https://clinic.example"
KEY = "pk_test_limits"


@pytest.fixture()
def keyed(sqlite_backend, gazetteer, tmp_path):
    app = create_app({"referrals_path": str(tmp_path / "referrals.sqlite"), "api_rate_limit": "3/minute",
                      "link_checks_path": str(tmp_path / "link-checks.sqlite")},
                     backend=sqlite_backend, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    app.extensions["linkage"].keys.add_key(KEY, "Clinic", [SITE])
    return app.test_client()


def places(client, address, **headers):
    return client.get(f"/v1/places?q=syd&key={KEY}", headers=headers, environ_base={"REMOTE_ADDR": address})


def test_a_key_without_its_origin_is_refused_naming_the_problem(keyed):
    refused = places(keyed, "192.0.2.1")
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "origin_required" and error["parameter"] == "key"
    assert "Origin" in error["message"]
    assert places(keyed, "192.0.2.1", Origin=SITE).status_code == 200
    # The key's own site is the only origin it serves.
    assert places(keyed, "192.0.2.1", Origin="https://elsewhere.example").status_code == 403


def test_one_address_cannot_empty_the_keys_bucket_for_the_site(keyed):
    # Someone copies the key from the site's HTML and forges its Origin from one address.
    flood = [places(keyed, "198.51.100.66", Origin=SITE).status_code for _ in range(5)]
    assert flood == [200, 200, 200, 429, 429]
    # The site's real visitors each keep their own allowance under the key.
    assert [places(keyed, "203.0.113.20", Origin=SITE).status_code for _ in range(3)] == [200] * 3
    assert places(keyed, "203.0.113.21", Origin=SITE).status_code == 200


def test_our_own_pages_may_send_a_key_without_origin(keyed):
    """Browsers send no Origin on a same-origin GET; they say Sec-Fetch-Site: same-origin."""
    own = places(keyed, "192.0.2.9", **{"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200
