"""Engine request bodies compared whole with committed JSON snapshots.

For each case below, the bodies the engine backend sends for that query (as
`EngineBackend.search` chooses them: the page body; for `sort=soonest` the count body and
the walk; with a time filter the bounded walk, first page and a later one) are compared
with `tests/snapshots/queries/<case>.json`, which also records the query in readable form.
`index.json` holds the index settings and mappings and one indexed document.

The snapshots were written from the code before the filters moved into one specification
(`service.backends.filters`), and each was read against its query: every asked filter
appears as a `terms` clause on its field (audiences with "everyone", substances with
"any", days only without `time`), `time` as the window script with each zone's shift,
reach as the radius or the remote coverage of the place's country and state, the text as
one clause per word with a prefix for the last, and the sort as audience tier, then score
or distance, then id. They are the reviewed expectation: a change to any body fails here.

To change a body on purpose, regenerate and review the diff before committing it:

    LINKAGE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/unit/test_query_snapshots.py
    git diff tests/snapshots/queries/
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from service.backends import timed
from service.backends.engine import queries
from service.domain.models import Contact, FirstVisit, Listing, Location, Place, SearchQuery, Session, Source

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots" / "queries"
UPDATE = os.environ.get("LINKAGE_UPDATE_SNAPSHOTS") == "1"

# Thursday 26 November 2026 08:00 UTC: 19:00 in Sydney, 16:00 in Perth; no clock change near.
AT = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
# Friday 2 October 2026 08:00 UTC: 18:00 in Sydney, two days before its clocks go forward
# (Sunday 4 October, 02:00 -> 03:00; Lord Howe by half an hour); Perth and Brisbane keep theirs.
BEFORE_DST = datetime(2026, 10, 2, 8, 0, tzinfo=timezone.utc)
# Friday 2 April 2027 08:00 UTC: 19:00 in Sydney, two days before its clocks go back.
BEFORE_DST_ENDS = datetime(2027, 4, 2, 8, 0, tzinfo=timezone.utc)

SYDNEY = Place(query="2000", name="Sydney", lat=-33.8731, lon=151.2065, state="NSW", country="AU",
               timezone="Australia/Sydney")
PERTH = Place(query="6000", name="Perth", lat=-31.9523, lon=115.8613, state="WA", country="AU",
              timezone="Australia/Perth")
# The index's listing zones, as the engine backend reads them from the mapping.
ZONES = ("Australia/Brisbane", "Australia/Lord_Howe", "Australia/Perth", "Australia/Sydney")

CASES = {
    "plain": SearchQuery(at=AT),
    "every_stored_filter": SearchQuery(
        at=AT, formats=("in_person", "online"), goals=("undecided", "abstinence"), substances=("alcohol",),
        kinds=("group", "service"), approaches=("twelve_step",), languages=("en", "vi"), days=("mon", "sat")),
    "audience_by_distance": SearchQuery(at=AT, place=SYDNEY, radius_km=10.0, audiences=("women",),
                                        sort="distance"),
    "place_and_text": SearchQuery(at=AT, place=SYDNEY, radius_km=10.0, text="ice meet"),
    "in_person_only_near_perth": SearchQuery(at=AT, place=PERTH, formats=("in_person",), sort="distance",
                                             page=3, per_page=10),
    "text_without_place": SearchQuery(at=AT, text="smart recovery"),
    "substance_focus_with_place": SearchQuery(at=AT, place=SYDNEY, substances=("cannabis", "alcohol")),
    "substance_focus_alone": SearchQuery(at=AT, substances=("cannabis",)),
    "soonest_near_sydney": SearchQuery(at=AT, place=SYDNEY, sort="soonest"),
    "starts_within_an_hour": SearchQuery(at=AT, place=SYDNEY, starts_within=60, sort="soonest"),
    "open_now_best": SearchQuery(at=AT, open_now=True, text="helpline"),
    "time_before_dst_starts": SearchQuery(at=BEFORE_DST, place=PERTH, days=("sat", "sun"),
                                          times=("morning", "evening")),
    "time_on_viewer_clock": SearchQuery(at=BEFORE_DST, viewer_tz="Australia/Lord_Howe", times=("afternoon",),
                                        sort="soonest"),
    "soonest_before_dst_ends": SearchQuery(at=BEFORE_DST_ENDS, sort="soonest", audiences=("young_people",),
                                           formats=("online",)),
}


def readable(query: SearchQuery) -> dict:
    """The query's fields that differ from the defaults, as JSON (so a reviewer sees what is asked)."""
    fields = {}
    for field in dataclasses.fields(query):
        value = getattr(query, field.name)
        if field.name != "at" and value == field.default:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        fields[field.name] = value
    return fields


def bodies(query: SearchQuery) -> dict:
    """The bodies EngineBackend.search sends for `query`, by the call that makes them."""
    page_zones = ZONES if query.times else ()
    if query.needs_schedule:
        limit = timed.bound_limit(query)
        return {
            "timed_body": queries.timed_body(query, ZONES, limit, 500),
            "timed_body_after": queries.timed_body(query, ZONES, limit, 500, after=[0, 12.0, "test:x"]),
        }
    if query.sort == "soonest":
        return {
            "count_body": queries.count_body(query, page_zones),
            "timed_body": queries.timed_body(query, ZONES, None, 64),
        }
    return {"page_body": queries.page_body(query, page_zones)}


def listing() -> Listing:
    """One listing with every indexed field set."""
    return Listing(
        id="test:snapshot", kind="group", name="Harbour Group", description="Weekly meetings.",
        program="SMART Recovery", approach="self_management", goals=("abstinence", "moderation"),
        substances=("alcohol", "methamphetamine"), formats=("in_person", "online"), audiences=("women",),
        facilitation=None, languages=("en", "vi"),
        location=Location(address="1 Test Street", locality="Sydney", state="NSW", postcode="2000",
                          country="AU", lat=-33.8731, lon=151.2065),
        service_area=("NSW",), timezone="Australia/Sydney",
        sessions=(Session("wed", "07:30", "08:00"), Session("mon", "19:00", "20:30")),
        open_24_7=False, contact=Contact(conference_url="https://example.org/meet"),
        registration_required=False, open_meeting=True, cost="free", referral="self", accessibility=(),
        first_visit=FirstVisit(), source=Source(name="Test feed"), updated_at="2026-11-01",
        verified_at="2026-11-01", status="active",
    )


def as_json(value) -> dict:
    """`value` as it would go over the wire (tuples become lists)."""
    return json.loads(json.dumps(value))


def check(name: str, actual: dict) -> None:
    """Compare with the snapshot, or write it when LINKAGE_UPDATE_SNAPSHOTS=1."""
    path = SNAPSHOTS / f"{name}.json"
    actual = as_json(actual)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}: write it with LINKAGE_UPDATE_SNAPSHOTS=1 and review it")
    assert actual == json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_query_bodies_match_their_snapshot(name):
    query = CASES[name]
    check(name, {"query": readable(query), **bodies(query)})


def test_index_body_and_document_match_their_snapshot():
    check("index", {
        "index_body": queries.index_body({"built_at": "2026-11-26T08:00:00+00:00", "timezones": list(ZONES)},
                                         replicas=1),
        "document": queries.document(listing()),
    })


def test_every_snapshot_belongs_to_a_case():
    assert {p.stem for p in SNAPSHOTS.glob("*.json")} == set(CASES) | {"index"}
