"""HTTP geocoders (Nominatim, Pelias, Photon) against a local stub server: answers, cache, rate, errors.

The stub imitates each provider's search endpoint and JSON closely enough for geopy's
parsers, and records every request with the time it arrived on the stub's clock (the
limiter's fake clock in the rate test), so the tests can count what reached the "server".
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from geopy.exc import GeocoderUnavailable
from geopy.location import Location

from service.search.places import resolve_place
from service.search.http_geocoders import (
    HTTPGeocoderUnavailable,
    make_http_geocoder,
    normalise_result,
    parse_geocoder_spec,
)

HOUSE = "12 Smith Street, Parramatta NSW 2150"
HOUSE_LAT, HOUSE_LON = -33.8150, 151.0011

# Nominatim /search?format=json&addressdetails=1: a list of places, coordinates as strings.
NOMINATIM = {
    HOUSE.casefold(): [{
        "place_id": 101, "licence": "Data (c) OpenStreetMap contributors, ODbL 1.0",
        "osm_type": "node", "osm_id": 9001, "lat": str(HOUSE_LAT), "lon": str(HOUSE_LON),
        "class": "place", "type": "house", "place_rank": 30, "importance": 0.00001,
        "addresstype": "place", "name": "",
        "display_name": "12, Smith Street, Parramatta, City of Parramatta Council, "
                        "New South Wales, 2150, Australia",
        "address": {
            "house_number": "12", "road": "Smith Street", "suburb": "Parramatta",
            "city": "City of Parramatta Council", "state": "New South Wales",
            "ISO3166-2-lvl4": "AU-NSW", "postcode": "2150", "country": "Australia",
            "country_code": "au",
        },
        "boundingbox": ["-33.8151", "-33.8149", "151.0010", "151.0012"],
    }],
    "edmonton": [{
        "place_id": 102, "osm_type": "relation", "osm_id": 9002, "lat": "53.5462",
        "lon": "-113.4937", "class": "boundary", "type": "administrative", "place_rank": 16,
        "addresstype": "city", "name": "Edmonton", "display_name": "Edmonton, Alberta, Canada",
        "address": {"city": "Edmonton", "state": "Alberta", "ISO3166-2-lvl4": "CA-AB",
                    "country": "Canada", "country_code": "ca"},
    }],
    "richmond": [
        {"place_id": 103, "lat": "-37.8230", "lon": "144.9980", "class": "place",
         "type": "suburb", "addresstype": "suburb", "name": "Richmond",
         "display_name": "Richmond, City of Yarra, Victoria, 3121, Australia",
         "address": {"suburb": "Richmond", "state": "Victoria", "postcode": "3121",
                     "country": "Australia", "country_code": "au"}},
        {"place_id": 104, "lat": "-33.5990", "lon": "150.7510", "class": "place",
         "type": "town", "addresstype": "town", "name": "Richmond",
         "display_name": "Richmond, Hawkesbury City Council, New South Wales, 2753, Australia",
         "address": {"town": "Richmond", "state": "New South Wales", "postcode": "2753",
                     "country": "Australia", "country_code": "au"}},
    ],
}


def _feature(lon: float, lat: float, properties: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": properties}


# Pelias /v1/search?text=...: a GeoJSON FeatureCollection; `layer` says what was matched.
PELIAS = {
    HOUSE.casefold(): [_feature(HOUSE_LON, HOUSE_LAT, {
        "id": "au/nsw:1", "gid": "openaddresses:address:au/nsw:1", "layer": "address",
        "source": "openaddresses", "name": "12 Smith Street", "housenumber": "12",
        "street": "Smith Street", "postalcode": "2150", "confidence": 1,
        "match_type": "exact", "accuracy": "point", "country": "Australia",
        "country_a": "AUS", "country_code": "AU", "region": "New South Wales",
        "region_a": "NSW", "locality": "Parramatta",
        "label": "12 Smith Street, Parramatta, NSW, Australia",
    })],
    # An older Pelias: no country_code, only the alpha-3 country_a.
    "hobart": [_feature(147.3257, -42.8826, {
        "layer": "locality", "source": "whosonfirst", "name": "Hobart",
        "accuracy": "centroid", "country": "Australia", "country_a": "AUS",
        "region": "Tasmania", "region_a": "TAS", "label": "Hobart, TAS, Australia",
    })],
}

# Photon /api?q=...: GeoJSON too, with OSM key/value and (newer servers) a `type`.
PHOTON = {
    HOUSE.casefold(): [_feature(HOUSE_LON, HOUSE_LAT, {
        "osm_type": "N", "osm_id": 9001, "osm_key": "place", "osm_value": "house",
        "type": "house", "housenumber": "12", "street": "Smith Street",
        "district": "Parramatta", "city": "Sydney", "postcode": "2150",
        "state": "New South Wales", "country": "Australia", "countrycode": "AU",
    })],
    "darwin": [_feature(130.8418, -12.4637, {
        "osm_type": "N", "osm_id": 9003, "osm_key": "place", "osm_value": "city",
        "type": "city", "name": "Darwin", "state": "Northern Territory",
        "country": "Australia", "countrycode": "AU", "extent": [130.8, -12.3, 131.0, -12.6],
    })],
}


class StubServer:
    """A local stand-in for a self-hosted Nominatim, Pelias and Photon (one port, one prefix)."""

    prefix = "/geo"

    def __init__(self):
        self.requests: list[tuple[str, dict, float]] = []  # (path, params, arrival time)
        self.failures: list[int] = []  # HTTP statuses to answer the next requests with
        self.pelias_body: object | None = None  # replaces Pelias's answer when set
        self.clock = time.monotonic  # what arrival times are read from
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                arrived = stub.clock()
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                stub.requests.append((parts.path, params, arrived))
                if stub.failures:
                    return self._send(stub.failures.pop(0), {"error": "stub failure"})
                path = parts.path.removeprefix(stub.prefix)
                if path == "/search":
                    return self._send(200, stub.nominatim(params))
                if path == "/v1/search":
                    body = stub.pelias(params) if stub.pelias_body is None else stub.pelias_body
                    return self._send(200, body)
                if path == "/api":
                    return self._send(200, stub.photon(params))
                return self._send(404, {"error": "no such endpoint"})

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll interval so shutdown() at teardown does not wait half a second.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def spec(self, provider: str) -> str:
        return f"{provider}:{self.url}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _limit(items: list, params: dict) -> list:
        return items[: int(params["limit"])] if "limit" in params else items

    def nominatim(self, params):
        assert params.get("format") == "json"
        places = [dict(p) for p in NOMINATIM.get(params.get("q", "").casefold(), [])]
        if params.get("addressdetails") != "1":  # like the real server: details on request
            for place in places:
                place.pop("address", None)
        return self._limit(places, params)

    def pelias(self, params):
        features = PELIAS.get(params.get("text", "").casefold(), [])
        return {"geocoding": {"version": "0.2", "query": {"text": params.get("text")}},
                "type": "FeatureCollection", "features": features}

    def photon(self, params):
        features = self._limit(PHOTON.get(params.get("q", "").casefold(), []), params)
        return {"type": "FeatureCollection", "features": features}


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """geopy reads the system proxy settings; requests to 127.0.0.1 must not go through one."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.close()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "var" / "geocode-cache.sqlite"


