"""The FHIR resources of every demo listing: valid FHIR R4 (fhir.resources' R4B models, whose
HealthcareService, Location and Organization are R4's), within the value sets FHIR binds as
required and AU Base's address rules, and a round trip: our JSON -> the model -> JSON again,
whose mapped fields must say what data/demo/listings.json says, read here by hand.

Expected values come from the demo file and from the FHIR and AU Base specifications (the
code lists below are copied from them), never from service.render.fhir.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization

from service.domain.models import Session
from service.render import fhir
from tests.conftest import DEMO

BASE = "https://linkage.example"
SYSTEM = BASE + "/fhir/CodeSystem/linkage-"
# Value sets FHIR R4 binds as required (hl7.org/fhir/R4/valueset-*.html).
DAYS_OF_WEEK = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
CONTACT_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
CONTACT_USES = {"home", "work", "temp", "old", "mobile"}
LOCATION_STATUS = {"active", "suspended", "inactive"}
LOCATION_MODE = {"instance", "kind"}
ADDRESS_USE = {"home", "work", "temp", "old", "billing"}
ADDRESS_TYPE = {"postal", "physical", "both"}
# AU Base's Australian address: the states and territories value set, a four-digit postcode.
AU_STATES = {"NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"}
DAY_WORDS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}


@pytest.fixture(scope="module")
def raw_listings() -> dict[str, dict]:
    """The demo file as written, by id."""
    return {entry["id"]: entry for entry in json.loads(DEMO.read_text(encoding="utf-8"))}


def round_trip(model, resource: dict) -> dict:
    """Our JSON through the fhir.resources model and back to JSON."""
    return json.loads(model.model_validate(resource).model_dump_json())


def codes(concepts: list[dict], vocabulary: str) -> list[str]:
    """The Linkage codes of one vocabulary among CodeableConcepts."""
    return [c["code"] for concept in concepts for c in concept["coding"] if c["system"] == SYSTEM + vocabulary]


def test_every_kind_is_in_the_demo(raw_listings):
    """The round trips below cover groups, treatment services and helplines."""
    assert set(Counter(entry["kind"] for entry in raw_listings.values())) == {"group", "service", "helpline"}


def test_healthcare_services_validate_and_round_trip(demo_listings, raw_listings):
    """Every listing's HealthcareService is valid FHIR and says what the demo file says."""
    seen_ids = set()
    for listing in demo_listings:
        raw = raw_listings[listing.id]
        out = round_trip(HealthcareService, fhir.healthcare_service(listing, BASE))
        assert out["resourceType"] == "HealthcareService"
        assert out["id"] not in seen_ids
        seen_ids.add(out["id"])
        assert out["identifier"] == [{"system": BASE + "/listings", "value": raw["id"]}]
        assert out["name"] == raw["name"]
        assert out["active"] is (raw["status"] != "inactive")
        assert codes(out["category"], "kind") == [raw["kind"]]
        assert codes(out["type"], "approach") == [raw["approach"]]
        characteristic = out["characteristic"]
        assert codes(characteristic, "goal") == raw["goals"]
        assert codes(characteristic, "substance") == raw["substances"]
        assert codes(characteristic, "format") == raw["formats"]
        assert codes(characteristic, "audience") == raw["audiences"]
        assert codes(characteristic, "facilitation") == ([raw["facilitation"]] if raw["facilitation"] else [])
        assert codes(characteristic, "accessibility") == raw["accessibility"]
        only_for = [a for a in raw["audiences"] if a != "everyone"]
        assert codes([e["code"] for e in out.get("eligibility", [])], "audience") == only_for
        assert out.get("program") == ([{"text": raw["program"]}] if raw["program"] else None)
        assert codes(out["referralMethod"], "referral") == [raw["referral"]]
        assert codes(out["serviceProvisionCode"], "cost") == [raw["cost"]]
        standard_cost = [c["code"] for c in out["serviceProvisionCode"][0]["coding"]
                         if c["system"] == "http://terminology.hl7.org/CodeSystem/service-provision-conditions"]
        assert standard_cost == [{"free": "free", "low_cost": "cost", "fee": "cost"}[raw["cost"]]]
        assert [c["coding"][0]["code"] for c in out.get("communication", [])] == raw["languages"]
        assert all(c["coding"][0]["system"] == "urn:ietf:bcp:47" for c in out.get("communication", []))
        assert out["appointmentRequired"] is raw["registration_required"]
        contact_values = [v for k, v in raw["contact"].items() if v]
        assert sorted(t["value"] for t in out.get("telecom", [])) == sorted(contact_values)
        for point in out.get("telecom", []):
            assert point["system"] in CONTACT_SYSTEMS and point["use"] in CONTACT_USES
            expected = "email" if point["value"] == raw["contact"]["email"] else (
                "url" if point["value"].startswith("http") else "phone")
            assert point["system"] == expected
        newest = max(d for d in (raw["verified_at"], raw["updated_at"]) if d)
        assert out["meta"]["lastUpdated"].startswith(newest)
        assert out["meta"]["profile"] == ["http://hl7.org.au/fhir/StructureDefinition/au-healthcareservice"]
        if raw["location"]:
            assert out["location"] == [{"reference": f"Location/{out['id']}"}]
        else:
            assert "location" not in out
        assert [c["reference"] for c in out.get("coverageArea", [])] == [f"Location/area.{a}" for a in raw["service_area"]]
        assert out["providedBy"]["display"] == (raw["program"] or raw["name"])
        assert raw["description"].strip() in out["extraDetails"]
        assert ("notAvailable" in out) is (raw["status"] == "temporarily_closed")
        check_times(out, raw)


