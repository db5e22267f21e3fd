"""Listings as HSDS 3.0 objects (service.render.hsds): every demo listing validates against the
official HSDS 3.0 schemas, hand-read demo records come out as the specification says, and
what HSDS carries reads back through our own HSDS reader unchanged."""

from __future__ import annotations

import csv
import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from indexers.records import ReadOptions, plain_name
from indexers.sources.hsds import read_hsds
from service.domain import taxonomy, vocab
from service.domain.schemas import dump_listing
from service.render import hsds
from tests.conftest import DEMO, ROOT

SCHEMAS = ROOT / "tests" / "fixtures" / "standards" / "hsds-3.0"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@lru_cache(maxsize=None)
def _registry() -> Registry:
    """Every schema file by its file name, which is how the schemas' $refs name each other."""
    resources = []
    for path in [*SCHEMAS.glob("*.json"), *SCHEMAS.glob("compiled/*.json")]:
        if path.name == "openapi.json":
            continue
        name = path.relative_to(SCHEMAS).as_posix()
        resources.append((name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8")),
                                                       default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """A validator for one official schema ("service.json", "compiled/service_list.json"),
    checking formats too (uuid, email, date-time where the checker knows them)."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return Draft202012Validator({**schema, "$id": name}, registry=_registry(), format_checker=FormatChecker())


def errors(name: str, instance) -> list[str]:
    """The schema's complaints about an instance, as "path: message" lines."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(name).iter_errors(instance)]


def page_schema() -> dict:
    """The profile's Page envelope (openapi.json, components/schemas/Page)."""
    openapi = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))
    return openapi["components"]["schemas"]["Page"]


def test_the_schemas_catch_what_they_should():
    # The validator is not asleep: a service without a status, or with an id that is not a
    # UUID, or a schedule with a frequency HSDS does not list, is refused.
    assert errors("service.json", {"id": "4c2b7f4e-3d1a-5f7b-9c8d-1e2f3a4b5c6d", "name": "x"})
    assert errors("service.json", {"id": "demo:g0001", "name": "x", "status": "active"})
    assert errors("service.json", {"id": "4c2b7f4e-3d1a-5f7b-9c8d-1e2f3a4b5c6d", "name": "x", "status": "active",
                                   "schedules": [{"id": "4c2b7f4e-3d1a-5f7b-9c8d-1e2f3a4b5c6d", "freq": "YEARLY"}]})


def test_every_demo_listing_validates_as_a_service_and_its_parts(demo_listings):
    assert len(demo_listings) == len(json.loads(DEMO.read_text(encoding="utf-8")))
    for listing in demo_listings:
        full = hsds.to_service(listing)
        assert errors("service.json", full) == [], listing.id
        assert errors("compiled/service_list.json", hsds.to_service(listing, full=False)) == [], listing.id
        for link in full["service_at_locations"]:
            assert errors("service_at_location.json", link) == [], listing.id
            assert errors("location.json", link["location"]) == [], listing.id
        organization = hsds.to_organization([listing], [hsds.to_service(listing, full=False)])
        assert errors("organization.json", organization) == [], listing.id
        assert errors("compiled/organization_list.json", hsds.to_organization([listing])) == [], listing.id


def test_ids_are_stable_uuids_and_unique(demo_listings):
    ids = [hsds.to_service(listing)["id"] for listing in demo_listings]
    assert all(UUID.match(i) for i in ids) and len(set(ids)) == len(ids)
    assert hsds.service_id(demo_listings[0]) == hsds.service_id(demo_listings[0])
    # Every row of every service has its own id.
    rows = [row["id"] for listing in demo_listings for key, value in hsds.to_service(listing).items()
            if isinstance(value, list) and key != "linkage_also_from" for row in value]
    assert len(set(rows)) == len(rows)


def _demo(listings, listing_id):
    return next(listing for listing in listings if listing.id == listing_id)


