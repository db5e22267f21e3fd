"""/fhir: searchset Bundles and reads of HealthcareService, Location, Organization and the
Linkage CodeSystems, on SQLite and on the engine (the `client` fixture runs each test on
both, so both must give the ids the demo file gives).

Every resource served is validated with fhir.resources' R4B models (R4's HealthcareService,
Location and Organization). Expected ids, counts, dates and distances come from
data/demo/listings.json read here by hand and geopy's great-circle distance, never from the
code under test.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from geopy.distance import great_circle

from tests.conftest import DEMO

BASE = "https://linkage.example"
MODELS = {"HealthcareService": HealthcareService, "Location": Location, "Organization": Organization,
          "CodeSystem": CodeSystem}
RAW = json.loads(DEMO.read_text(encoding="utf-8"))


def fhir_id(listing_id: str) -> str:
    """The demo's ids are "demo:x0000": FHIR ids cannot hold ":", so "demo.x0000"."""
    source, rest = listing_id.split(":")
    return f"{source}.{rest}"


def newest_date(raw: dict) -> str:
    """The later of a listing's verified and updated dates."""
    return max(d for d in (raw["verified_at"], raw["updated_at"]) if d)


EXPECTED = {
    "HealthcareService": sorted(fhir_id(r["id"]) for r in RAW),
    "Location": sorted([fhir_id(r["id"]) for r in RAW if r["location"]]
                       + [f"area.{a}" for a in {a for r in RAW for a in r["service_area"]}]),
    "Organization": sorted({fhir_id(r["id"]) for r in RAW if not r["program"]}
                           | {"program." + "".join(ch if ch.isalnum() else "-" for ch in r["program"].lower())
                              .replace("---", "-").strip("-") for r in RAW if r["program"]}),
}


def get_fhir(client, url: str, status: int = 200) -> dict:
    """GET a /fhir URL (absolute links are followed on the test client), check the answer's
    status, media type and CORS, and return its JSON."""
    if url.startswith(BASE):
        url = url[len(BASE):]
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:400])
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.get_json()


def all_pages(client, url: str) -> tuple[list[dict], list[dict]]:
    """Every entry of a search, following `next` links; and each page's Bundle."""
    entries, bundles = [], []
    while url:
        bundle = get_fhir(client, url)
        Bundle.model_validate(bundle)
        bundles.append(bundle)
        entries += bundle.get("entry", [])
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        assert len(bundles) < 200
    return entries, bundles


@pytest.mark.parametrize("resource_type", ["HealthcareService", "Location", "Organization"])
def test_every_resource_is_served_valid_with_the_demo_ids(client, resource_type):
    """Paging through a type gives each expected id once, every resource valid FHIR."""
    entries, bundles = all_pages(client, f"/fhir/{resource_type}?_count=100")
    ids = [entry["resource"]["id"] for entry in entries]
    assert ids == EXPECTED[resource_type]
    assert {b["total"] for b in bundles} == {len(EXPECTED[resource_type])}
    for entry in entries:
        resource = entry["resource"]
        MODELS[resource_type].model_validate(resource)
        assert entry["fullUrl"] == f"{BASE}/fhir/{resource_type}/{resource['id']}"
        assert entry["search"] == {"mode": "match"}
        assert get_fhir(client, f"/fhir/{resource_type}/{resource['id']}") == resource