_OPEN = []


@pytest.fixture(autouse=True)
def close_geocoders():
    """Close every cache connection a test opened."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def make(stub, provider, cache, **kwargs):
    """A geocoder on the stub; no delays unless a test asks, so the suite stays fast."""
    kwargs.setdefault("min_delay_seconds", 0)
    kwargs.setdefault("error_wait_seconds", 0)
    geocoder = make_http_geocoder(stub.spec(provider), cache, timeout=5, **kwargs)
    _OPEN.append(geocoder)
    return geocoder


@pytest.mark.parametrize("provider, endpoint", [
    ("nominatim", "/geo/search"), ("pelias", "/geo/v1/search"), ("photon", "/geo/api"),
])
def test_house_address_gives_coordinates_and_the_fields_the_service_reads(stub, cache, provider, endpoint):
    geocoder = make(stub, provider, cache)
    found = geocoder.geocode(HOUSE)
    assert isinstance(found, Location)
    assert (found.latitude, found.longitude) == pytest.approx((HOUSE_LAT, HOUSE_LON))
    raw = found.raw
    assert {k: raw[k] for k in ("name", "state", "country", "postcode", "timezone",
                                "precision", "approximate")} == {
        "name": "Parramatta", "state": "NSW", "country": "AU", "postcode": "2150",
        "timezone": None, "precision": "house", "approximate": False,
    }
    assert isinstance(raw["provider_raw"], dict) and raw["provider_raw"]
    assert [path for path, _, _ in stub.requests] == [endpoint]  # the path prefix is kept
    if provider == "nominatim":
        assert stub.requests[0][1]["addressdetails"] == "1"
        assert "Smith Street" in found.address


@pytest.mark.parametrize("provider, query, expected", [
    ("nominatim", "Edmonton", {"name": "Edmonton", "state": "Alberta", "country": "CA",
                               "postcode": None, "precision": "locality"}),
    # An old Pelias gives only the alpha-3 country.
    ("pelias", "Hobart", {"name": "Hobart", "state": "TAS", "country": "AU",
                          "postcode": None, "precision": "locality"}),
    ("photon", "Darwin", {"name": "Darwin", "state": "NT", "country": "AU",
                          "postcode": None, "precision": "locality"}),
])
def test_city_level_results_are_approximate(stub, cache, provider, query, expected):
    found = make(stub, provider, cache).geocode(query)
    assert found.raw["approximate"] is True
    assert {k: found.raw[k] for k in expected} == expected


def test_plugs_into_resolve_place(stub, cache):
    place, warnings = resolve_place(HOUSE, make(stub, "nominatim", cache))
    assert (place.state, place.country, place.postcode) == ("NSW", "AU", "2150")
    assert place.approximate is False and not warnings
    place, warnings = resolve_place("Richmond", make(stub, "nominatim", cache))
    assert place.state == "VIC" and "NSW" in warnings[0]  # both states reach the warning


def test_an_address_is_asked_once_even_across_runs(stub, cache):
    geocoder = make(stub, "photon", cache)
    first = geocoder.geocode(HOUSE)
    # Case, spacing around commas and repeated blanks do not make a new question.
    again = geocoder.geocode("  12 smith street,parramatta   NSW 2150 ")
    assert len(stub.requests) == 1
    assert (again.address, again.point, again.raw) == (first.address, first.point, first.raw)
    assert geocoder.stats() == {"hits": 1, "misses": 1, "requests": 1, "failures": 0}
    geocoder.close()

    rerun = make(stub, "photon", cache)  # a new process, the same cache file
    assert rerun.geocode(HOUSE).raw == first.raw
    assert len(stub.requests) == 1
    assert (rerun.hits, rerun.misses, rerun.requests) == (1, 0, 0)


def test_a_miss_is_cached_too(stub, cache):
    geocoder = make(stub, "pelias", cache)
    assert geocoder.geocode("Nowhere Street, Atlantis") is None
    assert geocoder.geocode("nowhere street, atlantis") is None
    assert len(stub.requests) == 1
    assert make(stub, "pelias", cache).geocode("Nowhere Street, Atlantis") is None
    assert len(stub.requests) == 1


def test_every_candidate_when_not_exactly_one(stub, cache):
    geocoder = make(stub, "nominatim", cache)
    found = geocoder.geocode("Richmond", exactly_one=False)
    assert [loc.raw["state"] for loc in found] == ["VIC", "NSW"]
    assert "limit" not in stub.requests[0][1]
    assert geocoder.geocode("Richmond", exactly_one=False)[1].raw["postcode"] == "2753"
    assert len(stub.requests) == 1
    # exactly_one asks the server for one result (limit=1): a separate cache entry.
    assert geocoder.geocode("Richmond").raw["state"] == "VIC"
    assert len(stub.requests) == 2 and stub.requests[1][1]["limit"] == "1"
    assert geocoder.geocode("No such place", exactly_one=False) == []


def test_extra_arguments_are_part_of_the_question(stub, cache):
    geocoder = make(stub, "nominatim", cache)
    geocoder.geocode(HOUSE)
    geocoder.geocode(HOUSE, country_codes="au")
    geocoder.geocode(HOUSE, country_codes="au")
    assert len(stub.requests) == 2 and stub.requests[1][1]["countrycodes"] == "au"
    with pytest.raises(TypeError):
        geocoder.geocode(HOUSE, no_such_option=1)  # a bug, shown at once, not sent
    assert len(stub.requests) == 2


class FakeClock:
    """Time that passes only when the rate limiter sleeps; every sleep is recorded."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def on_fake_clock(geocoder, stub, monkeypatch) -> FakeClock:
    """Run the geocoder's rate limiter (geopy's RateLimiter) and the stub's arrival times on one fake clock."""
    clock = FakeClock()
    monkeypatch.setattr(geocoder._limited, "_clock", clock.time)
    monkeypatch.setattr(geocoder._limited, "_sleep", clock.sleep)
    stub.clock = clock.time
    return clock


