"""How many engine requests one search sends, counted on the real transport to a real node.

A soonest search asks for the total, the facets and its first candidates in one request
(queries.soonest_body); the answers must still be SQLite's, which orders exactly in Python.
"""

import pytest
from werkzeug.datastructures import MultiDict

from service.backends.engine.backend import EngineBackend
from service.search.params import parse_search
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.engine


class CountingTransport:
    """The backend's own transport, recording each request's method and path."""

    def __init__(self, transport):
        self._transport = transport
        self.sent: list[tuple[str, str]] = []

    def request(self, method, path, body=None, params=None, **options):
        self.sent.append((method, path))
        return self._transport.request(method, path, body, params=params, **options)


CASES = [
    {"near": "2000"},
    {"near": "3000", "per_page": "50"},
    {"near": "Parramatta NSW", "page": "2", "per_page": "10"},
    {"audience": "family_friends", "near": "4000"},
    {"format": "online"},
    {"goal": "moderation", "kind": "group"},
    {"q": "smart"},
]


@pytest.fixture(scope="module")
def counted(engine_backend):
    transport = CountingTransport(engine_backend.transport)
    backend = EngineBackend(transport, alias=engine_backend.alias)
    backend._zone_names()  # the zone list is read once a minute, not per search
    transport.sent.clear()
    return backend, transport


@pytest.mark.parametrize("args", CASES, ids=lambda args: "&".join(f"{k}={v}" for k, v in args.items()))
def test_a_soonest_search_is_one_request(counted, sqlite_backend, gazetteer, args):
    backend, transport = counted
    query = parse_search(MultiDict({**args, "sort": "soonest"}), gazetteer, FIXED_NOW)
    transport.sent.clear()
    found = backend.search(query)
    assert transport.sent == [("POST", f"/{backend.alias}/_search")]
    expected = sqlite_backend.search(query)
    assert found.total == expected.total > 0
    assert found.facets == expected.facets
    assert [hit.listing.id for hit in found.hits] == [hit.listing.id for hit in expected.hits]
    assert len(found.hits) == min(query.per_page, expected.total - (query.page - 1) * query.per_page)


def test_a_best_search_is_one_request(counted, gazetteer):
    backend, transport = counted
    query = parse_search(MultiDict({"near": "2000", "q": "family"}), gazetteer, FIXED_NOW)
    transport.sent.clear()
    backend.search(query)
    assert transport.sent == [("POST", f"/{backend.alias}/_search")]


def test_a_loaded_index_refreshes_again(engine_backend):
    """Refreshes are off while a load runs; the index behind the alias has them back."""
    settings = engine_backend.transport.request("GET", f"/{engine_backend.alias}/_settings")
    (index_settings,) = settings.values()
    assert index_settings["settings"]["index"].get("refresh_interval", "1s") != "-1"
    assert index_settings["settings"]["index"]["number_of_replicas"] == str(engine_backend.replicas)
