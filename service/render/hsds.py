"""Listings as Open Referral HSDS 3.0 objects (the API profile's shapes), and its Page envelope.

Pure functions: a Listing in, JSON-ready dicts out. The views (service.views.hsds) choose,
filter and page; indexers.sources.hsds reads what these write back into listings.

What maps to what
-----------------
* A listing is one HSDS `service` (id: a UUID made from the listing id; the listing id itself
  is kept as the extension `linkage_id`).
* Its organisation: Linkage records the program, not who runs each group, so a listing with a
  program (SMART Recovery, AA, ...) is provided by that program's `organization` and
  delivered under its `program`; a listing without one (most treatment services and
  helplines) is its own organisation, under its own name.
* Its place is a physical `location` with one `address`, its conference link a virtual
  `location` (the dial-in number as that location's phone); each is linked to the service by a
  `service_at_location`.
* Sessions are `schedule` rows: freq WEEKLY with `byday` MO..SU, or MONTHLY with an occurrence
  (`1SA` first Saturday, `-1FR` last Friday); `opens_at`/`closes_at` are local wall-clock
  times "HH:MM". HSDS's `timezone` is a fixed number of hours from UTC, which is wrong for half
  the year wherever clocks change, so it is left out and the IANA zone is given as the
  extension `linkage_timezone` (on every schedule row and on the service). Open 24/7 is one
  row, every day 00:00-23:59.
* Phone, e-mail, website, languages (ISO 639 codes), accessibility (rows on the physical
  location; public transport as its `transportation`), cost (`fees_description` and one
  `cost_option`; Linkage knows no amounts), referral and registration (`application_process`),
  audiences (`eligibility_description`), service areas (states or the country).
* Kind, approach, goals, substances, audiences, formats and facilitation are `attributes` whose
  `taxonomy_term` belongs to the Linkage taxonomy (service.domain.taxonomy).
* `last_modified` is the day the listing last changed (its `updated_at`, else the day it was
  verified), `assured_date` the day it was verified.
* Extensions (`linkage_*`, which HSDS allows): the listing id, kind, source and licence (and the
  other feeds listing the same meeting), the time zone, whether a place is approximate, the
  registration link, what to expect on a first visit.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

from service.domain import taxonomy, vocab
from service.domain.geo import AU_STATE_NAMES
from service.domain.models import Listing
from service.domain.taxonomy import LINKAGE_NAMESPACE

# iCal day codes, Monday first as vocab.WEEKDAYS.
DAY_CODES = dict(zip(vocab.WEEKDAYS, ("MO", "TU", "WE", "TH", "FR", "SA", "SU")))
# A monthly session's occurrence -> the number before the day in an iCal MONTHLY byday.
OCCURRENCES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}

STATUSES = {"active": "active", "inactive": "inactive", "temporarily_closed": "temporarily closed"}
# Written so that any HSDS reader's wording rules, ours included, read them back as meant.
COST_TEXT = {"free": "Free", "low_cost": "Low cost", "fee": "Fees apply"}
REFERRAL_TEXT = {"self": "Self-referral: no referral needed.",
                 "gp_referral": "A referral from a GP is required."}
ACCESSIBILITY_TEXT = {
    "wheelchair_access": "Wheelchair access", "accessible_toilet": "Accessible toilet",
    "hearing_loop": "Hearing loop", "auslan_interpreter": "Auslan interpreter", "parking": "Parking",
}
TRANSPORT_TEXT = "Close to public transport (bus or train)."
COUNTRY_NAMES = {"AU": "Australia", "NZ": "New Zealand", "US": "United States", "GB": "United Kingdom",
                 "CA": "Canada"}

# The vocabularies published as attributes, and the listing field each comes from.
ATTRIBUTE_FIELDS = (("kind", "kind"), ("approach", "approach"), ("goal", "goals"), ("substance", "substances"),
                    ("audience", "audiences"), ("format", "formats"), ("facilitation", "facilitation"))


def hsds_id(what: str, key: str) -> str:
    """A stable UUID for one HSDS object ("service", "demo:g0001"): the same on every server."""
    return str(uuid.uuid5(LINKAGE_NAMESPACE, f"{what}:{key}"))


def service_id(listing: Listing) -> str:
    """The HSDS service id of a listing."""
    return hsds_id("service", listing.id)


def organization_key(listing: Listing) -> str:
    """What the listing's organisation is named by: its program, else the listing itself."""
    return f"program:{listing.program}" if listing.program else f"listing:{listing.id}"


