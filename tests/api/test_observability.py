"""Request ids, logs that keep places coarse, Prometheus metrics, index age on /readyz."""

import json
import logging
from datetime import datetime, timedelta

from service import create_app
from service.observability import JsonFormatter, loggable_query, round_coordinates


def test_request_id_is_returned_and_kept_when_given(client):
    generated = client.get("/v1/search?near=2000").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    # A hostile id is replaced, not echoed.
    assert client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"] != "<script>"


def test_logs_round_coordinates_to_about_a_kilometre(client, caplog):
    assert round_coordinates("-33.868820,151.209290") == "-33.87,151.21"
    assert loggable_query({"lat": "-33.86882", "lon": "151.20929", "near": "2000"}) == {
        "lat": "-33.87", "lon": "151.21", "near": "2000"}
    logger = logging.getLogger("linkage.access")
    with caplog.at_level(logging.INFO, logger="linkage.access"):
        logger.propagate = True
        try:
            client.get("/v1/search?lat=-33.868820&lon=151.209290", headers={"X-Request-ID": "trace-1"})
        finally:
            logger.propagate = False
    record = next(r for r in caplog.records if r.name == "linkage.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-1" and line["status"] == 200
    assert line["query"] == {"lat": "-33.87", "lon": "151.21"}
    assert "151.209" not in json.dumps(line)


def test_metrics_expose_the_series(client):
    client.get("/v1/search?near=2000")
    text = client.get("/metrics").get_data(as_text=True)
    for series in ("linkage_request_seconds_bucket", "linkage_backend_seconds_bucket", "linkage_listings ",
                   "linkage_index_age_seconds"):
        assert series in text, series
    assert 'endpoint="/v1/search"' in text


def test_readyz_reports_index_age_and_warns_when_old(app, gazetteer):
    services = app.extensions["linkage"]
    built_at = datetime.fromisoformat(services.backend.info()["built_at"])

    def ready(after: timedelta, settings=None):
        """/readyz from an app whose clock reads `after` past the index's build."""
        made = create_app({"api_rate_limit": "1000000/minute", **(settings or {})}, backend=services.backend,
                          geocoder=gazetteer, referrals=services.referrals, clock=lambda: built_at + after)
        return made.test_client().get("/readyz").get_json()

    fresh = ready(timedelta(seconds=90))
    assert fresh["status"] == "ok" and fresh["index_age_seconds"] == 90 and fresh["warnings"] == []
    stale = ready(timedelta(hours=5), {"max_index_age_hours": "1"})
    assert stale["status"] == "ok" and stale["index_age_seconds"] == 5 * 3600
    assert stale["warnings"] == ["the index is 5 hours old (over 1): are the feeds refreshing? (linkage refresh)"]
