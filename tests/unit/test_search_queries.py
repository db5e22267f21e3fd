"""Engine request bodies for audiences and time of day, written out by hand; the filter
specification both stores compile from."""

import dataclasses
from datetime import datetime, timezone

from service.backends import filters
from service.backends.engine import queries
from service.domain.models import Place, SearchQuery

AT = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


def test_an_audience_keeps_listings_for_everyone_and_ranks_its_own_first():
    query = SearchQuery(at=AT, audiences=("women", "family_friends"), sort="distance")
    assert {"terms": {"audiences": ["everyone", "family_friends", "women"]}} in queries.filter_clauses(query)
    assert queries.sort_clause(query)[0] == {"_script": {"type": "number", "order": "asc", "script": {
        "source": "for (def a : doc['audiences']) { if (params.first.contains(a)) { return 0; } } return 1;",
        "params": {"first": ["family_friends", "women"]},
    }}}


def test_without_an_audience_nothing_is_left_out_and_everyone_ranks_first():
    query = SearchQuery(at=AT)
    assert not any("audiences" in str(clause) for clause in queries.filter_clauses(query))
    sort = queries.sort_clause(query)
    assert sort[0]["_script"]["script"]["params"] == {"first": ["everyone"]}
    assert sort[1:] == ["_score", {"id": "asc"}]


def test_time_with_days_filters_by_windows_on_the_search_clock_not_days():
    perth = Place(query="6000", name="Perth", lat=-31.95, lon=115.86, state="WA", timezone="Australia/Perth")
    query = SearchQuery(at=AT, place=perth, days=("sat", "sun"), times=("morning",))
    clauses = queries.filter_clauses(query, ["Australia/Hobart", "Australia/Perth"])
    script = next(c["script"]["script"] for c in clauses if "script" in c)
    # Saturday is day 5 (7200 minutes in), Sunday day 6 (8640); morning is 05:00-12:00.
    # Hobart is UTC+11 in November and Perth UTC+8: Hobart's wall clock reads 180 minutes on.
    assert script["params"] == {"shift": {"Australia/Hobart": -180, "Australia/Perth": 0},
                                "windows": [[7500, 7920], [8940, 9360]], "week": 10080, "pack": 10_000}
    assert not any("days" in clause.get("terms", {}) for clause in clauses)
    assert not any("slots" in str(clause) for clause in clauses)
    assert {"terms": {"days": ["sat"]}} in queries.filter_clauses(SearchQuery(at=AT, days=("sat",)))


def test_the_walk_sorts_by_tier_then_rank_bound_and_a_time_filter_uses_the_start_bound():
    query = SearchQuery(at=AT, sort="soonest", starts_within=60)
    body = queries.timed_body(query, ["Australia/Sydney"], 120, 500)
    assert body["sort"][0] == queries.tier_sort(query)
    assert body["sort"][1]["_script"]["script"]["source"].endswith("return lowerBound(doc, params, false);")
    assert body["sort"][2] == {"id": "asc"}
    walk = queries.timed_body(query, ["Australia/Sydney"], None, 64)
    assert walk["sort"][1]["_script"]["script"]["source"].endswith("return lowerBound(doc, params, true);")
    assert len(walk["query"]["bool"]["filter"]) == len(body["query"]["bool"]["filter"]) - 1
    script = body["query"]["bool"]["filter"][-1]["script"]["script"]
    assert script["source"].endswith("return lowerBound(doc, params, false) <= params.limit;")
    assert script["params"]["limit"] == 120
    assert script["params"]["ending"] == 30 and script["params"]["endingRank"] == 120.5
    # No clock change in late November: the wall clock is read as it is, with no slack.
    assert script["params"]["shift"] == {"Australia/Sydney": [0, 0, 0]} and script["params"]["slack"] == {}


def test_every_query_field_is_a_filter_or_said_not_to_be():
    # A new SearchQuery field is either a filter (one entry in filters.FILTERS) or named here.
    not_filters = {"text",  # scored text: words and each store's text index
                   "open_now", "starts_within",  # exact session times: backends.timed
                   "tonight", "sort", "page", "per_page", "warnings"}
    read = {name for spec in filters.FILTERS for name in spec.reads}
    fields = {field.name for field in dataclasses.fields(SearchQuery)}
    assert read <= fields | {"filter_goals"}
    assert fields - read == not_filters
    assert [spec.parameter for spec in filters.FILTERS if spec.parameter] == [
        "format", "goal", "audience", "kind", "approach", "language", "day", "substance", "time", "near"]


def test_the_engine_compiles_every_filter_rule_in_the_specification_order():
    assert set(queries.CLAUSES) == set(filters.RULES) >= {spec.rule for spec in filters.FILTERS}
    perth = Place(query="6000", name="Perth", lat=-31.95, lon=115.86, state="WA", timezone="Australia/Perth")
    query = SearchQuery(at=AT, place=perth, formats=("online",), goals=("abstinence",), audiences=("men",),
                        kinds=("group",), approaches=("clinical",), languages=("en",), days=("mon",),
                        substances=("opioids",), times=("evening",))
    clauses = queries.filter_clauses(query, ["Australia/Perth"])
    fields = [next(iter(c.get("term") or c.get("terms") or {"script": 0})) if "bool" not in c else "reach"
              for c in clauses]
    # Days are left to `time` when it is asked.
    assert fields == ["active", "formats", "goals", "audiences", "kind", "approach", "languages", "substances",
                      "script", "reach"]


def test_a_filter_asks_its_values_with_the_ones_that_always_pass():
    audience = next(spec for spec in filters.FILTERS if spec.parameter == "audience")
    assert audience.asked(SearchQuery(at=AT, audiences=("women",))) == ("women", "everyone")
    assert audience.asked(SearchQuery(at=AT)) == ()
    day = next(spec for spec in filters.FILTERS if spec.parameter == "day")
    assert day.asked(SearchQuery(at=AT, days=("sat",))) == ("sat",)
    assert day.asked(SearchQuery(at=AT, days=("sat",), times=("morning",))) == ()
    goal = next(spec for spec in filters.FILTERS if spec.parameter == "goal")
    assert goal.asked(SearchQuery(at=AT, goals=("undecided",))) == ()