def organization_id(listing: Listing) -> str:
    """The HSDS organization id of a listing's organisation."""
    return hsds_id("organization", organization_key(listing))


def location_id(listing: Listing, virtual: bool = False) -> str:
    """The HSDS location id of a listing's physical place, or of its conference link."""
    return hsds_id("location", f"{'virtual:' if virtual else ''}{listing.id}")


def service_at_location_id(listing: Listing, virtual: bool = False) -> str:
    """The HSDS service_at_location id linking a listing with its place or conference link."""
    return hsds_id("service_at_location", f"{'virtual:' if virtual else ''}{listing.id}")


def plain(text: str | None) -> str | None:
    """Text without tags: HSDS text fields are plain, whatever a store holds."""
    from service.render.meeting_guide import plain_text

    return plain_text(text, one_line=True) if text else text


def last_modified(listing: Listing) -> str | None:
    """The day the listing last changed (else was verified), as an HSDS date-time at 00:00 UTC."""
    day = listing.updated_at or listing.verified_at
    if not day:
        return None
    return day if "T" in day else f"{day}T00:00:00Z"


# --- service ------------------------------------------------------------------------------------


def to_service(listing: Listing, *, full: bool = True) -> dict:
    """The listing as an HSDS `service`: with every related row (`service_full`), or with only
    its one-to-one fields as the profile's lists give them (`full=False`)."""
    sid = service_id(listing)
    service: dict = {
        "id": sid,
        "organization_id": organization_id(listing),
        "name": plain(listing.name),
        "description": listing.description,
        "status": STATUSES.get(listing.status, "active"),
        "fees_description": COST_TEXT.get(listing.cost),
        "application_process": _application_process(listing),
        "eligibility_description": _eligibility(listing),
    }
    if listing.program:
        service["program_id"] = hsds_id("program", listing.program)
    if listing.contact.website:
        service["url"] = listing.contact.website
    if listing.contact.email:
        service["email"] = listing.contact.email
    if listing.verified_at:
        service["assured_date"] = listing.verified_at[:10]
    if last_modified(listing):
        service["last_modified"] = last_modified(listing)
    service.update(_extensions(listing))
    if listing.program:
        service["program"] = to_program(listing)
    if not full:
        return {k: v for k, v in service.items() if v is not None}
    service["phones"] = ([_phone(f"phone:{listing.id}", listing.contact.phone, service_id=sid)]
                         if listing.contact.phone else [])
    service["schedules"] = schedules(listing, sid)
    service["service_areas"] = [
        {"id": hsds_id("service_area", f"{listing.id}:{area}"), "service_id": sid, "name": _area_name(area),
         "description": f"Available by {' and '.join(f for f in listing.formats if f != 'in_person')} "
                        f"to people in {_area_name(area)}."}
        for area in listing.service_area]
    service["service_at_locations"] = [to_service_at_location(listing, virtual) for virtual in _places(listing)]
    service["languages"] = [{"id": hsds_id("language", f"{listing.id}:{code}"), "service_id": sid, "code": code}
                            for code in listing.languages]
    service["cost_options"] = ([{"id": hsds_id("cost_option", listing.id), "service_id": sid,
                                 "option": COST_TEXT[listing.cost]}] if listing.cost in COST_TEXT else [])
    service["attributes"] = attributes(listing, sid, "service")
    return {k: v for k, v in service.items() if v is not None}


def _application_process(listing: Listing) -> str:
    parts = [REFERRAL_TEXT.get(listing.referral, REFERRAL_TEXT["self"])]
    if listing.registration_required:
        parts.append("Register before the first visit" + (f": {listing.contact.registration_url}"
                                                          if listing.contact.registration_url else "."))
    if not listing.open_meeting:
        parts.append("A closed meeting: for people who want to stop or cut down themselves.")
    return " ".join(parts)


def _eligibility(listing: Listing) -> str:
    if not listing.audiences or listing.audiences == ("everyone",):
        return "Open to everyone."
    names = [taxonomy.term_for("audience", a).name for a in listing.audiences]
    return "For " + ", ".join(names) + "."


def _area_name(code: str) -> str:
    return AU_STATE_NAMES.get(code) or COUNTRY_NAMES.get(code) or code