def test_a_weekly_group_as_the_demo_file_has_it(demo_listings):
    # demo:g0001, read by hand: SMART Recovery, Wednesdays 18:00-19:30 in Sydney, 21 Pattern
    # Place Sydney NSW 2000, phone 02 5550 4826, free, self-referral, verified 2026-03-11,
    # changed 2026-03-23, wheelchair-free but with parking and public transport.
    service = hsds.to_service(_demo(demo_listings, "demo:g0001"))
    assert service["name"] == "Demo group"  # HSDS text is plain: the hostile tag is gone
    assert service["status"] == "active"
    assert [(s["freq"], s["byday"], s["opens_at"], s["closes_at"], s["linkage_timezone"])
            for s in service["schedules"]] == [("WEEKLY", "WE", "18:00", "19:30", "Australia/Sydney")]
    assert "timezone" not in service["schedules"][0]  # a fixed offset would be wrong half the year
    assert [p["number"] for p in service["phones"]] == ["02 5550 4826"]
    assert service["email"] == "smart.sydney@example.org" and service["url"] == "https://example.org/smart/sydney"
    assert service["assured_date"] == "2026-03-11" and service["last_modified"] == "2026-03-23T00:00:00Z"
    assert service["fees_description"] == "Free" and service["cost_options"][0]["option"] == "Free"
    assert service["program"]["name"] == "SMART Recovery"
    [link] = service["service_at_locations"]
    location = link["location"]
    assert (location["latitude"], location["longitude"]) == (-33.8795, 151.1966)
    [address] = location["addresses"]
    assert (address["address_1"], address["city"], address["state_province"], address["postal_code"],
            address["country"]) == ("21 Pattern Place", "Sydney", "NSW", "2000", "AU")
    assert [a["description"] for a in location["accessibility"]] == ["Parking"]
    assert location["transportation"]
    assert [x["code"] for x in service["languages"]] == ["en"]
    codes = {a["taxonomy_term"]["code"] for a in service["attributes"]}
    assert codes == {"kind:group", "approach:self_management", "goal:abstinence", "goal:moderation",
                     "substance:any", "audience:everyone", "format:in_person", "facilitation:facilitator_led"}
    assert service["linkage_id"] == "demo:g0001"
    assert service["linkage_source"] == {"name": "Demo data — fictional", "url": "https://example.org/linkage-demo",
                                         "licence": "CC0-1.0"}


def test_monthly_sessions_and_24_7_helplines(demo_listings):
    # demo:g0008 meets on the first Saturday 10:00-11:30; demo:g0009 on the last Tuesday
    # online (its conference link a virtual location); demo:h0001 is open 24/7 by phone and
    # online across Australia.
    first = hsds.to_service(_demo(demo_listings, "demo:g0008"))["schedules"]
    assert [(s["freq"], s["byday"], s["opens_at"], s["closes_at"]) for s in first] \
        == [("MONTHLY", "1SA", "10:00", "11:30")]
    last = hsds.to_service(_demo(demo_listings, "demo:g0009"))
    assert [(s["freq"], s["byday"]) for s in last["schedules"]] == [("MONTHLY", "-1TU")]
    assert [(link["location"]["location_type"], link["location"]["url"]) for link in last["service_at_locations"]] \
        == [("virtual", "https://example.org/meet/smart-ff-0009")]
    helpline = hsds.to_service(_demo(demo_listings, "demo:h0001"))
    assert [(s["freq"], s["byday"], s["opens_at"], s["closes_at"]) for s in helpline["schedules"]] \
        == [("WEEKLY", "MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59")]
    assert [a["name"] for a in helpline["service_areas"]] == ["Australia"]
    assert helpline["service_at_locations"] == []
    assert helpline["organization_id"] != hsds.to_service(_demo(demo_listings, "demo:h0002"))["organization_id"]


def test_the_taxonomy_has_a_term_for_every_vocabulary_value():
    for vocabulary, values in (("kind", vocab.KINDS), ("approach", vocab.APPROACHES), ("goal", vocab.GOALS),
                               ("substance", vocab.SUBSTANCES), ("audience", vocab.AUDIENCES),
                               ("format", vocab.FORMATS), ("facilitation", vocab.FACILITATION)):
        for value in values:
            term = taxonomy.term_for(vocabulary, value)
            assert UUID.match(term.id) and term.parent_id == taxonomy.term_id(vocabulary)
            assert errors("taxonomy_term.json", hsds.to_taxonomy_term(term)) == []
    assert errors("taxonomy.json", taxonomy.TAXONOMY) == []
    assert len({t.id for t in taxonomy.TERMS.values()}) == len(taxonomy.TERMS)


