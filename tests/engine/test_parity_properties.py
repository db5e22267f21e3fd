"""Generated searches on SQLite and the engine alike, each checked against the reference.

Two kinds of example, both from hypothesis (derandomized, no example database, so a run is
repeatable and takes about the same time):

* combinations of filters over the demo data (format, goal, substance, kind, approach,
  audience, day, time, tonight, starts_within, open_now, sort, a place among a few
  postcodes, words among a few) at moments around every 2026 clock change of the demo
  zones: both stores give the same total and facets, and without words the reference's
  total and first page; with words (whose relevance the reference does not restate) the
  same set of ids, every one of which the reference's other filters accept, in the
  reference's order unless sorted by relevance;
* the time properties of tests/api/test_search_properties.py (open_now, starts_within and
  sort=soonest against the time oracle) on random listing sets indexed into the engine.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from service.domain import vocab
from service.errors import ApiError
from service.search.params import parse_search
from tests import reference
from tests.api.test_search_properties import (PROPERTY_SETTINGS, app_over, check_time_properties, scenarios,
                                              with_known_cases)
from tests.conftest import FIXED_NOW, delete_alias_indices, engine_url
from tests.engine.test_parity import TIMES

pytestmark = pytest.mark.engine

POSTCODES = ["2000", "3000", "4000", "5000", "6000", "7000", "0800", "2600", "2880", "3550"]
WORDS = ["smart", "family", "ice", "women", "my son uses ice", "alcohol", "meeting", "lifering"]


def some(values) -> st.SearchStrategy[str]:
    """One or two of the values, comma-separated as the API takes them."""
    return st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True).map(",".join)


FILTERS = {
    "format": some(vocab.FORMATS),
    "goal": some(vocab.QUERY_GOALS),
    "substance": some(["alcohol", "ice", "cannabis", "gambling", "opioids"]),
    "kind": some(vocab.KINDS),
    "approach": some(vocab.APPROACHES),
    "audience": some(["family_friends", "women", "young_people", "lgbtiq"]),
    "day": some(vocab.WEEKDAYS),
    "time": some(vocab.TIMES_OF_DAY),
    "tonight": st.just("1"),
    "starts_within": st.sampled_from(["15", "60", "120", "720"]),
    "open_now": st.just("1"),
    "sort": st.sampled_from(["best", "distance", "soonest"]),
    "near": st.sampled_from(POSTCODES),
    "radius_km": st.sampled_from(["5", "25", "100"]),
    "q": st.sampled_from(WORDS),
}


@st.composite
def filter_args(draw) -> dict:
    """A search at one of the parity moments with two to six of the parameters above (so most
    searches still find something), usually near a place."""
    names = draw(st.lists(st.sampled_from(sorted(FILTERS)), min_size=2, max_size=6, unique=True))
    if draw(st.integers(0, 3)) and "near" not in names:
        names.append("near")
    return {"at": draw(st.sampled_from(TIMES)), **{name: draw(FILTERS[name]) for name in names}}


@pytest.fixture(scope="module")
def clients(sqlite_backend, engine_backend, gazetteer):
    """Test clients over the demo data in SQLite and in the engine."""
    return [app_over(backend, gazetteer).test_client() for backend in (sqlite_backend, engine_backend)]


def every_id(client, args: dict, total: int) -> list[str]:
    """Ids of every page of a search."""
    found = []
    for page in range(1, total // 50 + 2):
        found += [i["id"] for i in client.get("/v1/search", query_string={**args, "page": str(page)}).get_json()["items"]]
    return found


@settings(max_examples=150, **PROPERTY_SETTINGS)
@given(args=filter_args())
def test_generated_filters_agree_with_each_other_and_the_reference(clients, demo_listings, gazetteer, args):
    args = {**args, "per_page": "50"}
    embedded, engine = (client.get("/v1/search", query_string=args) for client in clients)
    try:
        query = parse_search(MultiDict(args), gazetteer, FIXED_NOW)
    except ApiError:
        assert embedded.status_code == engine.status_code == 400
        assert embedded.get_json() == engine.get_json()
        return
    assert embedded.status_code == engine.status_code == 200
    first, second = embedded.get_json(), engine.get_json()
    assert (first["total"], first["facets"], first["warnings"]) == (second["total"], second["facets"], second["warnings"])
    if query.text is None:
        expected = reference.search_ids(demo_listings, query)
        assert first["total"] == len(expected)
        assert [i["id"] for i in first["items"]] == [i["id"] for i in second["items"]] == expected[:50]
        return
    found = every_id(clients[0], args, first["total"])
    assert sorted(found) == sorted(every_id(clients[1], args, second["total"]))
    by_id = {x.id: x for x in demo_listings}
    assert all(reference.matches(by_id[i], query) for i in found)
    if query.sort == "soonest" or (query.sort == "distance" and query.place):
        assert found == sorted(found, key=lambda i: reference.sort_key(by_id[i], query))


@pytest.fixture(scope="module")
def engine_store(gazetteer):
    """An engine alias reloaded by each example, and a client over it."""
    from service.backends.engine.backend import EngineBackend, make_transport

    backend = EngineBackend(make_transport("opensearch", engine_url()), alias=f"linkage-test-props-{os.getpid()}")
    backend.load([])
    yield backend, app_over(backend, gazetteer).test_client()
    delete_alias_indices(backend)


@with_known_cases
@settings(max_examples=80, **PROPERTY_SETTINGS)
@given(scenario=scenarios(), within=st.integers(1, 240), per_page=st.integers(1, 3),
       audience=st.sampled_from([None, None, "women"]))
def test_time_filters_and_soonest_follow_the_oracle_on_the_engine(engine_store, scenario, within, per_page, audience):
    backend, client = engine_store
    listings, at = scenario
    backend.load(listings)
    check_time_properties(client, listings, at, within, per_page, audience)


def test_generated_searches_mostly_find_something(demo_listings, gazetteer):
    """The generator is not idle: most of its searches without words have answers, and
    many combine more than two filters."""
    found, combined, seen = [], [], 0

    @settings(max_examples=150, derandomize=True, database=None)
    @given(filter_args())
    def collect(args):
        nonlocal seen
        try:
            query = parse_search(MultiDict(args), gazetteer, FIXED_NOW)
        except ApiError:
            return
        seen += 1
        combined.append(len(set(args) - {"at", "sort", "near"}) > 2)
        if query.text is None:
            found.append(bool(reference.search_ids(demo_listings, query)))
    collect()
    assert seen > 100 and sum(found) > len(found) / 2 and sum(combined) > 30, (seen, sum(found), len(found))