@pytest.mark.parametrize("listing_id", ["demo:g0008", "demo:s0001", "demo:h0001"])
def test_round_trip_of_a_group_a_service_and_a_helpline(client, listing_id):
    """A group with a monthly session, a treatment service and a 24/7 helpline, read one by
    one: through the model and back, the mapped fields are the demo file's."""
    raw = next(r for r in RAW if r["id"] == listing_id)
    served = get_fhir(client, f"/fhir/HealthcareService/{fhir_id(listing_id)}")
    out = json.loads(HealthcareService.model_validate(served).model_dump_json())
    assert out["identifier"][0]["value"] == listing_id
    assert out["name"] == raw["name"]
    assert out["category"][0]["coding"][0] == {"system": f"{BASE}/fhir/CodeSystem/linkage-kind",
                                               "code": raw["kind"], "display": out["category"][0]["coding"][0]["display"]}
    systems = {}
    for concept in out["characteristic"]:
        coding = concept["coding"][0]
        systems.setdefault(coding["system"].rsplit("-", 1)[1], []).append(coding["code"])
    assert systems["goal"] == raw["goals"] and systems["substance"] == raw["substances"]
    assert systems["format"] == raw["formats"] and systems["audience"] == raw["audiences"]
    assert sorted(t["value"] for t in out.get("telecom", [])) == sorted(v for v in raw["contact"].values() if v)
    assert [c["coding"][0]["code"] for c in out["communication"]] == raw["languages"]
    assert out["meta"]["lastUpdated"] == newest_date(raw) + "T00:00:00Z"
    if raw["open_24_7"]:
        assert out["availableTime"][0]["allDay"] is True
        assert len(out["availableTime"][0]["daysOfWeek"]) == 7
    weekly = {(s["weekday"], s["start"] + ":00", s["end"] + ":00") for s in raw["sessions"] if not s.get("monthly")}
    assert {(d, t["availableStartTime"], t["availableEndTime"]) for t in out.get("availableTime", [])
            if not t.get("allDay") for d in t["daysOfWeek"]} == weekly
    assert ("availabilityExceptions" in out) is any(s.get("monthly") for s in raw["sessions"])
    provider = get_fhir(client, f"/fhir/{out['providedBy']['reference']}")
    assert Organization.model_validate(provider).name == (raw["program"] or raw["name"])
    if raw["location"]:
        place = get_fhir(client, f"/fhir/{out['location'][0]['reference']}")
        assert (place["position"]["latitude"], place["position"]["longitude"]) == (raw["location"]["lat"],
                                                                                   raw["location"]["lon"])
        assert place["address"]["postalCode"] == raw["location"]["postcode"]
    for area in out.get("coverageArea", []):
        Location.model_validate(get_fhir(client, f"/fhir/{area['reference']}"))
    for concept in out["characteristic"] + out["category"] + out["type"]:
        coding = concept["coding"][0]
        code_system = get_fhir(client, coding["system"])
        assert coding["code"] in {c["code"] for c in CodeSystem.model_validate(code_system).model_dump()["concept"]}


def test_paging_links_walk_forward_and_back(client):
    """_count pages, next and previous links, _count=0 for the total only."""
    first = get_fhir(client, "/fhir/HealthcareService?_count=7")
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "previous" not in links and [e["resource"]["id"] for e in first["entry"]] == EXPECTED["HealthcareService"][:7]
    assert parse_qs(urlsplit(links["next"]).query) == {"_count": ["7"], "_offset": ["7"]}
    second = get_fhir(client, links["next"])
    assert [e["resource"]["id"] for e in second["entry"]] == EXPECTED["HealthcareService"][7:14]
    back = get_fhir(client, next(link["url"] for link in second["link"] if link["relation"] == "previous"))
    assert back["entry"] == first["entry"]
    middle = get_fhir(client, "/fhir/HealthcareService?_count=7&_offset=10")
    before = get_fhir(client, next(link["url"] for link in middle["link"] if link["relation"] == "previous"))
    assert [e["resource"]["id"] for e in before["entry"]] == EXPECTED["HealthcareService"][3:10]
    last = get_fhir(client, f"/fhir/HealthcareService?_count=7&_offset={len(RAW) - 3}")
    assert len(last["entry"]) == 3 and "next" not in {link["relation"] for link in last["link"]}
    only_total = get_fhir(client, "/fhir/HealthcareService?_count=0")
    assert only_total["total"] == len(RAW) and not only_total.get("entry")
    capped = get_fhir(client, "/fhir/Location?_count=100000")
    assert len(capped["entry"]) == 100