def test_the_page_envelope():
    page = hsds.Page(["a", "b"], 5, 3, 2).document()
    assert page == {"total_items": 5, "total_pages": 3, "page_number": 3, "size": 2, "first_page": False,
                    "last_page": True, "empty": False, "contents": ["a", "b"]}
    assert Draft202012Validator(page_schema()).is_valid(page)
    assert hsds.Page([], 0, 1, 20).document()["empty"] is True


# --- the round trip ---------------------------------------------------------------------------------

# What HSDS carries and our reader (indexers.sources.hsds) reads back, compared listing by
# listing. Left out, and why:
# - id: HSDS ids are UUIDs; the reader names listings `source:<service id>`, so listings are
#   matched through the service id instead (the listing id travels as `linkage_id`).
# - kind, approach, goals, substances, audiences, facilitation: published as Linkage taxonomy
#   attributes, which the reader does not read (it leaves the stance to the program defaults).
# - program, source: the reader takes them from its own options (the feed being imported).
# - timezone of a listing without schedule rows: HSDS's schedule timezone is a UTC offset, so
#   the IANA zone travels as the schedule extension `linkage_timezone`; without a schedule it
#   has nowhere to go (the reader then uses the state's zone or the one configured).
# - service_area, formats of listings without a place, conference_phone, registration_url,
#   registration_required, open_meeting, first_visit, location.approximate: the reader has no
#   field for them (the formats of a listing without a place it infers from website and phone,
#   and a listing with a place is never "by phone" to it).
# - accessibility of a listing without a place: HSDS keeps accessibility on locations.
COMPARED = ("name", "description", "status", "cost", "referral", "updated_at", "verified_at", "languages",
            "sessions", "open_24_7", "timezone (of listings with schedules)", "contact.phone", "contact.email", "contact.website",
            "contact.conference_url", "location", "accessibility", "formats (of listings with a place, less phone)")


def _carried(data: dict) -> dict:
    """The compared fields of a listing (dumped) or of a record the reader made."""
    contact = data.get("contact") or {}
    location = data.get("location")
    return {
        "name": plain_name(data["name"]),  # the reader makes names plain text, as import does
        "description": data["description"],
        "status": data.get("status", "active"),
        "cost": data.get("cost"),
        "referral": data.get("referral"),
        "updated_at": data.get("updated_at"),
        "verified_at": data.get("verified_at"),
        "languages": list(data.get("languages") or []),
        "sessions": sorted(tuple(sorted((k, v) for k, v in s.items() if v is not None))
                           for s in data.get("sessions") or []),
        "open_24_7": bool(data.get("open_24_7")),
        "timezone": data.get("timezone") if data.get("sessions") or data.get("open_24_7") else None,
        "contact": {k: contact.get(k) for k in ("phone", "email", "website", "conference_url")},
        "location": {k: v for k, v in location.items() if k != "approximate"} if location else None,
        "accessibility": list(data.get("accessibility") or []) if location else None,
        # A service with a place is in person, and online with a virtual location; the reader
        # never calls it "by phone" (its phone is carried, compared above as contact.phone).
        "formats": [f for f in data.get("formats") or [] if f != "phone"] if location else None,
    }


def test_round_trip_through_our_hsds_reader(demo_listings, tmp_path):
    contents = [hsds.to_service(listing) for listing in demo_listings]
    feed = tmp_path / "services.json"
    feed.write_text(json.dumps(hsds.Page(contents, len(contents), 1, len(contents)).document()), encoding="utf-8")
    # A zone for the listings without a place (the reader needs one; the zone is not compared).
    records = list(read_hsds(feed, ReadOptions("hsds-export", timezone="Australia/Sydney", country="AU")))
    by_service = {hsds.service_id(listing): listing for listing in demo_listings}
    assert all(r.data is not None for r in records), [(r.position, r.problems) for r in records if r.data is None][:3]
    assert len(records) == len(demo_listings)
    compared = 0
    for record in records:
        listing = by_service[record.data["id"].split(":", 1)[1]]
        assert _carried(record.data) == _carried(dump_listing(listing)), listing.id
        assert not record.problems, (listing.id, record.problems)
        compared += 1
    assert compared == 459


