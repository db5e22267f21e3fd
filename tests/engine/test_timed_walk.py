"""The engine's walks over candidates in lower-bound order (time filters; sort=soonest when the
bounds leave the page undecided, as in a week when clocks change) read every candidate they
need, however many, in pages that double, on a real node.

With pages of two and three candidates the demo data takes dozens of candidates a walk: the
answers must still be the reference's (tests/reference.py, its own calendar walk), and the
requests few: a walk over n candidates from a first page of b takes about log2(n / b) more.
"""

import math
from dataclasses import replace
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from service.backends.engine import backend as engine_module
from service.backends.engine.backend import EngineBackend
from service.search.params import parse_search
from tests import edge_sessions, reference
from tests.conftest import FIXED_NOW
from tests.engine.test_parity import TIMES
from tests.engine.test_request_count import CountingTransport

pytestmark = pytest.mark.engine

CASES = [
    {"open_now": "1"},
    {"starts_within": "240"},
    {"starts_within": "600", "sort": "soonest"},
    {"starts_within": "10080", "sort": "distance", "near": "3000"},
    {"sort": "soonest"},
    {"sort": "soonest", "kind": "service"},
    {"sort": "soonest", "near": "2000", "page": "3", "per_page": "7"},
]


@pytest.fixture
def small_pages(engine_backend, monkeypatch):
    """The engine backend with first pages of 2 (soonest) and 3 (time filters), counting requests."""
    monkeypatch.setattr(engine_module, "WALK_BATCH", 2)
    monkeypatch.setattr(engine_module, "TIMED_BATCH", 3)
    transport = CountingTransport(engine_backend.transport)
    backend = EngineBackend(transport, alias=engine_backend.alias)
    backend._zone_names()  # the zone list is read once a minute, not per search
    return backend, transport


@pytest.mark.parametrize("at", TIMES[::3] + [FIXED_NOW.isoformat()])
@pytest.mark.parametrize("args", CASES, ids=lambda args: "&".join(f"{k}={v}" for k, v in args.items()))
def test_walks_read_every_candidate_they_need_in_doubling_pages(small_pages, demo_listings, gazetteer, args, at):
    backend, transport = small_pages
    query = parse_search(MultiDict({**args, "at": at}), gazetteer, FIXED_NOW)
    transport.sent.clear()
    found = backend.search(query)
    expected = reference.search_ids(demo_listings, query)
    first = (query.page - 1) * query.per_page
    assert found.total == len(expected)
    assert [hit.listing.id for hit in found.hits] == expected[first:first + query.per_page]
    # Pages of b, 2b, 4b, ... reach every one of the n listings within log2(n / b + 1) pages
    # (one more to find the end, one for the total and facets).
    first_page = engine_module.TIMED_BATCH if query.needs_schedule else engine_module.WALK_BATCH
    assert len(transport.sent) <= math.ceil(math.log2(len(demo_listings) / first_page + 1)) + 2, transport.sent


@pytest.mark.parametrize("args", [{"open_now": "1"}, {"starts_within": "600"}, {"starts_within": "10080"},
                                  {"open_now": "1", "sort": "soonest"},
                                  {"starts_within": "10080", "sort": "soonest", "page": "3"},
                                  {"starts_within": "2880", "sort": "distance", "near": "2000", "page": "2", "per_page": "5"}],
                         ids=lambda args: "&".join(f"{k}={v}" for k, v in args.items()))
@pytest.mark.parametrize("at", [FIXED_NOW.isoformat()] + TIMES[::5])
def test_exact_bounds_are_counted_by_the_engine(small_pages, demo_listings, gazetteer, monkeypatch, args, at):
    """Without words, the engine counts, facets and orders (soonest: by rank) the listings
    whose times it reads exactly itself (weekly and monthly sessions, 24/7), in a steady week
    and around each clock change (queries.wall_clocks): only the first of its page's order
    come back to be read (a walk reads every match)."""
    backend, transport = small_pages
    read = []
    get = backend._built.get
    monkeypatch.setattr(backend._built, "get", lambda document: read.append(document["id"]) or get(document))
    query = parse_search(MultiDict({**args, "at": at}), gazetteer, FIXED_NOW)
    transport.sent.clear()
    found = backend.search(query)
    expected = reference.search_ids(demo_listings, query)
    first = (query.page - 1) * query.per_page
    assert found.total == len(expected)
    assert [hit.listing.id for hit in found.hits] == expected[first:first + query.per_page]
    # (In the small hours fewer match than a page holds: then the page is all of them.)
    assert len(read) <= min(query.page * query.per_page, len(expected)), len(read)
    # One round trip: the page's search and the walk's of the listings it cannot read (none here).
    assert transport.sent == [("POST", f"/{backend.alias}/_msearch")], transport.sent