def _extensions(listing: Listing) -> dict:
    """The `linkage_*` fields: what HSDS has no place for."""
    first = listing.first_visit
    return {
        "linkage_id": listing.id,
        "linkage_kind": listing.kind,
        "linkage_timezone": listing.timezone,
        "linkage_open_24_7": listing.open_24_7,
        "linkage_registration_url": listing.contact.registration_url,
        "linkage_first_visit": {k: v for k, v in (
            ("can_attend_while_using", first.can_attend_while_using), ("camera_optional", first.camera_optional),
            ("no_need_to_speak", first.no_need_to_speak), ("what_to_expect", first.what_to_expect)) if v is not None}
        or None,
        "linkage_source": _source(listing.source),
        "linkage_also_from": [_source(s) for s in listing.also_from] or None,
    }


def _source(source) -> dict:
    return {"name": source.name, "url": source.url, "licence": source.licence}


def _phone(key: str, number: str, **links) -> dict:
    return {"id": hsds_id("phone", key), **links, "number": number, "type": "voice"}


def _places(listing: Listing) -> list[bool]:
    """The listing's places as `virtual` flags: its physical place, then its conference link."""
    return ([False] if listing.location else []) + ([True] if listing.contact.conference_url else [])


# --- schedules ----------------------------------------------------------------------------------


def schedules(listing: Listing, sid: str) -> list[dict]:
    """The listing's sessions (and 24/7 opening) as HSDS schedule rows of the service."""
    rows = []
    if listing.open_24_7:
        rows.append({"id": hsds_id("schedule", f"{listing.id}:24/7"), "service_id": sid, "freq": "WEEKLY",
                     "byday": ",".join(DAY_CODES.values()), "opens_at": "00:00", "closes_at": "23:59",
                     "description": "Open 24 hours, 7 days a week.", "linkage_timezone": listing.timezone})
    for number, session in enumerate(listing.sessions):
        row = {"id": hsds_id("schedule", f"{listing.id}:{number}"), "service_id": sid}
        if session.monthly:
            row.update(freq="MONTHLY", byday=f"{OCCURRENCES[session.monthly]}{DAY_CODES[session.weekday]}")
        else:
            row.update(freq="WEEKLY", byday=DAY_CODES[session.weekday])
        row.update(opens_at=session.start, closes_at=session.end, linkage_timezone=listing.timezone)
        rows.append(row)
    return rows


# --- attributes -------------------------------------------------------------------------------


def attribute_codes(listing: Listing) -> list[str]:
    """The Linkage taxonomy codes that describe a listing ("goal:moderation", ...)."""
    codes = []
    for vocabulary, field_name in ATTRIBUTE_FIELDS:
        value = getattr(listing, field_name)
        for item in (value if isinstance(value, tuple) else (value,) if value else ()):
            codes.append(f"{vocabulary}:{item}")
    return codes


def to_taxonomy_term(term: taxonomy.Term, *, with_taxonomy: bool = True) -> dict:
    """A term of the Linkage taxonomy as an HSDS taxonomy_term; `with_taxonomy` nests the
    taxonomy itself (left out in attributes, where it would repeat in every row)."""
    out = {"id": term.id, "code": term.code, "name": term.name, "description": term.description,
           "taxonomy": taxonomy.TAXONOMY["name"], "taxonomy_id": taxonomy.TAXONOMY_ID, "language": "en"}
    if with_taxonomy:
        out["taxonomy_detail"] = dict(taxonomy.TAXONOMY)
    if term.parent_id:
        out["parent_id"] = term.parent_id
    return out


def attributes(listing: Listing, link_id: str, link_entity: str) -> list[dict]:
    """The listing's vocabulary values as HSDS attributes linked to one object."""
    rows = []
    for code in attribute_codes(listing):
        term = taxonomy.TERMS[code]
        rows.append({"id": hsds_id("attribute", f"{listing.id}:{code}"), "link_id": link_id,
                     "link_type": code.split(":")[0], "link_entity": link_entity, "taxonomy_term_id": term.id,
                     "value": code.split(":", 1)[1],
                     "taxonomy_term": to_taxonomy_term(term, with_taxonomy=False)})
    return rows


# --- organisations and programs -------------------------------------------------------------------


def to_program(listing: Listing) -> dict:
    """The HSDS program a listing is delivered under (only for listings with a program)."""
    from service.domain.programs import STANCES

    stance = STANCES.get(listing.program)
    return {"id": hsds_id("program", listing.program), "organization_id": organization_id(listing),
            "name": listing.program,
            "description": (stance.explainer if stance and stance.explainer else f"{listing.program} groups.")}


