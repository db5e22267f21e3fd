"""Referral storage has a ceiling per client and in total: a 429 or a 507 in the usual
envelope, naming the limit, and a Prometheus count of the refusals."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from service import create_app
from tests.conftest import FIXED_NOW


def server(sqlite_backend, gazetteer, tmp_path, clock=lambda: FIXED_NOW, **settings):
    """An app over the demo index with its state files in tmp_path."""
    return create_app({"referrals_path": str(tmp_path / "referrals.sqlite"), "api_rate_limit": "1000/minute",
                       "link_checks_path": str(tmp_path / "link-checks.sqlite"), **settings},
                      backend=sqlite_backend, geocoder=gazetteer, clock=clock).test_client()


def create(client, address):
    return client.post("/v1/referrals", json={"listing_ids": ["demo:g0002"]}, environ_base={"REMOTE_ADDR": address})


def refusals(client, limit: str) -> float:
    """How many requests /metrics says the named limit refused."""
    total = 0.0
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == "linkage_limit_refusals_total" and sample.labels.get("limit") == limit:
                total += sample.value
    return total


def test_one_client_can_store_only_so_many_referrals(sqlite_backend, gazetteer, tmp_path):
    client = server(sqlite_backend, gazetteer, tmp_path, referral_client_limit="3/hour")
    assert [create(client, "203.0.113.5").status_code for _ in range(3)] == [201] * 3
    refused = create(client, "203.0.113.5")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["status"] == 429 and error["code"] == "referral_limit"
    assert "3 per 1 hour" in error["message"] and "LINKAGE_REFERRAL_CLIENT_LIMIT" in error["message"]
    # Another clinic is not held up by this one.
    assert create(client, "203.0.113.6").status_code == 201
    assert refusals(client, "referral_client") == 1


def test_the_store_as_a_whole_has_a_ceiling(sqlite_backend, gazetteer, tmp_path):
    now = [FIXED_NOW]
    client = server(sqlite_backend, gazetteer, tmp_path, clock=lambda: now[0], referral_store_max="2")
    assert [create(client, f"203.0.113.{n}").status_code for n in (1, 2)] == [201, 201]
    full = create(client, "203.0.113.3")
    assert full.status_code == 507
    error = full.get_json()["error"]
    assert error["code"] == "storage_full" and "2 referrals" in error["message"]
    assert "LINKAGE_REFERRAL_STORE_MAX" in error["message"]
    assert refusals(client, "referral_store_total") == 1
    # Once the stored referrals have expired they make room (they are purged at the ceiling).
    now[0] = FIXED_NOW + timedelta(days=91)
    assert create(client, "203.0.113.3").status_code == 201
