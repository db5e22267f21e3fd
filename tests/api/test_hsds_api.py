"""The HSDS 3.0 API profile (/hsds/...) through the app, on every backend: every answer
validates against the official HSDS 3.0 schemas, filters select what the demo file (read here
on its own) says they should, bad input is a 400 naming the parameter, and a harvest of the
API reads back through our HSDS reader as the listings it came from."""

from __future__ import annotations

import json

import pytest
from geopy.distance import great_circle
from jsonschema import Draft202012Validator

from indexers.records import ReadOptions
from indexers.sources.hsds import read_hsds
from service.domain.schemas import dump_listing
from tests.conftest import DEMO
from tests.unit.test_hsds_export import _carried, errors, page_schema

PAGE_KEYS = {"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"}


@pytest.fixture(scope="module")
def demo():
    """The demo file as it is, read without any Linkage code."""
    return json.loads(DEMO.read_text(encoding="utf-8"))


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.data[:300])
    assert response.mimetype == "application/json"
    return response.get_json()


def page(client, url) -> dict:
    """One list answer, its envelope checked against the profile and against itself."""
    body = get(client, url)
    assert set(body) == PAGE_KEYS
    assert Draft202012Validator(page_schema()).is_valid(body)
    per_page = int(dict(p.split("=") for p in url.split("?", 1)[1].split("&")).get("per_page", 20)) \
        if "?" in url else 20
    assert body["size"] == len(body["contents"]) <= per_page
    assert body["total_pages"] == -(-body["total_items"] // per_page)
    assert body["first_page"] == (body["page_number"] == 1)
    assert body["last_page"] == (body["page_number"] >= body["total_pages"])
    assert body["empty"] == (body["size"] == 0)
    return body


def harvest(client, url) -> list[dict]:
    """Every item of a list, page after page."""
    joiner = "&" if "?" in url else "?"
    first = page(client, f"{url}{joiner}per_page=100")
    items = list(first["contents"])
    for number in range(2, first["total_pages"] + 1):
        items += page(client, f"{url}{joiner}per_page=100&page={number}")["contents"]
    assert len(items) == first["total_items"]
    return items


def ids(client, query: str) -> set[str]:
    return {item["linkage_id"] for item in harvest(client, f"/hsds/services?{query}")}


def test_services_list_every_listing_in_pages_that_validate(client, demo):
    services = harvest(client, "/hsds/services")
    assert sorted(s["linkage_id"] for s in services) == sorted(entry["id"] for entry in demo)
    for service in services:
        assert errors("compiled/service_list.json", service) == [], service["linkage_id"]
        assert "schedules" not in service  # the list gives one-to-one fields unless full=true
    body = page(client, "/hsds/services?page=2&per_page=7")
    assert (body["page_number"], body["size"], body["total_items"]) == (2, 7, len(demo))
    beyond = page(client, "/hsds/services?page=999")
    assert beyond["empty"] and beyond["contents"] == [] and beyond["last_page"]


def test_full_services_and_each_service_validate(client, demo):
    services = harvest(client, "/hsds/services?full=true")
    assert len(services) == len(demo)
    for service in services[::25]:
        assert errors("service.json", service) == [], service["linkage_id"]
        assert get(client, f"/hsds/services/{service['id']}") == service
    by_id = {entry["id"]: entry for entry in demo}
    for service in services:
        entry = by_id[service["linkage_id"]]
        assert len(service["schedules"]) == len(entry["sessions"]) + (1 if entry["open_24_7"] else 0)


def test_organizations(client, demo):
    organizations = harvest(client, "/hsds/organizations")
    programs = {entry["program"] for entry in demo if entry["program"]}
    standalone = [entry for entry in demo if not entry["program"]]
    assert len(organizations) == len(programs) + len(standalone)
    assert programs <= {o["name"] for o in organizations}
    for organization in organizations:
        assert errors("compiled/organization_list.json", organization) == [], organization["id"]
    smart = next(o for o in organizations if o["name"] == "SMART Recovery")
    one = get(client, f"/hsds/organizations/{smart['id']}")
    assert errors("organization.json", one) == []
    assert len(one["services"]) == sum(entry["program"] == "SMART Recovery" for entry in demo)
    for service in one["services"]:
        assert errors("compiled/service_list.json", service) == []
    full = get(client, f"/hsds/organizations/{smart['id']}?full_service=true")
    assert all(errors("service.json", service) == [] for service in full["services"])
    assert ids(client, f"organization_id={smart['id']}") == {e["id"] for e in demo if e["program"] == "SMART Recovery"}


def test_service_at_locations_and_locations(client, demo):
    links = harvest(client, "/hsds/service_at_locations")
    # One per physical place and one per conference link, as the demo file has them.
    assert len(links) == sum(bool(e["location"]) + bool(e["contact"]["conference_url"]) for e in demo)
    for link in links[::10]:
        assert errors("compiled/service_at_location_list.json", link) == []
        one = get(client, f"/hsds/service_at_locations/{link['id']}")
        assert errors("service_at_location.json", one) == []
        assert errors("service.json", one["service"]) == []
        location = get(client, f"/hsds/locations/{link['location_id']}")
        assert errors("location.json", location) == []
        assert location == one["location"]


def test_unknown_ids_are_404_in_our_envelope(client):
    for path in ("services", "organizations", "service_at_locations", "locations", "taxonomy_terms"):
        body = get(client, f"/hsds/{path}/00000000-0000-5000-8000-000000000000", status=404)["error"]
        assert body["code"] == "not_found" and body["parameter"] == "id"


def test_filters_select_what_the_demo_file_says(client, demo):
    assert ids(client, "format=online") == {e["id"] for e in demo if "online" in e["formats"]}
    assert ids(client, "format=json&goal=harm_reduction") == {e["id"] for e in demo if "harm_reduction" in e["goals"]}
    assert ids(client, "modified_after=2026-06-01") == {e["id"] for e in demo if e["updated_at"] >= "2026-06-01"}
    assert ids(client, "modified_after=2026-06-01T00:00:00%2B10:00") == \
        {e["id"] for e in demo if e["updated_at"] >= "2026-06-01"}
    assert ids(client, "search=dharma") == {e["id"] for e in demo if "dharma" in
                                            f"{e['name']} {e['description']} {e['program']}".casefold()}
    moderation = {e["id"] for e in demo if "moderation" in e["goals"]}
    assert ids(client, "taxonomy_term_id=goal:moderation") == moderation
    terms = {t["code"]: t for t in harvest(client, "/hsds/taxonomy_terms")}
    for term in terms.values():
        assert errors("taxonomy_term.json", term) == []
    assert ids(client, f"taxonomy_term_id={terms['goal:moderation']['id']}") == moderation
    assert ids(client, f"taxonomy_term_id={terms['goal:moderation']['id']},substance:alcohol") == \
        {e["id"] for e in demo if "moderation" in e["goals"] and "alcohol" in e["substances"]}
    assert ids(client, "taxonomy_term_id=kind:helpline") == {e["id"] for e in demo if e["kind"] == "helpline"}


def test_near_finds_places_within_the_radius_and_remote_listings_covering_it(client, demo):
    sydney = (-33.8688, 151.2093)
    found = ids(client, f"near={sydney[0]},{sydney[1]}&radius_km=10")
    in_person = {e["id"] for e in demo if e["location"] and "in_person" in e["formats"]
                 and great_circle(sydney, (e["location"]["lat"], e["location"]["lon"])).km <= 10}
    remote = {e["id"] for e in demo
              if set(e["formats"]) & {"online", "phone"} and {"AU", "NSW"} & set(e["service_area"])}
    assert in_person and in_person <= found
    assert found - in_person <= remote and {e["id"] for e in demo if "AU" in e["service_area"]} <= found


@pytest.mark.parametrize("query, parameter", [
    ("page=0", "page"), ("per_page=0", "per_page"), ("per_page=101", "per_page"), ("page=two", "page"),
    ("modified_after=yesterday", "modified_after"), ("taxonomy_term_id=goal:flying", "taxonomy_term_id"),
    ("taxonomy_id=other", "taxonomy_id"), ("format=ndjson", "format"), ("goal=flying", "goal"),
    ("near=Nowhere%20Special%20Town", "near"), ("radius_km=5", "radius_km"), ("near=2000&radius_km=9999", "radius_km"),
    ("full=perhaps", "full"),
])
def test_bad_input_is_a_400_naming_the_parameter(client, query, parameter):
    for path in ("services", "organizations", "service_at_locations"):
        body = get(client, f"/hsds/{path}?{query}", status=400)["error"]
        assert body["parameter"] == parameter, body


def test_cors_and_caching_like_the_public_feed(client):
    for url in ("/hsds/services", "/hsds/", "/hsds/taxonomies"):
        response = client.get(url)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "max-age" in response.headers["Cache-Control"]
    about = get(client, "/hsds/")
    assert about["version"] == "3.0"
    taxonomies = page(client, "/hsds/taxonomies")
    assert [errors("taxonomy.json", t) for t in taxonomies["contents"]] == [[]]


def test_a_harvest_reads_back_as_the_listings(client, demo, demo_listings, tmp_path):
    # The API's pages saved as files and read by `linkage index --format hsds`'s reader: the
    # fields HSDS carries come back as they went in (tests/unit/test_hsds_export.py says which
    # fields are compared, and why the others are not).
    first = page(client, "/hsds/services?full=true&per_page=100")
    records = []
    for number in range(1, first["total_pages"] + 1):
        path = tmp_path / f"page-{number}.json"
        path.write_bytes(client.get(f"/hsds/services?full=true&per_page=100&page={number}").data)
        records += read_hsds(path, ReadOptions("hsds-export", timezone="Australia/Sydney", country="AU"))
    assert len(records) == len(demo) and all(r.data is not None and not r.problems for r in records)
    served = {s["id"]: s["linkage_id"] for s in harvest(client, "/hsds/services")}
    by_id = {listing.id: listing for listing in demo_listings}
    for record in records:
        listing = by_id[served[record.data["id"].split(":", 1)[1]]]
        assert _carried(record.data) == _carried(dump_listing(listing)), listing.id
