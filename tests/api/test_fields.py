"""`fields=` on GET /v1/search: each item keeps only the named top-level fields, in the
order the full item has them; the envelope is unchanged; an unknown name is a 400 naming it.

Expected answers come from the full response of the same search, read with the stdlib's json
module, and from the field names written out here by hand.
"""

from __future__ import annotations

import json

import pytest

# A search item's top-level fields, as the API has always written them (by hand, not from the code).
ITEM_FIELDS = ("id", "kind", "name", "description", "program", "approach", "goals", "substances", "formats",
               "audiences", "facilitation", "languages", "location", "service_area", "timezone", "sessions",
               "open_24_7", "contact", "registration_required", "open_meeting", "cost", "referral",
               "accessibility", "first_visit", "source", "updated_at", "verified_at", "status", "also_from",
               "stale", "dead_links", "distance_km", "next_sessions", "open_now", "why", "for_everyone")
SEARCHES = ("near=2000", "near=3000&sort=soonest&tz=Australia/Perth", "near=4000&goal=moderation&lang=vi",
            "near=Hobart&sort=distance&per_page=50", "q=smart")


def full_and_sparse(client, search: str, fields: str) -> tuple[dict, dict]:
    full = client.get(f"/v1/search?{search}")
    sparse = client.get(f"/v1/search?{search}&fields={fields}")
    assert full.status_code == 200 and sparse.status_code == 200, (search, fields, sparse.data[:300])
    return json.loads(full.data), json.loads(sparse.data)


def test_every_item_has_the_fields_the_parameter_may_name(client):
    body = json.loads(client.get("/v1/search?near=2000&per_page=50").data)
    assert body["items"]
    for item in body["items"]:
        # The set, not the order: an engine hands `_source` back in an order of its own.
        assert sorted(item) == sorted(ITEM_FIELDS)


@pytest.mark.parametrize("fields", ["id,name,next_sessions", "why", "next_sessions,id", "distance_km, name ,id",
                                    "id,id,name", ",".join(ITEM_FIELDS)])
def test_items_keep_only_the_fields_named_in_their_own_order(client, fields):
    wanted = {name.strip() for name in fields.split(",")}
    for search in SEARCHES:
        full, sparse = full_and_sparse(client, search, fields)
        assert len(sparse["items"]) == len(full["items"]), search
        for whole, kept in zip(full["items"], sparse["items"]):
            assert list(kept) == [name for name in whole if name in wanted]
            assert all(kept[name] == whole[name] for name in kept)
        # The envelope (query echo, warnings, counts, facets) as without `fields`.
        assert {k: v for k, v in sparse.items() if k != "items"} == {k: v for k, v in full.items() if k != "items"}


def test_all_fields_give_the_same_bytes_as_none(client):
    full = client.get("/v1/search?near=3000&per_page=50")
    every = client.get("/v1/search?near=3000&per_page=50&fields=" + ",".join(ITEM_FIELDS))
    assert every.data == full.data


@pytest.mark.parametrize("fields, unknown", [
    ("id,nom", ["nom"]),
    ("next_session,id,Name", ["next_session", "Name"]),
    ("items", ["items"]),
    ("total,query", ["total", "query"]),
])
def test_unknown_names_are_a_400_naming_them(client, fields, unknown):
    response = client.get(f"/v1/search?near=2000&fields={fields}")
    assert response.status_code == 400
    error = json.loads(response.data)["error"]
    assert error["status"] == 400 and error["code"] == "bad_parameter" and error["parameter"] == "fields"
    for name in unknown:
        assert repr(name) in error["message"]
    for name in set(fields.split(",")) - set(unknown):
        assert repr(name) not in error["message"]


def test_no_name_at_all_is_a_400(client):
    response = client.get("/v1/search?near=2000&fields=,")
    assert response.status_code == 400
    assert json.loads(response.data)["error"]["parameter"] == "fields"


def test_the_parameter_is_documented_with_every_name(client):
    operation = client.get("/v1/openapi.json").get_json()["paths"]["/v1/search"]["get"]
    parameter = next(p for p in operation["parameters"] if p["name"] == "fields")
    assert parameter["in"] == "query" and parameter["schema"]["type"] == "string"
    for name in ITEM_FIELDS:
        assert name in parameter["description"]