def test_requests_are_spaced_by_the_rate_limit(stub, cache, monkeypatch):
    geocoder = make(stub, "nominatim", cache, min_delay_seconds=0.2)
    clock = on_fake_clock(geocoder, stub, monkeypatch)
    geocoder.geocode(HOUSE)
    clock.now += 0.05  # the first answer took a while: only the rest of the interval is waited
    geocoder.geocode("Edmonton")
    (_, _, first), (_, _, second) = stub.requests
    assert clock.sleeps == [pytest.approx(0.15)]
    assert second - first == pytest.approx(0.2)
    clock.now += 1.0  # long after: the next request goes at once
    geocoder.geocode("Richmond")
    assert len(clock.sleeps) == 1 and stub.requests[2][2] - second == pytest.approx(1.0)
    geocoder.geocode("Edmonton")  # from the cache: no request, so no waiting for a request slot
    assert len(clock.sleeps) == 1 and len(stub.requests) == 3


def test_a_failed_request_waits_before_it_is_retried(stub, cache, monkeypatch):
    geocoder = make(stub, "photon", cache, min_delay_seconds=0.2, error_wait_seconds=3, max_retries=1)
    clock = on_fake_clock(geocoder, stub, monkeypatch)
    stub.failures = [503]
    assert geocoder.geocode(HOUSE).raw["postcode"] == "2150"
    (_, _, failed), (_, _, retried) = stub.requests
    assert clock.sleeps == [3] and retried - failed == pytest.approx(3)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_down_raises_a_clear_error(cache):
    url = f"http://127.0.0.1:{_closed_port()}/nominatim"
    geocoder = make_http_geocoder(f"nominatim:{url}", cache, min_delay_seconds=0, timeout=2,
                                  max_retries=1, error_wait_seconds=0)
    _OPEN.append(geocoder)
    with pytest.raises(GeocoderUnavailable) as caught:
        geocoder.geocode(HOUSE)
    error = caught.value
    assert isinstance(error, HTTPGeocoderUnavailable)
    assert str(error).startswith(f"nominatim geocoder at {url} could not geocode '{HOUSE}': "
                                 "the server could not be reached")
    assert (error.provider, error.url, error.query) == ("nominatim", url, HOUSE)
    assert geocoder.stats() == {"hits": 0, "misses": 1, "requests": 2, "failures": 1}