def check_times(out: dict, raw: dict) -> None:
    """availableTime holds exactly the weekly sessions (24/7 as allDay every day), monthly
    sessions are in availabilityExceptions, and every entry names the listing's zone."""
    times = out.get("availableTime", [])
    for entry in times:
        assert set(entry["daysOfWeek"]) <= DAYS_OF_WEEK
        assert entry["extension"] == [{"url": "http://hl7.org/fhir/StructureDefinition/timezone",
                                       "valueCode": raw["timezone"]}]
    if raw["open_24_7"]:
        assert [(sorted(t["daysOfWeek"]), t.get("allDay")) for t in times] == [(sorted(DAYS_OF_WEEK), True)]
        return
    spans = {(day, t["availableStartTime"], t["availableEndTime"]) for t in times for day in t["daysOfWeek"]}
    weekly = {(s["weekday"], s["start"] + ":00", s["end"] + ":00") for s in raw["sessions"] if not s.get("monthly")}
    assert spans == weekly
    monthly = [s for s in raw["sessions"] if s.get("monthly")]
    text = out.get("availabilityExceptions", "")
    assert bool(text) is bool(monthly)
    for session in monthly:
        assert f"{session['monthly'].capitalize()} {DAY_WORDS[session['weekday']]} of the month, " \
               f"{session['start']}-{session['end']}" in text
    if monthly:
        assert raw["timezone"] in text


def test_locations_validate_follow_au_base_and_round_trip(demo_listings, raw_listings):
    """Each in-person listing's Location: valid, an AU Base address, the demo's position."""
    located = 0
    for listing in demo_listings:
        raw = raw_listings[listing.id]
        resource = fhir.location(listing, BASE)
        if raw["location"] is None:
            assert resource is None
            continue
        located += 1
        out = round_trip(Location, resource)
        place = raw["location"]
        assert out["position"] == {"latitude": place["lat"], "longitude": place["lon"]}
        assert out["status"] in LOCATION_STATUS and out["mode"] in LOCATION_MODE
        assert out["status"] == {"active": "active", "temporarily_closed": "suspended"}.get(raw["status"], "inactive")
        address = out["address"]
        assert address["use"] in ADDRESS_USE and address["type"] in ADDRESS_TYPE
        assert address.get("line") == ([place["address"]] if place["address"] else None)
        assert address.get("city") == place["locality"]
        assert address["country"] == place["country"]
        assert address.get("text") or address.get("line")  # AU Base inv-add-0
        if place["country"] == "AU":
            assert address.get("state") in AU_STATES | {None}
            assert address.get("postalCode") is None or (len(address["postalCode"]) == 4
                                                         and address["postalCode"].isdigit())
            assert address.get("postalCode") == place["postcode"]
        assert out["managingOrganization"]["reference"] == "Organization/" + (
            fhir.program_organization_id(raw["program"]) if raw["program"] else out["id"])
        if raw["contact"]["phone"]:
            assert [t["value"] for t in out["telecom"]] == [raw["contact"]["phone"]]
    assert located == sum(1 for raw in raw_listings.values() if raw["location"])