# --- the tabular data package (linkage export --format hsds-tabular) ----------------------------


def _tabular_spec() -> dict:
    """The specification's tables (compiled/tabular.json): name -> its file and columns."""
    spec = json.loads((SCHEMAS / "compiled" / "tabular.json").read_text(encoding="utf-8"))
    return {name: value.get("items", value) for name, value in spec["properties"].items()}


def test_the_package_has_the_specification_s_files_and_columns(demo_listings, tmp_path):
    from indexers.commands.export import write_hsds_package

    counts = write_hsds_package(demo_listings, tmp_path)
    spec = _tabular_spec()
    assert counts["service"] == len(demo_listings)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert {r["name"]: r["path"] for r in descriptor["resources"]} == {t: spec[t]["path"] for t in hsds.TABLES}
    for table, (path, columns) in hsds.TABLES.items():
        assert path == spec[table]["path"]
        scalar = [c for c, d in spec[table]["properties"].items() if d.get("type") not in ("array", "object", None)]
        with open(tmp_path / path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
            header = list(rows[0]) if rows else []
        assert [c for c in header if not c.startswith("linkage_")] == scalar, table
        required = set(spec[table].get("required", ())) | set(spec[table].get("tabular_required", ()))
        for row in rows:
            assert all(row[c] != "" for c in required if c not in ("address_1", "city", "postal_code")), (table, row)
            for column, definition in spec[table]["properties"].items():
                if row.get(column) and definition.get("format") == "uuid":
                    assert UUID.match(row[column]), (table, column, row[column])
    # Each shared row once: 13 programs in the demo file, so 13 program rows.
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    assert counts["program"] == len({e["program"] for e in demo if e["program"]})
    assert counts["schedule"] == sum(len(e["sessions"]) + e["open_24_7"] for e in demo)


def test_round_trip_of_the_package_through_our_hsds_reader(demo_listings, tmp_path):
    from indexers.commands.export import write_hsds_package

    write_hsds_package(demo_listings, tmp_path)
    records = list(read_hsds(tmp_path, ReadOptions("hsds-export", timezone="Australia/Sydney", country="AU")))
    assert len(records) == len(demo_listings)
    assert all(r.data is not None and not r.problems for r in records), [r.problems for r in records if r.problems][:3]
    by_service = {hsds.service_id(listing): listing for listing in demo_listings}
    for record in records:
        listing = by_service[record.data["id"].split(":", 1)[1]]
        got, expected = _carried(record.data), _carried(dump_listing(listing))
        # In the tables each service names its organisation, and the reader notes who
        # provides a service in its description when the description does not say.
        provided = f"Provided by {listing.program}.\n\n"
        if listing.program and got["description"] == provided + expected["description"]:
            got["description"] = expected["description"]
        assert got == expected, listing.id


def test_the_export_command_writes_the_index_as_a_package(demo_listings, tmp_path, capsys):
    import argparse

    from indexers.commands import export
    from service.backends.sqlite.backend import SQLiteBackend

    index = tmp_path / "linkage.sqlite"
    SQLiteBackend(index).load(demo_listings)
    parser = argparse.ArgumentParser()
    export.add_parser(parser.add_subparsers())
    args = parser.parse_args(["export", "--format", "hsds-tabular", "--backend", "sqlite", "--sqlite-path", str(index),
                              str(tmp_path / "package")])
    assert args.func(args) == 0
    assert f"wrote {len(demo_listings)} services" in capsys.readouterr().out
    with open(tmp_path / "package" / "services.csv", encoding="utf-8", newline="") as handle:
        assert sorted(row["linkage_id"] for row in csv.DictReader(handle)) == sorted(l.id for l in demo_listings)
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "--format", "csv", str(tmp_path / "other")])