def to_organization(listings: list[Listing], services: list[dict] | None = None) -> dict:
    """The organisation of these listings (all with the same `organization_key`), with the
    services given (the profile's nested form) when `services` is not None."""
    first = listings[0]
    if first.program:
        organization = {"id": organization_id(first), "name": first.program,
                        "description": to_program(first)["description"]}
    else:
        organization = {"id": organization_id(first), "name": plain(first.name), "description": first.description}
        if first.contact.website:
            organization["website"] = first.contact.website
        if first.contact.email:
            organization["email"] = first.contact.email
    if services is not None:
        organization["services"] = services
    return organization


# --- locations ---------------------------------------------------------------------------------------


def to_location(listing: Listing, virtual: bool = False) -> dict:
    """The listing's physical place, or its conference link (`virtual`), as an HSDS location."""
    lid = location_id(listing, virtual)
    if virtual:
        out = {"id": lid, "location_type": "virtual", "url": listing.contact.conference_url,
               "name": f"{plain(listing.name)} (online)"}
        if listing.contact.conference_phone:
            out["phones"] = [_phone(f"conference:{listing.id}", listing.contact.conference_phone, location_id=lid)]
        return out
    place = listing.location
    out = {"id": lid, "location_type": "physical", "name": plain(listing.name),
           "latitude": place.lat, "longitude": place.lon, "linkage_approximate": place.approximate}
    if place.address or place.locality or place.postcode:
        # HSDS requires every one of these columns; a part Linkage does not know is empty.
        out["addresses"] = [{"id": hsds_id("address", listing.id), "location_id": lid,
                             "address_1": place.address or "", "city": place.locality or "",
                             "state_province": place.state or "", "postal_code": place.postcode or "",
                             "country": place.country, "address_type": "physical"}]
    out["accessibility"] = [{"id": hsds_id("accessibility", f"{listing.id}:{value}"), "location_id": lid,
                             "description": ACCESSIBILITY_TEXT[value]}
                            for value in listing.accessibility if value in ACCESSIBILITY_TEXT]
    if "public_transport" in listing.accessibility:
        out["transportation"] = TRANSPORT_TEXT
    return out


def to_service_at_location(listing: Listing, virtual: bool = False, *, with_service: bool | None = None) -> dict:
    """The link of a listing's service with its place or conference link; with the service
    nested (its one-to-one fields, or all of it when `with_service` is True) for the
    profile's /service_at_locations answers."""
    out = {"id": service_at_location_id(listing, virtual), "service_id": service_id(listing),
           "location_id": location_id(listing, virtual), "location": to_location(listing, virtual)}
    if with_service is not None:
        service = to_service(listing, full=with_service)
        service.pop("service_at_locations", None)
        out["service"] = service
    return out


def service_at_locations(listing: Listing) -> list[tuple[str, bool]]:
    """(service_at_location id, virtual) for each place of the listing."""
    return [(service_at_location_id(listing, virtual), virtual) for virtual in _places(listing)]


# --- the Page envelope ------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of an HSDS list answer."""

    contents: list = field(default_factory=list)
    total_items: int = 0
    page_number: int = 1
    per_page: int = 20

    def document(self) -> dict:
        """The profile's Page envelope around the contents."""
        total_pages = math.ceil(self.total_items / self.per_page) if self.total_items else 0
        return {"total_items": self.total_items, "total_pages": total_pages, "page_number": self.page_number,
                "size": len(self.contents), "first_page": self.page_number == 1,
                "last_page": self.page_number >= total_pages, "empty": not self.contents,
                "contents": self.contents}


def page_of(items: list, page_number: int, per_page: int) -> tuple[list, int]:
    """The items on one page (numbered from 1), and how many there are in all."""
    start = (page_number - 1) * per_page
    return items[start:start + per_page], len(items)


# --- the tabular data package ------------------------------------------------------------------