def test_a_passing_failure_is_retried_and_failures_are_not_cached(stub, cache):
    geocoder = make(stub, "photon", cache, max_retries=1)
    stub.failures = [503]
    assert geocoder.geocode(HOUSE).raw["postcode"] == "2150"
    assert len(stub.requests) == 2

    stub.failures = [500, 500]
    with pytest.raises(HTTPGeocoderUnavailable, match="the server answered with an error"):
        geocoder.geocode("Darwin")
    assert len(stub.requests) == 4
    assert geocoder.geocode("Darwin").raw["state"] == "NT"  # asked again, not a cached failure
    assert len(stub.requests) == 5


def test_a_rejected_query_is_not_retried(stub, cache):
    geocoder = make(stub, "pelias", cache, max_retries=2)
    stub.failures = [400]
    with pytest.raises(HTTPGeocoderUnavailable, match="rejected the query"):
        geocoder.geocode(HOUSE)
    assert len(stub.requests) == 1


def test_an_answer_in_the_wrong_shape_is_reported(stub, cache):
    stub.pelias_body = {"error": "not a FeatureCollection"}
    with pytest.raises(HTTPGeocoderUnavailable, match="could not be read"):
        make(stub, "pelias", cache, max_retries=2).geocode(HOUSE)
    assert len(stub.requests) == 1