@pytest.mark.parametrize("query, keep", [
    ("_lastUpdated=ge2026-11-01", lambda d: d >= "2026-11-01"),
    ("_lastUpdated=lt2026-03-01", lambda d: d < "2026-03-01"),
    ("_lastUpdated=2026-03", lambda d: d.startswith("2026-03")),
    ("_lastUpdated=gt2026-03", lambda d: d >= "2026-04-01"),
    ("_lastUpdated=le2026-03-23", lambda d: d <= "2026-03-23"),
    ("_lastUpdated=ge2026-01-01&_lastUpdated=lt2026-02-01", lambda d: "2026-01-01" <= d < "2026-02-01"),
    ("_lastUpdated=ne2026", lambda d: not d.startswith("2026")),
    ("_lastUpdated=ge2026-06-01T10:00:00%2B10:00", lambda d: d >= "2026-06-01"),
])
def test_last_updated_filters_as_fhir_compares_dates(client, query, keep):
    """_lastUpdated with each prefix gives the listings whose later date the demo file says."""
    entries, _ = all_pages(client, f"/fhir/HealthcareService?{query}&_count=100")
    expected = sorted(fhir_id(r["id"]) for r in RAW if keep(newest_date(r)))
    assert expected, "the case must select something"
    assert [e["resource"]["id"] for e in entries] == expected


def test_location_near_is_nearest_first_within_the_distance(client):
    """near=lat|lon|distance|units: the Locations within it (geopy's distance), nearest first."""
    lat, lon = -33.8688, 151.2093
    within = sorted((great_circle((lat, lon), (r["location"]["lat"], r["location"]["lon"])).km, fhir_id(r["id"]))
                    for r in RAW if r["location"])
    # A distance in international miles (UCUM [mi_i], 1.609344 km) just reaching the fifth nearest.
    miles = within[4][0] / 1.609344 * (1 + 1e-6)
    for distance, units, km in (("4", "km", 4.0), ("4000", "m", 4.0), (f"{miles:.9f}", "[mi_i]", miles * 1.609344),
                                ("", "", 25.0)):
        expected = [i for d, i in within if d <= km]
        assert expected
        entries, _ = all_pages(client, f"/fhir/Location?near={lat}|{lon}|{distance}|{units}&_count=100")
        assert [e["resource"]["id"] for e in entries] == expected, (distance, units)
    services, _ = all_pages(client, f"/fhir/HealthcareService?location.near={lat}|{lon}|4|km&_count=100")
    assert [e["resource"]["id"] for e in services] == [i for d, i in within if d <= 4.0]


def test_id_search_and_code_systems(client):
    """_id picks resources; the CodeSystems are listed and read."""
    found = get_fhir(client, "/fhir/HealthcareService?_id=demo.h0001,demo.g0002,nothing")
    assert sorted(e["resource"]["id"] for e in found["entry"]) == ["demo.g0002", "demo.h0001"]
    listed = get_fhir(client, "/fhir/CodeSystem")
    assert {e["resource"]["id"] for e in listed["entry"]} >= {"linkage-goal", "linkage-substance", "linkage-format",
                                                              "linkage-approach", "linkage-audience"}
    goal = CodeSystem.model_validate(get_fhir(client, "/fhir/CodeSystem/linkage-goal"))
    assert {c.code for c in goal.concept} == {"abstinence", "moderation", "harm_reduction"}


@pytest.mark.parametrize("url, parameter", [
    ("/fhir/HealthcareService?_count=ten", "_count"),
    ("/fhir/HealthcareService?_count=-1", "_count"),
    ("/fhir/HealthcareService?_count=1&_count=2", "_count"),
    ("/fhir/Location?_offset=1.5", "_offset"),
    ("/fhir/Organization?_lastUpdated=yesterday", "_lastUpdated"),
    ("/fhir/Organization?_lastUpdated=sa2026-01-01", "_lastUpdated"),
    ("/fhir/Organization?_lastUpdated=2026-02-30", "_lastUpdated"),
    ("/fhir/Organization?_lastUpdated=2026-02-01T10:00", "_lastUpdated"),
    ("/fhir/Location?near=-33.8|151.2|5|furlongs", "near"),
    ("/fhir/Location?near=-95|151.2|5|km", "near"),
    ("/fhir/Location?near=-33.8", "near"),
    ("/fhir/Location?near=-33.8|151.2|0|km", "near"),
    ("/fhir/Location?near=nan|151.2", "near"),
    ("/fhir/Location?near=-33.8|151.2|inf", "near"),
    ("/fhir/HealthcareService?near=-33.8|151.2", "near"),
    ("/fhir/Location?location.near=-33.8|151.2", "location.near"),
    ("/fhir/HealthcareService?name=AA", "name"),
    ("/fhir/HealthcareService?_id=" + ",".join(f"a{i}" for i in range(101)), "_id"),
])
def test_bad_parameters_are_a_400_outcome_naming_the_parameter(client, url, parameter):
    """A malformed or unsupported parameter: 400, an OperationOutcome whose issue names it."""
    outcome = OperationOutcome.model_validate(get_fhir(client, url, status=400))
    assert outcome.issue[0].severity == "error"
    assert outcome.issue[0].code in ("invalid", "not-supported")
    assert outcome.issue[0].expression == [parameter]