# The HSDS 3.0 tables Linkage writes: table -> (file name, its columns in the specification's
# order, then Linkage's extension columns). The files and columns are those of the
# specification's tabular schema (schema/compiled/tabular.json).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "organization": ("organizations.csv", (
        "id", "name", "alternate_name", "description", "email", "website", "tax_status", "tax_id",
        "year_incorporated", "legal_status", "logo", "uri", "parent_organization_id")),
    "program": ("programs.csv", ("id", "organization_id", "name", "alternate_name", "description")),
    "service": ("services.csv", (
        "id", "organization_id", "program_id", "name", "alternate_name", "description", "url", "email", "status",
        "interpretation_services", "application_process", "fees_description", "wait_time", "fees", "accreditations",
        "eligibility_description", "minimum_age", "maximum_age", "assured_date", "assurer_email", "licenses", "alert",
        "last_modified",
        "linkage_id", "linkage_kind", "linkage_timezone", "linkage_open_24_7", "linkage_registration_url",
        "linkage_source_name", "linkage_source_url", "linkage_source_licence")),
    "service_at_location": ("service_at_location.csv", ("id", "service_id", "location_id", "description")),
    "location": ("locations.csv", (
        "id", "location_type", "url", "organization_id", "name", "alternate_name", "description", "transportation",
        "latitude", "longitude", "external_identifier", "external_identifier_type", "linkage_approximate")),
    "address": ("addresses.csv", (
        "id", "location_id", "attention", "address_1", "address_2", "city", "region", "state_province",
        "postal_code", "country", "address_type")),
    "phone": ("phones.csv", (
        "id", "location_id", "service_id", "organization_id", "contact_id", "service_at_location_id", "number",
        "extension", "type", "description")),
    "schedule": ("schedules.csv", (
        "id", "service_id", "location_id", "service_at_location_id", "valid_from", "valid_to", "dtstart", "timezone",
        "until", "count", "wkst", "freq", "interval", "byday", "byweekno", "bymonthday", "byyearday", "description",
        "opens_at", "closes_at", "schedule_link", "attending_type", "notes", "linkage_timezone")),
    "service_area": ("service_areas.csv", ("id", "service_id", "name", "description", "extent", "extent_type", "uri")),
    "language": ("languages.csv", ("id", "service_id", "location_id", "phone_id", "name", "code", "note")),
    "accessibility": ("accessibility.csv", ("id", "location_id", "description", "details", "url")),
    "cost_option": ("cost_options.csv", (
        "id", "service_id", "valid_from", "valid_to", "option", "currency", "amount", "amount_description")),
    "attribute": ("attributes.csv", ("id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value")),
    "taxonomy_term": ("taxonomy_terms.csv", (
        "id", "code", "name", "description", "parent_id", "taxonomy", "language", "taxonomy_id", "term_uri")),
    "taxonomy": ("taxonomies.csv", ("id", "name", "description", "uri", "version")),
}


def tabular_rows(listings) -> dict[str, list[dict]]:
    """Every listing as rows of the HSDS tables (TABLES), each organisation, program, location
    and taxonomy term once; the rows hold the same values as the JSON objects."""
    tables: dict[str, dict[str, dict]] = {name: {} for name in TABLES}

    def add(table: str, row: dict) -> None:
        tables[table].setdefault(row["id"], {k: v for k, v in row.items() if not isinstance(v, (list, dict))})

    by_organization: dict[str, list[Listing]] = {}
    for listing in listings:
        by_organization.setdefault(organization_id(listing), []).append(listing)
        service = to_service(listing)
        source = service.get("linkage_source") or {}
        add("service", {**service, "linkage_source_name": source.get("name"), "linkage_source_url": source.get("url"),
                        "linkage_source_licence": source.get("licence")})
        if "program" in service:
            add("program", service["program"])
        for table, key in (("phone", "phones"), ("schedule", "schedules"), ("service_area", "service_areas"),
                           ("language", "languages"), ("cost_option", "cost_options"), ("attribute", "attributes")):
            for row in service.get(key, ()):
                add(table, row)
        for attribute in service.get("attributes", ()):
            add("taxonomy_term", attribute["taxonomy_term"])
        for link in service.get("service_at_locations", ()):
            add("service_at_location", link)
            location = link["location"]
            add("location", location)
            for table, key in (("address", "addresses"), ("accessibility", "accessibility"), ("phone", "phones")):
                for row in location.get(key, ()):
                    add(table, row)
    for members in by_organization.values():
        add("organization", to_organization(members))
    add("taxonomy", taxonomy.TAXONOMY)
    for term in taxonomy.TERMS.values():
        if term.parent_id is None:  # the vocabularies' own terms, parents of those used
            add("taxonomy_term", to_taxonomy_term(term))
    return {table: list(rows.values()) for table, rows in tables.items()}


def cell(value) -> str:
    """A value as a CSV cell: empty for none, true/false for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def datapackage(listings_count: int) -> dict:
    """The package's datapackage.json: its tables and where their files are."""
    return {
        "name": "linkage-hsds",
        "title": "Linkage listings as Open Referral HSDS 3.0",
        "profile": "tabular-data-package",
        "description": f"{listings_count} listings; each service's linkage_source_* columns name where it "
                       "came from and under which licence.",
        "resources": [{"name": table, "path": path, "profile": "tabular-data-resource", "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8",
                       "schema": {"fields": [{"name": column} for column in columns]}}
                      for table, (path, columns) in TABLES.items()],
    }