@pytest.mark.parametrize("args", [{"open_now": "1"}, {"starts_within": "1440", "sort": "soonest"}, {"sort": "soonest"}],
                         ids=lambda args: "&".join(f"{k}={v}" for k, v in args.items()))
def test_monthly_sessions_of_an_index_without_their_rules_are_walked(demo_listings, gazetteer, monkeypatch, args):
    """An index built before documents held monthly rules (`timetable`, in its mapping and
    its documents): its listings with monthly sessions get only lower bounds and are walked
    and settled, the answers still the reference's."""
    from service.backends.engine import queries
    from tests.conftest import ENGINE_KIND, delete_alias_indices, engine_url
    from service.backends.engine.backend import make_transport

    def older_document(listing):
        return {k: v for k, v in queries.document(listing).items() if k != "timetable"}

    def older_index_body(meta, replicas=0):
        body = index_body(meta, replicas)
        del body["mappings"]["properties"]["timetable"]
        return body

    index_body = queries.index_body
    monkeypatch.setattr(queries, "index_body", older_index_body)

    monthly = {x.id for x in demo_listings if any(s.monthly for s in x.sessions) and not x.open_24_7}
    older = EngineBackend(make_transport(ENGINE_KIND, engine_url()), alias="linkage-test-unruled",
                          document=older_document)
    older.load(demo_listings)
    try:
        walked = older.transport.request("POST", f"/{older.alias}/_search", {
            "query": {"bool": {"must_not": [queries.exact_times([])]}}, "size": 1000, "_source": False})
        assert {hit["_id"] for hit in walked["hits"]["hits"]} == monthly
        for at in (FIXED_NOW.isoformat(), "2026-10-03T02:00:00+00:00", "2026-11-01T01:00:00+00:00"):
            query = parse_search(MultiDict({**args, "at": at}), gazetteer, FIXED_NOW)
            expected = reference.search_ids(demo_listings, query)
            found = older.search(query)
            assert (found.total, [hit.listing.id for hit in found.hits]) == (len(expected), expected[:query.per_page])
    finally:
        delete_alias_indices(older)


def test_documents_that_do_not_say_monthly_are_walked(demo_listings, gazetteer):
    """An index built before documents said whether a listing has monthly sessions: each of
    its listings is walked and settled, even by a worker that takes the index to say it (a
    mapping read before a rollback to that index): the answers stay the reference's."""
    from service.backends.engine import queries
    from tests.conftest import ENGINE_KIND, delete_alias_indices, engine_url
    from service.backends.engine.backend import make_transport

    older = EngineBackend(make_transport(ENGINE_KIND, engine_url()), alias="linkage-test-older",
                          document=lambda listing: {k: v for k, v in queries.document(listing).items() if k != "monthly"})
    older.load(demo_listings)
    try:
        older._zone_names()
        older._zones.monthly = True
        for args in ({"open_now": "1"}, {"starts_within": "600"}, {"starts_within": "2880", "near": "3000"}):
            query = parse_search(MultiDict(args), gazetteer, FIXED_NOW)
            expected = reference.search_ids(demo_listings, query)
            found = older.search(query)
            assert found.total == len(expected)
            assert [hit.listing.id for hit in found.hits] == expected[:query.per_page]
    finally:
        delete_alias_indices(older)


MOMENTS_OF_A_DAY = [FIXED_NOW + timedelta(minutes=minutes, seconds=seconds)
                    for minutes in range(0, 24 * 60, 30) for seconds in (0, 30.5)]


