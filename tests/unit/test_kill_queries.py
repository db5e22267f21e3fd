"""Engine request bodies written out by hand, whole: the index's settings and mappings, the
indexed document, filters, reach, text, nearness scoring, sorts, facets and the soonest walk.

The engine layer checks what these bodies find on a real node; these tests pin each body so
a change to one is seen without a node. Numbers are worked by hand: Sydney's town hall at
-33.8731, 151.2065; a Monday 19:00 session is minute 1140 of the week and packs as
1140 * 10000 + its duration; an online option counts as if 8 km away, which the Gaussian
(full weight to 1 km, half at 11 km) weighs 0.5 ** ((8 - 1) / 10) ** 2. Thursday 26 November
2026 08:00 UTC is 19:00 in Sydney (minute 3 * 1440 + 1140 = 5460) and 16:00 in Perth (5280),
with no clock change in either zone within a day before and eight days after.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from service.backends.engine import queries
from service.domain.models import Contact, FirstVisit, Listing, Location, Place, SearchQuery, Session, Source
from service.domain.schemas import dump_listing

AT = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
SYDNEY = Place(query="2000", name="Sydney", lat=-33.8731, lon=151.2065, state="NSW", country="AU")
ORIGIN = {"lat": -33.8731, "lon": 151.2065}
FIELDS = ["name^4", "program^2", "description^1", "terms^1"]
NEAR_10 = {"geo_distance": {"distance": "10.0km", "distance_type": "arc", "location": ORIGIN}}
COVERED = {"bool": {"filter": [{"term": {"remote": True}}, {"terms": {"service_area": ["AU", "NSW"]}}]}}
GEO_SORT = {"_geo_distance": {"location": ORIGIN, "order": "asc", "unit": "km", "distance_type": "arc"}}
FACETS = {
    "format": {"terms": {"field": "formats", "size": 3}},
    "goal": {"terms": {"field": "goals", "size": 3}},
    "kind": {"terms": {"field": "kind", "size": 3}},
    "approach": {"terms": {"field": "approach", "size": 6}},
}
REMOTE_WEIGHT = 0.5 ** (((8 - 1) / 10) ** 2)


def tier(*first: str) -> dict:
    """The audience-tier sort putting listings for `first` ahead."""
    return {"_script": {"type": "number", "order": "asc", "script": {
        "source": "for (def a : doc['audiences']) { if (params.first.contains(a)) { return 0; } } return 1;",
        "params": {"first": list(first)},
    }}}


def listing(**more) -> Listing:
    """A listing written for these tests, with `more` fields replaced."""
    fields = dict(
        id="test:q", kind="group", name="Harbour Group", description="Weekly meetings.", program="SMART Recovery",
        approach="self_management", goals=("abstinence", "moderation"), substances=("alcohol",),
        formats=("in_person", "online"), audiences=("everyone",), facilitation=None, languages=("en",),
        location=Location(address="1 Test Street", locality="Sydney", state="NSW", postcode="2000",
                          country="AU", lat=-33.8731, lon=151.2065),
        service_area=("NSW",), timezone="Australia/Sydney",
        sessions=(Session("wed", "07:30", "08:00"), Session("mon", "19:00", "20:30"),
                  Session("sat", "10:00", "11:00", "first")),
        open_24_7=False, contact=Contact(conference_url="https://example.org/meet"),
        registration_required=False, open_meeting=True, cost="free", referral="self", accessibility=(),
        first_visit=FirstVisit(), source=Source(name="Test feed"), updated_at="2026-11-01",
        verified_at="2026-11-01", status="active",
    )
    fields.update(more)
    return Listing(**fields)


def test_index_settings_and_mappings():
    body = queries.index_body({"format": 3}, replicas=1)
    synonyms = body["settings"]["analysis"]["filter"]["substance_synonyms"]
    assert "ice => ice, methamphetamine" in synonyms["synonyms"]
    assert all(" " not in rule.split(" => ")[0] for rule in synonyms["synonyms"])
    text = {"type": "text", "analyzer": "listing_text", "search_analyzer": "listing_search"}
    # How time of day is stored is left to the time-of-day tests.
    body["mappings"]["properties"].pop("slots", None)
    assert body == {
        "settings": {
            "number_of_shards": 1,
            "number_of_replicas": 1,
            "analysis": {
                "filter": {"substance_synonyms": {"type": "synonym_graph", "synonyms": synonyms["synonyms"]}},
                "analyzer": {
                    "listing_text": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
                    "listing_search": {"tokenizer": "standard",
                                       "filter": ["lowercase", "asciifolding", "substance_synonyms"]},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"format": 3},
            "properties": {
                "name": text, "program": text, "description": text, "terms": text,
                "id": {"type": "keyword"}, "kind": {"type": "keyword"}, "approach": {"type": "keyword"},
                "formats": {"type": "keyword"}, "goals": {"type": "keyword"},
                "substances": {"type": "keyword"}, "audiences": {"type": "keyword"},
                "languages": {"type": "keyword"}, "service_area": {"type": "keyword"},
                "days": {"type": "keyword"}, "timezone": {"type": "keyword"},
                "location": {"type": "geo_point"},
                "remote": {"type": "boolean"}, "open_24_7": {"type": "boolean"}, "monthly": {"type": "boolean"},
                "active": {"type": "boolean"},
                "sessions": {"type": "long"}, "timetable": {"type": "long"},
                "doc": {"type": "object", "enabled": False},
            },
        },
    }
    assert queries.index_body({})["settings"]["number_of_replicas"] == 0


def test_the_indexed_document():
    item = listing()
    document = queries.document(item)
    terms = document.pop("terms")
    document.pop("slots", None)  # left to the time-of-day tests
    assert "Sydney" in terms and "NSW" in terms and "alcohol" in terms
    assert document == {
        "id": "test:q", "name": "Harbour Group", "program": "SMART Recovery", "description": "Weekly meetings.",
        "kind": "group", "approach": "self_management", "formats": ["in_person", "online"],
        "goals": ["abstinence", "moderation"], "substances": ["alcohol"], "audiences": ["everyone"],
        "languages": ["en"], "service_area": ["NSW"],
        "days": ["mon", "sat", "wed"],
        "timezone": "Australia/Sydney",
        "location": {"lat": -33.8731, "lon": 151.2065},
        "remote": True, "open_24_7": False, "active": True,
        "monthly": True,  # the first Saturday's session
        # Mon 19:00 for 90 min; Wed 07:30 (2 * 1440 + 450) for 30; Sat 10:00 (5 * 1440 + 600) for 60.
        "sessions": [1140 * 10000 + 90, 3330 * 10000 + 30, 7800 * 10000 + 60],
        # The same, times 8, plus the monthly rule: 0 weekly, 1 "first".
        "timetable": [(1140 * 10000 + 90) * 8, (3330 * 10000 + 30) * 8, (7800 * 10000 + 60) * 8 + 1],
        "doc": dump_listing(item),
    }


def test_a_document_without_place_program_or_activity():
    document = queries.document(listing(location=None, program=None, status="inactive", formats=("in_person",),
                                        sessions=(), open_24_7=True))
    assert (document["location"], document["program"], document["active"], document["remote"]) == (None, "", False, False)
    assert (document["days"], document["sessions"], document["open_24_7"], document["monthly"]) == ([], [], True, False)
    weekly = queries.document(listing(sessions=(Session("mon", "19:00", "20:30"),)))
    assert weekly["monthly"] is False


def test_every_filter_together():
    query = SearchQuery(at=AT, place=SYDNEY, radius_km=10.0, formats=("online", "in_person"),
                        goals=("undecided", "moderation"), substances=("alcohol",), kinds=("group",),
                        approaches=("secular_peer",), audiences=("women",), languages=("en",), days=("mon",))
    assert queries.filter_clauses(query) == [
        {"term": {"active": True}},
        {"terms": {"formats": ["in_person", "online"]}},
        {"terms": {"goals": ["moderation"]}},
        {"terms": {"audiences": ["everyone", "women"]}},
        {"terms": {"kind": ["group"]}},
        {"terms": {"approach": ["secular_peer"]}},
        {"terms": {"languages": ["en"]}},
        {"terms": {"days": ["mon"]}},
        {"terms": {"substances": ["alcohol", "any"]}},
        {"bool": {"should": [NEAR_10, COVERED], "minimum_should_match": 1}},
    ]


def test_reach_in_person_only_and_without_a_place():
    in_person = SearchQuery(at=AT, place=SYDNEY, radius_km=10.0, formats=("in_person",))
    assert queries.coverage_clause(in_person) is None
    assert queries.reach_clause(in_person) == NEAR_10
    assert queries.filter_clauses(in_person)[-1] == NEAR_10
    assert queries.reach_clause(SearchQuery(at=AT)) is None
    assert queries.coverage_clause(SearchQuery(at=AT)) is None
    assert queries.filter_clauses(SearchQuery(at=AT)) == [{"term": {"active": True}}]
    abroad = Place(query="x", name="Somewhere", lat=0.0, lon=0.0, state=None, country="NZ")
    assert queries.coverage_clause(SearchQuery(at=AT, place=abroad)) == {"bool": {"filter": [
        {"term": {"remote": True}}, {"terms": {"service_area": ["NZ"]}}]}}


def test_text_every_word_and_a_prefix_for_the_last():
    prefixes = [{"prefix": {"name": {"value": "rec", "boost": 4.0}}},
                {"prefix": {"program": {"value": "rec", "boost": 2.0}}},
                {"prefix": {"description": {"value": "rec", "boost": 1.0}}},
                {"prefix": {"terms": {"value": "rec", "boost": 1.0}}}]
    assert queries.text_clauses(SearchQuery(at=AT, text="Smart rec")) == [
        {"multi_match": {"query": "smart", "fields": FIELDS}},
        {"bool": {"should": [{"multi_match": {"query": "rec", "fields": FIELDS}}, *prefixes],
                  "minimum_should_match": 1}},
    ]
    # Two letters are too short for a prefix; only the last word gets one.
    assert queries.text_clauses(SearchQuery(at=AT, text="aa")) == [{"multi_match": {"query": "aa", "fields": FIELDS}}]
    assert queries.text_clauses(SearchQuery(at=AT, text="ice aa")) == [
        {"multi_match": {"query": "ice", "fields": FIELDS}}, {"multi_match": {"query": "aa", "fields": FIELDS}}]
    assert queries.base_query(SearchQuery(at=AT, text="aa")) == {"bool": {
        "filter": [{"term": {"active": True}}], "must": [{"multi_match": {"query": "aa", "fields": FIELDS}}]}}
    assert queries.base_query(SearchQuery(at=AT)) == {"bool": {"filter": [{"term": {"active": True}}]}}


GAUSS = {"filter": {"exists": {"field": "location"}}, "gauss": {"location": {
    "origin": ORIGIN, "offset": "1.0km", "scale": "10.0km", "decay": 0.5}, "multi_value_mode": "min"}}


def test_best_with_a_place_and_words():
    query = SearchQuery(at=AT, place=SYDNEY, radius_km=10.0, text="aa")
    functions = queries.nearness_functions(query)
    assert functions[0] == GAUSS
    assert functions[1]["filter"] == COVERED and math.isclose(functions[1]["weight"], REMOTE_WEIGHT, rel_tol=1e-12)
    assert functions[2:] == [{"weight": 1e-9}]
    assert queries.best_query(query) == {"function_score": {
        "query": {"script_score": {
            "query": {"bool": {"filter": queries.filter_clauses(query),
                               "must": [{"multi_match": {"query": "aa", "fields": FIELDS}}]}},
            "script": {"source": "1 + params.w * _score / (_score + 1)", "params": {"w": 1.0}},
        }},
        "functions": functions,
        "score_mode": "max",
        "boost_mode": "multiply",
    }}


def test_best_without_words_or_without_a_place():
    in_person = SearchQuery(at=AT, place=SYDNEY, radius_km=10.0, formats=("in_person",))
    assert queries.nearness_functions(in_person) == [GAUSS, {"weight": 1e-9}]
    assert queries.best_query(in_person) == {"function_score": {
        "query": {"bool": {"filter": [{"term": {"active": True}}, {"terms": {"formats": ["in_person"]}}, NEAR_10]}},
        "functions": [GAUSS, {"weight": 1e-9}], "score_mode": "max", "boost_mode": "replace"}}
    assert queries.nearness_functions(SearchQuery(at=AT)) == []
    assert queries.best_query(SearchQuery(at=AT)) == {"bool": {"filter": [{"term": {"active": True}}]}}


def test_sorts():
    near = SearchQuery(at=AT, place=SYDNEY, sort="distance")
    assert queries.distance_sort(near) == GEO_SORT
    assert queries.sort_clause(near) == [tier("everyone"), GEO_SORT, {"id": "asc"}]
    best = SearchQuery(at=AT, place=SYDNEY)
    assert queries.sort_clause(best) == [tier("everyone"), "_score", GEO_SORT, {"id": "asc"}]
    assert queries.sort_clause(SearchQuery(at=AT, sort="distance")) == [tier("everyone"), "_score", {"id": "asc"}]
    assert queries.tier_sort(SearchQuery(at=AT, audiences=("women", "lgbtiq"))) == tier("lgbtiq", "women")


def test_page_and_count_bodies():
    query = SearchQuery(at=AT, place=SYDNEY, radius_km=10.0, sort="distance", page=3, per_page=10)
    assert queries.facet_aggs() == FACETS
    assert queries.page_body(query) == {
        "query": {"bool": {"filter": queries.filter_clauses(query)}},
        "sort": [tier("everyone"), GEO_SORT, {"id": "asc"}],
        "from": 20, "size": 10, "track_total_hits": True, "track_scores": True,
        "aggs": FACETS, "_source": ["doc"],
    }
    best = SearchQuery(at=AT, place=SYDNEY, radius_km=10.0)
    assert queries.page_body(best)["query"] == queries.best_query(best)
    assert queries.page_body(best)["from"] == 0
    assert queries.count_body(best) == {"query": {"bool": {"filter": queries.filter_clauses(best)}},
                                        "size": 0, "track_total_hits": True, "aggs": FACETS}


def test_facets_from_an_aggregations_answer():
    facets = queries.facets_from_aggs({
        "format": {"buckets": [{"key": "online", "doc_count": 4}, {"key": "carrier_pigeon", "doc_count": 9}]},
        "goal": {"buckets": [{"key": "moderation", "doc_count": 2}]},
    })
    assert facets == {
        "format": {"in_person": 0, "online": 4, "phone": 0},
        "goal": {"abstinence": 0, "moderation": 2, "harm_reduction": 0},
        "kind": {"group": 0, "service": 0, "helpline": 0},
        "approach": {"self_management": 0, "twelve_step": 0, "secular_peer": 0, "buddhist": 0,
                     "clinical": 0, "harm_reduction": 0},
    }


# Thursday 26 November 2026 in both zones: which monthly rules fall on each local day from
# eight days before to 36 after (bits: 2 first, 4 second, 8 third, 16 fourth, 32 last).
# November has 30 days: the 22nd-28th are its fourth week, the 24th-30th its last seven days.
MONTH_DAYS = ([8] * 4 + [16] * 2 + [16 + 32] * 5 + [32] * 2  # 18-30 November
              + [2] * 7 + [4] * 7 + [8] * 7 + [16] * 3 + [16 + 32] * 4 + [32] * 3  # December
              + [2])  # 1 January 2027
PARAMS = {
    "now": {"Australia/Perth": 5280, "Australia/Sydney": 5460}, "fraction": 0.0,
    "days": {"Australia/Perth": MONTH_DAYS, "Australia/Sydney": MONTH_DAYS}, "firstDay": -8, "rules": 8,
    "shift": {"Australia/Perth": [0, 0, 0], "Australia/Sydney": [0, 0, 0]}, "slack": {},
    "week": 7 * 24 * 60, "pack": 10000, "unscheduled": 10**9, "ending": 30, "endingRank": 120.5,
}


def test_bound_params_keep_the_minute_whole_and_the_seconds_apart():
    """Whole local minutes per zone and the seconds once (as minutes): 45.5 s is 0.7583... of
    a minute in every zone."""
    query = SearchQuery(at=AT + timedelta(seconds=45, microseconds=500_000))
    params = queries.lower_bound_params(query, ["Australia/Sydney", "Australia/Perth"])
    assert params["now"] == PARAMS["now"]
    assert all(type(minute) is int for minute in params["now"].values())
    assert params["fraction"] == 45.5 / 60


def test_the_soonest_walk_bodies():
    query = SearchQuery(at=AT, sort="soonest", starts_within=90)
    zones = ["Australia/Sydney", "Australia/Perth"]
    assert queries.lower_bound_params(query, zones) == PARAMS
    timed = queries.timed_body(query, zones, 90.5, 50, after=[0, 12.0, "test:x"])
    assert timed == {
        "query": {"bool": {"filter": [{"term": {"active": True}}, {"script": {"script": {
            "source": queries._LOWER_BOUND + "return lowerBound(doc, params, false) <= params.limit;",
            "params": {**PARAMS, "limit": 90}}}}]}},
        "sort": [tier("everyone"),
                 {"_script": {"type": "number", "order": "asc", "script": {
                     "source": queries._LOWER_BOUND + "return lowerBound(doc, params, false);", "params": PARAMS}}},
                 {"id": "asc"}],
        "size": 50, "track_total_hits": False, "track_scores": True, "_source": ["doc"],
        "search_after": [0, 12.0, "test:x"],
    }
    walk = queries.timed_body(query, zones, None, 64)
    assert walk == {
        "query": {"bool": {"filter": [{"term": {"active": True}}]}},
        "sort": [tier("everyone"),
                 {"_script": {"type": "number", "order": "asc", "script": {
                     "source": queries._LOWER_BOUND + "return lowerBound(doc, params, true);", "params": PARAMS}}},
                 {"id": "asc"}],
        "size": 64, "track_total_hits": False, "track_scores": True, "_source": ["doc"],
    }


def test_a_distance_sorted_page_with_a_time_of_day_reads_each_zone_on_the_searchers_clock():
    from dataclasses import replace

    query = SearchQuery(at=AT, place=replace(SYDNEY, timezone="Australia/Sydney"), sort="distance",
                        times=("evening",))
    body = queries.page_body(query, zones=("Australia/Perth", "Australia/Sydney"))

    def scripts(node):
        if isinstance(node, dict):
            if "script" in node and isinstance(node["script"], dict) and "params" in node["script"]:
                yield node["script"]["params"]
            for value in node.values():
                yield from scripts(value)
        elif isinstance(node, list):
            for value in node:
                yield from scripts(value)

    shift = next(params["shift"] for params in scripts(body["query"]) if "shift" in params)
    assert set(shift) == {"Australia/Perth", "Australia/Sydney"}
    # On 26 November Perth keeps UTC+8 and Sydney daylight time UTC+11: three hours apart.
    assert shift["Australia/Perth"] - shift["Australia/Sydney"] == 180


def test_the_bulk_text_is_the_indexed_document(demo_listings):
    """What a bulk load sends, read back as JSON, is `document` itself, for the listing above
    and every demo listing; and the listing's part is the very text the index stores."""
    import json

    from service.domain.schemas import listing_document

    for item in [listing(), *demo_listings]:
        text = queries.document_json(item)
        assert json.loads(text) == queries.document(item)
        assert text.endswith(',"doc":' + listing_document(item) + "}")
