"""Request bodies for Elasticsearch and OpenSearch, built by small pure functions.

Both engines speak the same query DSL for everything used here, so one set of builders
serves both; only client construction differs (see `backend.py`). Each builder takes the
SearchQuery and returns a clause or None. The filters are compiled from `filters.FILTERS`,
as the SQLite backend's are; text weights live in `TEXT_FIELDS` and ranking weights in
`ordering.RANKING`, shared with the SQLite backend so both rank alike.
"""

from __future__ import annotations

import math
from datetime import date, timedelta, timezone
from functools import lru_cache

import orjson

from service.domain.facets import empty_facets
from service.domain import ordering

from service.domain import schedule

from service.domain import vocab
from service.domain.models import Listing, SearchQuery
from service.domain.schemas import dump_listing, listing_document
from service.backends import filters
from service.backends.filters import Filter, coverage_areas, is_remote
from service.backends.time_of_day import time_windows, zone_shifts
from service.backends.timed import UNSCHEDULED
from service.backends.words import listing_terms, query_words

# Text fields and their weights: the same as the SQLite backend's bm25 column weights.
TEXT_FIELDS = {"name": 4.0, "program": 2.0, "description": 1.0, "terms": 1.0}
# Sessions are packed as start_minute_of_week * PACK + duration, so one sorted array of
# numbers keeps each start with its own duration.
PACK = 10_000
# The timetable field packs a session as its `sessions` number * RULES + its monthly rule's
# place in RULE_CODES (0: weekly), so the script can place monthly sessions too.
RULE_CODES = (None, *vocab.MONTHLY_RULES)
RULES = 8
# Local days, from `at`'s, on which the script may find a monthly session's last or next
# start (a day's margin each way): a week back (one still running) to five weeks on (the
# next "first Saturday" can be four weeks after this week's: 3 October, 7 November 2026).
MONTH_DAYS = range(-8, 37)

# Only single words get synonyms, as in the SQLite backend's query expansion; the
# original word is kept ("ice => ice, methamphetamine") so both backends match alike.
SYNONYM_RULES = sorted(
    f"{word} => {word}, {target.replace('_', ' ')}"
    for word, target in vocab.SUBSTANCE_SYNONYMS.items()
    if " " not in word
)


