"""SQLite and the engine give the same answers to the same queries on the same data.

Totals and facets must match for every query. For sort=distance and sort=soonest, and for
sort=best without words, the first page must match id for id: both stores use the same
distance (great circle), the same Gaussian nearness and the same tie-breaks (nearer, then
id). With words, sort=best blends in text relevance, which each store computes its own
way (SQLite FTS5's bm25 and the engine's BM25 differ in their statistics and field
normalisation), so two listings may swap places; there the full sets of ids must match.

Each case searches at its own moment, taken in turn from around every 2026 clock change
in the zones the demo data uses (Lord Howe's half hour included): half an hour before,
inside the missing or repeated hour, and after it. Without words, both stores must also
give the reference's answer (tests/reference.py). Generated combinations of filters are in
test_parity_properties.py.
"""

import itertools
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from service.search.params import parse_search
from tests import oracle_time, reference
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.engine

PLACES = ["2000", "3000", "4000", "5000", "6000", "7000", "0800", "2600", "Parramatta NSW",
          "Richmond TAS", "2880", "-33.81,151.00", "Alice Springs"]
FILTERS = [
    {}, {"goal": "moderation"}, {"format": "online"}, {"format": "in_person", "goal": "abstinence"},
    {"kind": "service"}, {"substance": "ice"}, {"audience": "family_friends"},
    {"approach": "twelve_step,secular_peer"}, {"day": "sat"}, {"radius_km": "100"},
    {"starts_within": "120"}, {"open_now": "1"}, {"language": "vi"}, {"q": "smart"},
    {"q": "family"}, {"goal": "harm_reduction", "format": "phone"},
    {"time": "evening"}, {"day": "sat,sun", "time": "morning,afternoon"}, {"tonight": "1"},
    {"q": "my son uses ice"}, {"audience": "women,young_people"}, {"q": "smart for women", "goal": "moderation"},
    {"q": "smart", "open_now": "1"}, {"q": "smart", "starts_within": "600"},
    # Three and more filters at once.
    {"goal": "moderation", "format": "online,in_person", "starts_within": "240", "radius_km": "100"},
    {"kind": "group", "approach": "self_management", "day": "sun,mon", "open_now": "1", "radius_km": "200"},
    {"substance": "alcohol", "audience": "family_friends", "time": "evening", "format": "in_person"},
    {"goal": "abstinence", "kind": "group", "tonight": "1", "audience": "women", "radius_km": "100"},
]
# The zones of the demo listings; Brisbane, Darwin and Perth keep one offset, and are
# searched on the nights the others change.
DEMO_ZONES = ["Australia/Sydney", "Australia/Melbourne", "Australia/Hobart", "Australia/Adelaide",
              "Australia/Broken_Hill", "Australia/Lord_Howe", "Australia/Brisbane", "Australia/Darwin",
              "Australia/Perth"]
CHANGES = sorted({c for zone in DEMO_ZONES for c in oracle_time.transitions(zone, 2026)})
# Around each change: half an hour before, inside the missing or repeated hour (10 and 40
# minutes after), and 70 minutes after; then a steady Thursday evening.
TIMES = list(dict.fromkeys((change + timedelta(minutes=m)).isoformat() for change in CHANGES for m in (-30, 10, 40, 70)))
TIMES.append(FIXED_NOW.isoformat())