@pytest.mark.parametrize("spec, message", [
    ("foo", "unknown geocoder 'foo'; use offline, nominatim:URL, pelias:URL or photon:URL"),
    ("google:https://maps.example.org", "unknown geocoder 'google:https://maps.example.org'"),
    ("offline", "not an HTTP geocoder"),
    ("nominatim", "'nominatim' needs the URL of its server"),
    ("pelias:", "'pelias' needs the URL of its server"),
    ("photon:localhost:2322", "must start with http:// or https://"),
    ("nominatim:ftp://geo.example.org", "must start with http:// or https://"),
    ("nominatim:https://", "must start with http:// or https://"),
    ("pelias:http://geo.example.org:port", "is not a valid URL"),
    ("nominatim:https://geo.example.org/search?q=x", "must not have a ?query"),
])
def test_a_bad_spec_names_the_problem(cache, spec, message):
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        make_http_geocoder(spec, cache)
    assert not cache.exists()


def test_spec_parts():
    assert parse_geocoder_spec("Pelias:https://user:secret@Geo.Example.org:4000/pelias/") == (
        "pelias", "https", "user:secret@Geo.Example.org:4000/pelias",
        "https://geo.example.org:4000/pelias",  # no password in messages
    )
    assert parse_geocoder_spec("photon:http://10.0.0.5:2322") == (
        "photon", "http", "10.0.0.5:2322", "http://10.0.0.5:2322")


@pytest.mark.parametrize("provider, provider_raw, expected", [
    # A venue (a clinic) is a point: exact.
    ("nominatim", {"class": "amenity", "type": "clinic", "addresstype": "amenity",
                   "name": "Harbour Clinic",
                   "address": {"amenity": "Harbour Clinic", "suburb": "Manly",
                               "state": "New South Wales", "postcode": "2095",
                               "country_code": "au"}},
     {"name": "Manly", "state": "NSW", "precision": "house", "approximate": False}),
    ("nominatim", {"class": "place", "type": "postcode", "addresstype": "postcode",
                   "address": {"postcode": "7000", "state": "Tasmania", "country_code": "au"}},
     {"postcode": "7000", "state": "TAS", "precision": "postcode", "approximate": True}),
    # No addresstype or type words (an old server): the address rank decides.
    ("nominatim", {"class": "highway", "type": "residential", "place_rank": 26,
                   "address": {"road": "Smith Street", "suburb": "Parramatta",
                               "country_code": "au"}},
     {"name": "Parramatta", "precision": "street", "approximate": True}),
    ("pelias", {"properties": {"layer": "venue", "name": "Harbour Clinic",
                               "locality": "Manly", "region": "New South Wales",
                               "region_a": "NSW", "country_code": "AU"}},
     {"name": "Manly", "state": "NSW", "country": "AU", "precision": "house"}),
    ("pelias", {"properties": {"layer": "region", "name": "Ontario", "region": "Ontario",
                               "region_a": "ON", "country_a": "CAN"}},
     {"state": "Ontario", "country": "CA", "precision": "region", "approximate": True}),
    ("pelias", {"properties": {"layer": "locality", "name": "Ruritania City",
                               "country_a": "RUR"}},
     {"country": None, "approximate": True}),  # unknown alpha-3: no country, not a wrong one
    # An old Photon without "type": the OSM key decides.
    ("photon", {"properties": {"osm_key": "amenity", "osm_value": "clinic",
                               "name": "Harbour Clinic", "district": "Manly",
                               "state": "New South Wales", "countrycode": "AU"}},
     {"name": "Manly", "state": "NSW", "precision": "house", "approximate": False}),
    ("photon", {"properties": {"osm_key": "place", "osm_value": "suburb", "name": "Manly",
                               "countrycode": "au"}},
     {"name": "Manly", "country": "AU", "precision": "locality", "approximate": True}),
])
def test_normalised_raw(provider, provider_raw, expected):
    raw = normalise_result(provider, provider_raw)
    assert set(raw) == {"name", "state", "country", "postcode", "timezone", "precision",
                        "approximate", "provider_raw"}
    assert raw["provider_raw"] is provider_raw and raw["timezone"] is None
    assert {k: raw[k] for k in expected} == expected