def index_body(meta: dict, replicas: int = 0) -> dict:
    """Settings and mappings for a new listings index (replicas: 1 on a 3-node cluster)."""
    return {
        "settings": {
            # One shard: BM25 statistics, and so text scores, are then the same on any
            # cluster size; the whole directory fits one shard many times over.
            "number_of_shards": 1,
            "number_of_replicas": replicas,
            "analysis": {
                "filter": {"substance_synonyms": {"type": "synonym_graph", "synonyms": SYNONYM_RULES}},
                "analyzer": {
                    "listing_text": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
                    "listing_search": {
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding", "substance_synonyms"],
                    },
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": meta,
            "properties": {
                **{
                    name: {"type": "text", "analyzer": "listing_text", "search_analyzer": "listing_search"}
                    for name in TEXT_FIELDS
                },
                **{
                    name: {"type": "keyword"}
                    for name in ("id", "kind", "approach", "formats", "goals", "substances", "audiences",
                                 "languages", "service_area", "days", "timezone")
                },
                "location": {"type": "geo_point"},
                "remote": {"type": "boolean"},
                "open_24_7": {"type": "boolean"},
                "monthly": {"type": "boolean"},
                "active": {"type": "boolean"},
                "sessions": {"type": "long"},
                "timetable": {"type": "long"},
                "doc": {"type": "object", "enabled": False},
            },
        },
    }


def document(listing: Listing) -> dict:
    """The indexed form of a listing: filter fields, text, packed sessions, and the listing itself."""
    return {**_indexed_fields(listing), "doc": dump_listing(listing)}


def document_json(listing: Listing) -> str:
    """`document(listing)` as JSON text for a bulk load. The listing's own part is its
    `listing_document` text, written once per listing and kept on it: the import's source
    cache then stores that same text instead of dumping every listing a second time."""
    return orjson.dumps({**_indexed_fields(listing), "doc": orjson.Fragment(listing_document(listing))}).decode()


def _indexed_fields(listing: Listing) -> dict:
    """The document's fields the engine filters, searches and orders on."""
    location = listing.location
    return {
        "id": listing.id,
        "name": listing.name,
        "program": listing.program or "",
        "description": listing.description,
        "terms": listing_terms(listing),
        "kind": listing.kind,
        "approach": listing.approach,
        "formats": list(listing.formats),
        "goals": list(listing.goals),
        "substances": list(listing.substances),
        "audiences": list(listing.audiences),
        "languages": list(listing.languages),
        "service_area": list(listing.service_area),
        "days": sorted({s.weekday for s in listing.sessions}),
        "timezone": listing.timezone,
        "location": {"lat": location.lat, "lon": location.lon} if location else None,
        "remote": is_remote(listing),
        "open_24_7": listing.open_24_7,
        # Where `timetable` is missing (an index built before it), a monthly session's
        # wall-clock bound is only a bound (see exact_times).
        "monthly": any(s.monthly for s in listing.sessions),
        "active": listing.status == "active",
        "sessions": sorted(_packed(s) for s in listing.sessions),
        "timetable": sorted(_packed(s) * RULES + RULE_CODES.index(s.monthly) for s in listing.sessions),
    }


def _packed(session) -> int:
    """A session's start (minute of the week) and duration as one number."""
    return schedule.minute_of_week(session) * PACK + schedule.duration_minutes(session)


def _terms(field: str, values) -> dict:
    return {"terms": {field: sorted(set(values))}}


def filter_clauses(query: SearchQuery, zones=()) -> list[dict]:
    """filters.FILTERS as clauses, in order, leaving out those not asked. `zones`: the index's
    listing zones, which `time` needs (time_clause)."""
    clauses = []
    for spec in filters.FILTERS:
        clause = CLAUSES[spec.rule](spec, query, zones)
        if clause is not None:
            clauses.append(clause)
    return clauses


def _is_true(spec: Filter, query: SearchQuery, zones) -> dict:
    return {"term": {spec.field: True}}


def _terms_asked(spec: Filter, query: SearchQuery, zones) -> dict | None:
    # Keyword fields: one terms clause serves a many-valued field and a single-valued one.
    values = spec.asked(query)
    return _terms(spec.field, values) if values else None


# Painless: time_of_day.session_in_windows over the packed sessions. params.shift maps each listing
# zone to the minutes that move its wall clock onto the search zone's at `at`; a zone it does
# not know (an index loaded after the zone list was read) keeps its own clock.
_IN_TIME = """
if (doc['open_24_7'].size() > 0 && doc['open_24_7'].value) { return true; }
if (doc['sessions'].size() == 0) { return false; }
String tz = doc['timezone'].value;
long shift = params.shift.containsKey(tz) ? ((Number) params.shift.get(tz)).longValue() : 0L;
boolean hours = !doc['kind'].value.equals('group');
long week = ((Number) params.week).longValue();
long pack = ((Number) params.pack).longValue();
for (def packed : doc['sessions']) {
  long raw = ((Number) packed).longValue();
  long start = ((raw / pack + shift) % week + week) % week;
  long end = start + raw % pack;
  for (def w : params.windows) {
    long lo = ((Number) w.get(0)).longValue();
    long hi = ((Number) w.get(1)).longValue();
    if (hours ? ((start < hi && end > lo) || end > lo + week) : (start >= lo && start < hi)) { return true; }
  }
}
return false;
"""


def time_clause(query: SearchQuery, zones) -> dict | None:
    """`time` (with `day`) judged on the search zone's clock (time_of_day.session_in_windows)."""
    windows = time_windows(query)
    if not windows:
        return None
    return {"script": {"script": {"source": _IN_TIME, "params": {
        "shift": zone_shifts(query, sorted(zones)),
        "windows": [list(w) for w in windows],
        "week": schedule.MINUTES_PER_WEEK,
        "pack": PACK,
    }}}}


def coverage_clause(query: SearchQuery) -> dict | None:
    """Online or phone listings whose service area covers the searched place."""
    areas = coverage_areas(query)
    if not areas:
        return None
    return {"bool": {"filter": [{"term": {"remote": True}}, _terms("service_area", areas)]}}


def reach_clause(query: SearchQuery) -> dict | None:
    """Within the radius of the place, or covered by an online or phone service area."""
    if query.place is None:
        return None
    near = {
        "geo_distance": {
            "distance": f"{query.radius_km}km",
            "distance_type": "arc",
            "location": {"lat": query.place.lat, "lon": query.place.lon},
        }
    }
    covered = coverage_clause(query)
    if covered is None:
        return near
    return {"bool": {"should": [near, covered], "minimum_should_match": 1}}


# One compiler per filters.RULES entry: (filter, query, zones) -> clause, or None when not asked.
CLAUSES = {
    filters.IS_TRUE: _is_true,
    filters.ANY_OF: _terms_asked,
    filters.ONE_OF: _terms_asked,
    filters.TIME: lambda spec, query, zones: time_clause(query, zones),
    filters.REACH: lambda spec, query, zones: reach_clause(query),
}


def text_clauses(query: SearchQuery) -> list[dict]:
    """Every word must match some text field; the last may be a prefix (as in SQLite)."""
    words = query_words(query.text)
    fields = [f"{name}^{weight:g}" for name, weight in TEXT_FIELDS.items()]
    clauses = []
    for i, word in enumerate(words):
        exact = {"multi_match": {"query": word, "fields": fields}}
        if i == len(words) - 1 and len(word) >= 3:
            # Term-level prefixes on the indexed tokens, as FTS5's "word"* does.
            prefixes = [{"prefix": {name: {"value": word, "boost": weight}}} for name, weight in TEXT_FIELDS.items()]
            clauses.append({"bool": {"should": [exact, *prefixes], "minimum_should_match": 1}})
        else:
            clauses.append(exact)
    return clauses


def base_query(query: SearchQuery, zones=()) -> dict:
    """The bool query: filters that do not score, text clauses that do."""
    body: dict = {"filter": filter_clauses(query, zones)}
    text = text_clauses(query)
    if text:
        body["must"] = text
    return {"bool": body}


def nearness_functions(query: SearchQuery) -> list[dict]:
    """function_score functions: Gaussian decay on distance; online options as if nearby."""
    if query.place is None:
        return []
    origin = {"lat": query.place.lat, "lon": query.place.lon}
    functions = [{
        "filter": {"exists": {"field": "location"}},
        "gauss": {
            "location": {
                "origin": origin,
                "offset": f"{ordering.RANKING['distance_offset_km']}km",
                "scale": f"{ordering.RANKING['distance_scale_km']}km",
                "decay": ordering.RANKING["distance_decay"],
            },
            "multi_value_mode": "min",
        },
    }]
    covered = coverage_clause(query)
    if covered:
        functions.append({"filter": covered, "weight": ordering.distance_weight(None)})
    # Keeps the score above zero for listings no function applies to.
    functions.append({"weight": 1e-9})
    return functions


def focus_function(query: SearchQuery) -> list[dict]:
    """function_score functions: 1 + focus_weight for a listing for an asked substance
    itself (not only "any"), 1 for the rest."""
    focus = ordering.focus_substances(query)
    if not focus:
        return []
    return [{"filter": _terms("substances", focus), "weight": 1 + ordering.RANKING["focus_weight"]},
            {"weight": 1}]


def best_query(query: SearchQuery, zones=()) -> dict:
    """sort=best: nearness (max of the functions) times saturated text relevance, times the
    substance focus."""
    scored = _scored_query(query, zones)
    focus = focus_function(query)
    if not focus:
        return scored
    # Without a place or words every listing scores alike, and a filter-only query scores 0.
    alike = query.place is None and not query.text
    return {"function_score": {
        "query": scored,
        "functions": focus,
        "score_mode": "max",
        "boost_mode": "replace" if alike else "multiply",
    }}


def _scored_query(query: SearchQuery, zones) -> dict:
    """Nearness times saturated text relevance."""
    inner = base_query(query, zones)
    if "must" in inner["bool"]:
        # The same saturation as ordering.text_weight: 1 + w * s / (s + 1).
        inner = {"script_score": {"query": inner, "script": {
            "source": "1 + params.w * _score / (_score + 1)",
            "params": {"w": ordering.RANKING["text_weight"]},
        }}}
    functions = nearness_functions(query)
    if not functions:
        return inner
    return {"function_score": {
        "query": inner,
        "functions": functions,
        "score_mode": "max",
        "boost_mode": "multiply" if query.text else "replace",
    }}


def distance_sort(query: SearchQuery) -> dict:
    """Nearest first; listings without a location (online only) last."""
    return {"_geo_distance": {
        "location": {"lat": query.place.lat, "lon": query.place.lon},
        "order": "asc",
        "unit": "km",
        "distance_type": "arc",
    }}


def tier_sort(query: SearchQuery) -> dict:
    """ordering.audience_tier as a sort: 0 when the listing's audiences meet the wanted ones
    (the query's, else "everyone"), else 1 (the filter has left out the rest)."""
    return {"_script": {"type": "number", "order": "asc", "script": {
        "source": "for (def a : doc['audiences']) { if (params.first.contains(a)) { return 0; } } return 1;",
        "params": {"first": sorted(query.audiences or ("everyone",))},
    }}}


def sort_clause(query: SearchQuery) -> list:
    """Sort for the page query: audience tier, then as ordering.order_key (ties: nearer, then id)."""
    tail = [distance_sort(query)] if query.place else []
    if query.sort == "distance" and query.place:
        return [tier_sort(query)] + tail + [{"id": "asc"}]
    return [tier_sort(query), "_score"] + tail + [{"id": "asc"}]


def facet_aggs() -> dict:
    """Counts by format, goal, kind and approach over the whole result."""
    return {
        name: {"terms": {"field": field, "size": len(values)}}
        for name, field, values in (
            ("format", "formats", vocab.FORMATS),
            ("goal", "goals", vocab.GOALS),
            ("kind", "kind", vocab.KINDS),
            ("approach", "approach", vocab.APPROACHES),
        )
    }


def facets_from_aggs(aggregations: dict) -> dict:
    """The facet dict (every value, zeros included) from an aggregations response."""
    facets = empty_facets()
    for name, counts in facets.items():
        for bucket in aggregations.get(name, {}).get("buckets", []):
            if bucket["key"] in counts:
                counts[bucket["key"]] = bucket["doc_count"]
    return facets


def page_body(query: SearchQuery, zones=()) -> dict:
    """One request for total, facets and the requested page (best or distance order)."""
    return {
        "query": best_query(query, zones) if query.sort == "best" else base_query(query, zones),
        "sort": sort_clause(query),
        "from": (query.page - 1) * query.per_page,
        "size": query.per_page,
        "track_total_hits": True,
        "track_scores": True,
        "aggs": facet_aggs(),
        "_source": ["doc"],
    }


# Painless: each listing's minutes to its next start, or its soonest rank (with `rank`), as
# ordering.soonest_minutes and schedule.minutes_until reckon them, wherever params.shift
# knows how the zone's wall clock runs (schedule.wall_shift: every zone in most weeks, and
# one whose clocks change once): a weekly session's last start, next start and the one a
# week after, each `delta` wall minutes from params.now, come `delta + before` (before the
# change) or `delta + after` elapsed minutes from it; those not yet ended count (none begun
# earlier can be running: a session lasts a day at most). A monthly session (`timetable`)
# is tried on the same weekday for four weeks more, on the days its rule names
# (params.days: per zone, a bit per rule for each local day of MONTH_DAYS). A session
# running with under params.ending left ranks as params.endingRank. Elsewhere (params.slack:
# a zone whose clocks change twice in the span) a lower bound as
# schedule.session_lower_bound's, lowered by the slack; so are monthly sessions in an index
# built before `timetable` (stored as weekly ones in `sessions`). A zone it does not know
# gets the weakest possible bound, which is still correct, only slower to walk past. Whole
# minutes throughout, with the moment's seconds (params.fraction) taken off once at the
# end: two listings starting at one instant get the same value to the bit and go by id, as
# the exact ranks do (n - fraction with n = 0 is 0, not -0, which the engine would sort
# first).
_LOWER_BOUND = """
double lowerBound(def doc, def params, boolean rank) {
  if (doc['open_24_7'].size() > 0 && doc['open_24_7'].value) { return 0.0; }
  boolean ruled = doc.containsKey('timetable');
  def entries = ruled ? doc['timetable'] : doc['sessions'];
  if (entries.size() == 0) { return ((Number) params.unscheduled).doubleValue(); }
  String tz = doc['timezone'].value;
  if (!params.now.containsKey(tz)) { return -params.week; }
  // Typed locals: arithmetic on `def` values is looked up at run time, twice as slow.
  long now = ((Number) params.now.get(tz)).longValue();
  long week = ((Number) params.week).longValue();
  long pack = ((Number) params.pack).longValue();
  long rules = ruled ? ((Number) params.rules).longValue() : 1L;
  double fraction = ((Number) params.fraction).doubleValue();
  double best = ((Number) params.unscheduled).doubleValue();
  def shift = params.shift.get(tz);
  if (shift == null) {
    double slack = ((Number) params.slack.get(tz)).doubleValue();
    for (def entry : entries) {
      long packed = ((Number) entry).longValue() / rules;
      long start = packed / pack;
      long duration = packed % pack;
      double since = ((now - start) % week + week) % week + fraction;
      double bound = since < duration + slack ? 0.0 - since - slack : week - since - slack;
      if (bound < best) { best = bound; }
    }
    return best;
  }
  long change = ((Number) shift.get(0)).longValue();
  long before = ((Number) shift.get(1)).longValue();
  long after = ((Number) shift.get(2)).longValue();
  double ending = ((Number) params.ending).doubleValue();
  double endingRank = ((Number) params.endingRank).doubleValue();
  for (def entry : entries) {
    long packed = ((Number) entry).longValue();
    long rule = packed % rules;
    packed = packed / rules;
    long start = packed / pack;
    long duration = packed % pack;
    long next = ((start - now) % week + week) % week;
    long last = rule == 0 ? next + week : next + 4 * week;
    def days = rule == 0 ? null : params.days.get(tz);
    long firstDay = rule == 0 ? 0L : ((Number) params.firstDay).longValue();
    for (long delta = next - week; delta <= last; delta += week) {
      if (rule != 0) {
        // The local day from `at`'s, as an index into days (the dividend is never negative).
        int day = (int) ((now % 1440 + delta - firstDay * 1440) / 1440);
        if (((((Number) days.get(day)).longValue() >> rule) & 1) == 0) { continue; }
      }
      long n = delta + (delta < change ? before : after);
      if (n + duration <= 0) { continue; }
      double until = n - fraction;
      double value = rank && until < 0 && (n + duration) - fraction < ending ? endingRank : until;
      if (value < best) { best = value; }
    }
  }
  return best;
}
"""


def wall_clocks(query: SearchQuery, zones) -> tuple[dict, dict]:
    """(shift, slack) of lower_bound_params: schedule.wall_shift of each zone that has one,
    and schedule.shift_slack of the rest (unsure_zones)."""
    # Keyed by the instant in UTC: two moments in one zone either side of a fold compare equal.
    shift, slack = _wall_clocks(query.at.astimezone(timezone.utc), tuple(sorted(zones)))
    return {tz: list(known) for tz, known in shift}, dict(slack)


@lru_cache(maxsize=64)
def _wall_clocks(at, zones: tuple[str, ...]) -> tuple[tuple, tuple]:
    # A search builds several bodies from one moment (the walk's, the page's), and searches
    # within a minute often share it: each zone's reading is worked out once.
    shift, slack = [], []
    for tz in zones:
        known = schedule.wall_shift(tz, at)
        if known is None:
            slack.append((tz, schedule.shift_slack(tz, at)))
        else:
            shift.append((tz, known))
    return tuple(shift), tuple(slack)


def month_days(at, tz_name: str) -> list[int]:
    """For each local day of MONTH_DAYS from `at`'s in the zone, a bit per monthly rule that
    falls on it (bit i for RULE_CODES[i], schedule.matches_monthly_rule)."""
    return list(_month_days(at.astimezone(schedule.zone(tz_name)).date()))


@lru_cache(maxsize=64)
def _month_days(today: date) -> tuple[int, ...]:
    # The same for every zone on that local date: searches in a minute share one or two.
    return tuple(sum(1 << code for code, rule in enumerate(RULE_CODES) if rule
                and schedule.matches_monthly_rule(today + timedelta(days=offset), rule))
            for offset in MONTH_DAYS)


def unsure_zones(query: SearchQuery, zones) -> list[str]:
    """Zones where the script gives only lower bounds around `query.at`: their clocks change
    more than once in the weeks it reads (none, most years)."""
    return sorted(wall_clocks(query, zones)[1])


def lower_bound_params(query: SearchQuery, zones) -> dict:
    """Script parameters: each zone's local minute of the week at `query.at` and how its wall
    clock runs from then (wall_clocks), and the soonest rule from ordering.RANKING.

    The minute is whole, and the moment's seconds (the same in every zone) one fraction taken
    off each value: two listings starting at one instant in different zones then get the
    same value, to the last bit, and go by id as the exact ranks do."""
    at = query.at.astimezone(timezone.utc)
    shift, slack = wall_clocks(query, zones)
    return {
        "now": {tz: math.floor(schedule.local_minute_of_week(query.at, tz)) for tz in sorted(zones)},
        "days": {tz: month_days(query.at, tz) for tz in sorted(shift)},
        "firstDay": MONTH_DAYS.start,
        "rules": RULES,
        "fraction": (at.second * 1_000_000 + at.microsecond) / 60e6,
        "shift": shift,
        "slack": slack,
        "week": schedule.MINUTES_PER_WEEK,
        "pack": PACK,
        "unscheduled": UNSCHEDULED,
        "ending": ordering.RANKING["ending_soon_minutes"],
        "endingRank": ordering.RANKING["ending_soon_ranks_as_minutes"],
    }


def within_limit(query: SearchQuery, zones, limit: float) -> dict:
    """Listings whose lower bound on minutes to their next start is at most `limit`."""
    return {"script": {"script": {
        "source": _LOWER_BOUND + "return lowerBound(doc, params, false) <= params.limit;",
        "params": {**lower_bound_params(query, zones), "limit": int(limit)},
    }}}


def exact_times(unsure) -> dict:
    """Listings whose lower bound is their exact minutes to their next start: open 24/7, or
    sessions only in a zone the script reads exactly (not among `unsure`, unsure_zones),
    monthly ones included where the document holds their rules (`timetable`): then
    within_limit is the time filters' own test. An index built before documents said
    `monthly` has none of these, and one built before `timetable` none with monthly
    sessions: those are walked, whatever a worker last read of its mapping."""
    unruled = {"bool": {"filter": [{"term": {"monthly": True}}],
                        "must_not": [{"exists": {"field": "timetable"}}]}}
    steady = [unruled]
    if unsure:
        steady.append({"terms": {"timezone": sorted(unsure)}})
    return {"bool": {"filter": [{"exists": {"field": "monthly"}}],
                     "should": [{"term": {"open_24_7": True}}, {"bool": {"must_not": steady}}],
                     "minimum_should_match": 1}}


def timed_page_body(query: SearchQuery, zones, limit: float, unsure, size: int) -> dict:
    """page_body (no words) over the listings exact_times answers for that pass the time
    filters (within_limit): total, facets and the first `size` in the page's order (soonest:
    by their exact ranks)."""
    body = page_body(query, zones)
    if query.sort == "soonest":
        body["sort"] = bound_sort(query, zones, rank=True)
    # Filters beside the scored query: they keep its scores.
    body["query"] = {"bool": {"must": [body["query"]],
                              "filter": [within_limit(query, zones, limit), exact_times(unsure)]}}
    body["from"], body["size"] = 0, size
    return body


def bound_sort(query: SearchQuery, zones, rank: bool) -> list:
    """(audience tier, lower bound, id): the bound on the soonest rank (`rank`) or on the
    minutes to the next start; where exact_times holds, the rank or the minutes themselves."""
    return [
        tier_sort(query),
        {"_script": {"type": "number", "order": "asc", "script": {
            "source": _LOWER_BOUND + f"return lowerBound(doc, params, {str(rank).lower()});",
            "params": lower_bound_params(query, zones)}}},
        {"id": "asc"},
    ]


def timed_body(query: SearchQuery, zones, limit: float | None, size: int, after=None, unsure=None) -> dict:
    """Candidates in ascending (audience tier, lower bound, id) order. With `limit` (a time
    filter), bounds on the next start and only those <= limit; else bounds on the soonest rank.
    With `unsure` (unsure_zones), only the listings exact_times leaves out."""
    search = base_query(query, zones)
    if limit is not None:
        search["bool"]["filter"].append(within_limit(query, zones, limit))
    if unsure is not None:
        search["bool"].setdefault("must_not", []).append(exact_times(unsure))
    body = {
        "query": search,
        "sort": bound_sort(query, zones, rank=limit is None),
        "size": size,
        "track_total_hits": False,
        "track_scores": True,
        "_source": ["doc"],
    }
    if after is not None:
        body["search_after"] = after
    return body


def count_body(query: SearchQuery, zones=()) -> dict:
    """Total and facets without hits (for soonest, whose page comes from the walk)."""
    return {"query": base_query(query, zones), "size": 0, "track_total_hits": True, "aggs": facet_aggs()}


def soonest_body(query: SearchQuery, zones, size: int) -> dict:
    """sort=soonest in one request: the first `size` candidates in (tier, lower bound, id)
    order, with the total and facets over the whole result."""
    body = timed_body(query, zones, None, size)
    body["track_total_hits"] = True
    body["aggs"] = facet_aggs()
    return body