def test_organizations_and_areas_validate(demo_listings, raw_listings):
    """Organizations (a program's fellowship, or the listing as its own provider) and the
    service-area Locations are valid and named as the demo file names them."""
    for listing in demo_listings:
        raw = raw_listings[listing.id]
        out = round_trip(Organization, fhir.organization(listing, BASE))
        assert out["name"] == (raw["program"] or raw["name"])
        if not raw["program"]:
            wanted = {raw["contact"][k] for k in ("phone", "email", "website") if raw["contact"][k]}
            assert {t["value"] for t in out.get("telecom", [])} == wanted
        for area in raw["service_area"]:
            area_out = round_trip(Location, fhir.area_location(area))
            assert area_out["id"] == f"area.{area}" and area_out["mode"] == "kind"
            assert area_out["physicalType"]["coding"][0]["code"] == "jdn"


def test_code_systems_define_every_code_the_resources_use(demo_listings):
    """Every Linkage coding in a resource is a concept of its (valid) CodeSystem."""
    from service.domain.codesystems import CODE_SYSTEMS

    defined = {}
    for name in CODE_SYSTEMS:
        out = round_trip(CodeSystem, fhir.code_system(BASE, name))
        assert out["url"] == SYSTEM + name and out["content"] == "complete"
        assert out["count"] == len(out["concept"])
        defined[out["url"]] = {c["code"] for c in out["concept"]}
    used = 0
    for listing in demo_listings:
        text = json.dumps(fhir.healthcare_service(listing, BASE))
        for coding in _codings(json.loads(text)):
            if coding["system"].startswith(SYSTEM):
                assert coding["code"] in defined[coding["system"]], coding
                used += 1
    assert used > 459 * 5


def _codings(value):
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def test_ids_are_valid_fhir_ids_and_never_collide():
    """Ids of every shape a listing id may take are FHIR ids, distinct for distinct listings."""
    listing_ids = ["demo:g0001", "a:b", "a-b:c", "a:b-c", "a.b:c", "a:b.c", "a_b:c", "a:b_c", "a:b:c",
                   "x:" + "y" * 120, "x:" + "y" * 119 + "z", "bmlt:server-1-42", "a:b..c", "hsds:0123456789ab"]
    ids = [fhir.fhir_id(i) for i in listing_ids]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert 1 <= len(value) <= 64 and all(ch.isascii() and (ch.isalnum() or ch in "-.") for ch in value)
    assert fhir.fhir_id("demo:g0001") == "demo.g0001"
    Location.model_validate({"resourceType": "Location", "id": fhir.fhir_id("x:" + "y" * 120)})


def test_sessions_past_midnight_and_monthly_only(demo_listings):
    """A Saturday 23:00-01:00 session is Saturday to 23:59:59 and Sunday from midnight; a
    listing with only monthly sessions has no availableTime but the exceptions text."""
    from dataclasses import replace

    group = next(listing for listing in demo_listings if listing.kind == "group" and not listing.open_24_7)
    late = replace(group, sessions=(Session("sat", "23:00", "01:00"),))
    out = round_trip(HealthcareService, fhir.healthcare_service(late, BASE))
    spans = {(d, t["availableStartTime"], t["availableEndTime"]) for t in out["availableTime"] for d in t["daysOfWeek"]}
    assert spans == {("sat", "23:00:00", "23:59:59"), ("sun", "00:00:00", "01:00:00")}
    monthly = replace(group, sessions=(Session("tue", "19:00", "20:30", monthly="last"),))
    out = round_trip(HealthcareService, fhir.healthcare_service(monthly, BASE))
    assert "availableTime" not in out
    assert out["availabilityExceptions"].startswith("Last Tuesday of the month, 19:00-20:30")


def test_bundle_and_outcome_validate(demo_listings):
    """A searchset Bundle and an OperationOutcome are valid FHIR."""
    resources = [fhir.healthcare_service(listing, BASE) for listing in demo_listings[:3]]
    out = round_trip(Bundle, fhir.bundle(resources, 459, BASE, {"self": BASE + "/fhir/HealthcareService",
                                                                "next": BASE + "/fhir/HealthcareService?_offset=3"}))
    assert out["type"] == "searchset" and out["total"] == 459
    assert [e["fullUrl"] for e in out["entry"]] == [f"{BASE}/fhir/HealthcareService/{r['id']}" for r in resources]
    outcome = round_trip(OperationOutcome, fhir.operation_outcome("invalid", "bad", "_count"))
    assert outcome["issue"][0]["expression"] == ["_count"]