def queries():
    """At least 50 varied queries: every place and filter, each at its own moment in turn."""
    cases = []
    moments = itertools.cycle(TIMES)
    for i, (place, filters) in enumerate(itertools.product(PLACES, FILTERS)):
        if i % 3:
            continue  # a third of the grid keeps the run short and still covers every pair of axes
        cases.append({"near": place, **filters, "at": next(moments)})
    cases += [{"q": "meth", "at": TIMES[0]}, {"kind": "helpline", "at": TIMES[1]}, {"at": TIMES[2]},
              # Each new parameter at least once around every change, daylight-saving nights included.
              *({"near": "2000", "tonight": "1", "at": t} for t in TIMES[::4]),
              *({"near": "Parramatta NSW", "time": "evening", "day": "thu,fri", "at": t} for t in TIMES[1::4]),
              *({"near": "3550", "audience": "family_friends", "at": t} for t in TIMES[2::4]),
              *({"near": "3000", "radius_km": "100", "open_now": "1", "at": t} for t in TIMES[1::4]),
              # Parts of the day on the searcher's clock: the place's zone, the viewer's, or each
              # listing's own; opening hours by overlap; 24/7 in every part.
              *({"near": near, "time": part, "kind": "helpline,service", "at": t}
                for near, part, t in zip(itertools.cycle(["6000", "2150", "7000", "0800", "2898"]),
                                         itertools.cycle(["evening", "morning", "afternoon"]), TIMES[::3])),
              *({"tz": zone, "time": "evening", "format": "online,phone", "at": t}
                for zone, t in zip(itertools.cycle(["Australia/Perth", "Australia/Lord_Howe", "Pacific/Auckland"]),
                                   TIMES[2::5])),
              {"near": "6000", "day": "mon", "time": "evening", "format": "online", "at": TIMES[3]},
              {"time": "evening,morning", "day": "sun", "at": FIXED_NOW.isoformat()},
              # Substance focus in best order, with and without a place.
              {"near": "2150", "substance": "methamphetamine", "at": TIMES[4]},
              {"near": "2150", "audience": "family_friends", "substance": "alcohol", "at": TIMES[5]},
              {"substance": "alcohol,any", "format": "online", "at": TIMES[6]},
              {"near": "4000", "substance": "cannabis", "q": "clinic", "at": TIMES[7]}]
    return cases


CASES = queries()


def test_there_are_enough_cases():
    assert len(CASES) >= 50
    assert len({case["at"] for case in CASES}) == len(TIMES)
    assert sum(len(set(case) - {"near", "at"}) > 2 for case in CASES) >= 5
    # Lord Howe changes by half an hour, at instants no other zone uses.
    assert set(oracle_time.transitions("Australia/Lord_Howe", 2026)) <= set(CHANGES)


def search(app, args):
    response = app.test_client().get("/v1/search", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


@pytest.fixture(scope="module")
def apps(sqlite_backend, engine_backend, gazetteer):
    from service import create_app

    return [create_app({"api_rate_limit": "1000000/minute"}, backend=b, geocoder=gazetteer, clock=lambda: FIXED_NOW)
            for b in (sqlite_backend, engine_backend)]


def all_ids(app, args, total):
    ids = []
    for page in range(1, total // 50 + 2):
        ids += [i["id"] for i in search(app, {**args, "per_page": "50", "page": str(page)})["items"]]
    return ids


@pytest.mark.parametrize("args", CASES, ids=lambda a: "&".join(f"{k}={v}" for k, v in a.items() if k != "at"))
@pytest.mark.parametrize("sort", ["distance", "soonest", "best"])
def test_same_answers(apps, demo_listings, gazetteer, args, sort):
    embedded, engine = (search(app, {**args, "sort": sort, "per_page": "20"}) for app in apps)
    assert embedded["total"] == engine["total"]
    assert embedded["facets"] == engine["facets"]
    assert embedded["warnings"] == engine["warnings"]
    first = [i["id"] for i in embedded["items"]]
    second = [i["id"] for i in engine["items"]]
    if embedded["query"]["sort"] == "best" and "q" in args:  # sort=distance without a place is best
        assert sorted(all_ids(apps[0], {**args, "sort": sort}, embedded["total"])) == \
            sorted(all_ids(apps[1], {**args, "sort": sort}, engine["total"]))
    else:
        assert first == second
        # Same listings, same computed fields.
        for a, b in zip(embedded["items"], engine["items"]):
            assert a == b
    query = parse_search(MultiDict({**args, "sort": sort, "per_page": "20"}), gazetteer, FIXED_NOW)
    if query.text is None:  # the reference does not restate text relevance
        expected = reference.search_ids(demo_listings, query)
        assert embedded["total"] == len(expected)
        assert first == expected[:20]