@pytest.mark.parametrize("url", ["/fhir/HealthcareService/demo:g0001", "/fhir/HealthcareService/demo.x9999",
                                 "/fhir/Location/demo.h0001", "/fhir/Organization/program.nothing",
                                 "/fhir/CodeSystem/linkage-colour", "/fhir/Location/a/b"])
def test_unknown_ids_are_a_404_outcome(client, url):
    """An id nothing has (a helpline has no Location): 404 with a not-found OperationOutcome."""
    outcome = OperationOutcome.model_validate(get_fhir(client, url, status=404))
    assert outcome.issue[0].code == "not-found"


def test_documented_in_openapi_with_the_parameters_the_search_accepts(client):
    """Every FHIR path is in the OpenAPI document; a search lists exactly the parameters it
    accepts, and errors are OperationOutcomes."""
    document = client.get("/v1/openapi.json").get_json()
    paths = {path for path in document["paths"] if path.startswith("/fhir/")}
    assert {"/fhir/HealthcareService", "/fhir/Location", "/fhir/Organization", "/fhir/CodeSystem"} <= paths
    operation = document["paths"]["/fhir/Location"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"_count", "_offset", "_id", "_format", "_lastUpdated", "near"}
    assert "application/fhir+json" in operation["responses"]["400"]["content"]
    for name in names:
        client_answer = client.get(f"/fhir/Location?{name}=%00")
        assert client_answer.status_code in (200, 400), name


@pytest.mark.engine
def test_sqlite_and_engine_give_the_same_resources(request):
    """The same resources, in the same order, from the SQLite index and the engine."""
    from service.views.fhir import build_catalogue

    sqlite_resources = build_catalogue(request.getfixturevalue("sqlite_backend").listings(), BASE).resources
    engine_resources = build_catalogue(request.getfixturevalue("engine_backend").listings(), BASE).resources
    assert sqlite_resources == engine_resources
    assert [r["id"] for r in sqlite_resources["HealthcareService"]] == EXPECTED["HealthcareService"]


def test_capability_statement_lists_what_each_search_accepts(client):
    """/fhir/metadata: a valid CapabilityStatement naming each type's search parameters."""
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    statement = CapabilityStatement.model_validate(get_fhir(client, "/fhir/metadata"))
    assert statement.fhirVersion == "4.0.1"
    declared = {r.type: {p.name for p in r.searchParam or []} for r in statement.rest[0].resource}
    assert declared["Location"] == {"_id", "_lastUpdated", "near"}
    assert declared["HealthcareService"] == {"_id", "_lastUpdated", "location.near"}
    for resource_type, names in declared.items():
        for name in names:
            assert "not-supported" not in client.get(f"/fhir/{resource_type}?{name}=x").get_data(as_text=True)


def test_format_json_is_accepted_and_xml_is_not(client):
    """_format=json (or the FHIR JSON media type, even with its "+" unencoded) is served; XML is not."""
    for value in ("json", "application/fhir%2Bjson", "application/fhir+json"):
        assert get_fhir(client, f"/fhir/Organization?_format={value}&_count=1")["total"] == len(EXPECTED["Organization"])
    outcome = get_fhir(client, "/fhir/Organization?_format=xml", status=400)
    assert outcome["issue"][0]["expression"] == ["_format"]