@pytest.mark.parametrize("args", [{"open_now": "1", "sort": "soonest", "per_page": "3"},
                                  {"starts_within": "60", "sort": "soonest", "per_page": "5"}],
                         ids=lambda args: "&".join(f"{k}={v}" for k, v in args.items()))
def test_short_soonest_pages_through_a_day(small_pages, demo_listings, gazetteer, args):
    """The engine's first of a short soonest page hold the page: a session starting this very
    minute ranks 0 as a 24/7 listing does (not -0, which the engine sorts first), and listings
    starting at one instant in zones half an hour apart tie, at moments with seconds too."""
    backend, _ = small_pages
    for at in MOMENTS_OF_A_DAY:
        query = parse_search(MultiDict({**args, "at": at.isoformat()}), gazetteer, FIXED_NOW)
        expected = reference.search_ids(demo_listings, query)
        found = backend.search(query)
        assert (found.total, [hit.listing.id for hit in found.hits]) == (len(expected), expected[:query.per_page]), at


def test_edges_of_exact_times_the_demo_data_lacks(demo_listings, gazetteer):
    """tests/edge_sessions.py's cases on a node give the reference's totals and pages."""
    from tests.conftest import ENGINE_KIND, delete_alias_indices, engine_url
    from service.backends.engine.backend import make_transport

    listings = edge_sessions.edge_listings(demo_listings)
    edges = EngineBackend(make_transport(ENGINE_KIND, engine_url()), alias="linkage-test-edges")
    edges.load(listings)
    try:
        edge_sessions.check_cases(edges, listings, gazetteer)
    finally:
        delete_alias_indices(edges)


def test_an_error_answer_among_searches_sent_together_is_raised(engine_backend):
    """`_msearch` answers 200 with an error in place of a failed search's answer: it is raised
    as that search's own would be (a malformed script: 400, EngineError), not read as no hits."""
    from service.backends.engine.backend import EngineError

    good = {"query": {"match_all": {}}, "size": 1}
    broken = {"query": {"script": {"script": {"source": "return doc['id'].value +;"}}}, "size": 1}
    first, second = engine_backend._search_together(good, good)
    assert first["hits"]["hits"] and second["hits"]["hits"]
    with pytest.raises(EngineError) as raised:
        engine_backend._search_together(good, broken)
    assert raised.value.status == 400


def _every_id(backend, query) -> list[str]:
    """Every match's id, in the backend's order, page by page."""
    ids, page = [], 1
    while True:
        found = backend.search(replace(query, page=page, per_page=50))
        ids += [hit.listing.id for hit in found.hits]
        if len(ids) >= found.total or not found.hits:
            return ids
        page += 1


@pytest.mark.parametrize("args", [{"q": "smart", "open_now": "1"}, {"q": "family", "starts_within": "600"},
                                  {"q": "meeting", "starts_within": "1440", "near": "2000"},
                                  {"q": "smart", "starts_within": "10080", "sort": "soonest"},
                                  {"q": "family", "starts_within": "2880", "sort": "distance", "near": "3000"}],
                         ids=lambda args: "&".join(f"{k}={v}" for k, v in args.items()))
@pytest.mark.parametrize("at", [FIXED_NOW.isoformat()] + TIMES[::7])
def test_words_with_time_filters_in_one_round_trip(small_pages, demo_listings, gazetteer, args, at):
    """A time filter only takes listings out: words and a time filter give the listings the
    same words give without it (the engine's own text matching and, in best order, its
    scores), those that pass the filter by the reference's calendar, in the order the words
    alone give them (soonest: the reference's own order); in one round trip."""
    backend, transport = small_pages
    query = parse_search(MultiDict({**args, "at": at}), gazetteer, FIXED_NOW)
    worded = _every_id(backend, replace(query, open_now=False, starts_within=None, sort="best"))
    timed_ids = reference.search_ids(demo_listings, replace(query, text=None))
    in_time, matching = set(timed_ids), set(worded)
    order = timed_ids if query.sort != "best" else worded
    expected = [i for i in order if i in in_time and i in matching]
    transport.sent.clear()
    found = backend.search(query)
    assert (found.total, [hit.listing.id for hit in found.hits]) == (len(expected), expected[:query.per_page])
    assert transport.sent == [("POST", f"/{backend.alias}/_msearch")], transport.sent
