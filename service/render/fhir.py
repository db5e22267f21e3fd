"""Listings as FHIR R4 resources (HealthcareService, Location, Organization), searchset
Bundles and OperationOutcomes, as plain JSON-ready dicts.

Pure functions: a Listing and the public base in, dicts out; no request, no backend. The
views (service.views.fhir) choose, filter and page; `fhir.resources` validates all of this in
the tests but is never imported here (it is a test dependency).

What maps to what (README "FHIR"):

- HealthcareService per listing (id: `fhir_id(listing.id)`). `category` the kind, `type` the
  approach, `characteristic` the goals, substances, formats, facilitation and accessibility,
  all codes of the Linkage CodeSystems (service.domain.codesystems) since no standard
  system has them; `eligibility` the audiences a listing is only for; `program` the program
  (SMART Recovery, AA) as text; `referralMethod` self-referral or GP referral (Linkage codes:
  the standard method codes say fax, phone, mail, not who refers); `serviceProvisionCode` the
  cost (HL7 service-provision-conditions, with the Linkage code beside it for "low_cost");
  `communication` the languages (BCP-47); `telecom` the phone, email, website, join link,
  dial-in and registration link; `availableTime` the weekly sessions (times in the listing's
  zone, named by the HL7 timezone extension on each entry), `allDay` for 24/7; monthly
  sessions become `availabilityExceptions` text ("First Saturday of the month, 10:00-11:30");
  `appointmentRequired` registration; `notAvailable` a temporary closure; `extraDetails`
  the description and what to expect; `meta.lastUpdated` the later of the verified and
  updated dates (midnight UTC: Linkage keeps dates, not instants).
- Location per in-person listing (same id): the address (AU Base address: state code,
  four-digit postcode, country AU), `position`, the listing's phone, status.
- Location per service area ("area.NSW", "area.AU"): a jurisdiction, the HealthcareService's
  `coverageArea` for online and phone options.
- Organization: the program's fellowship for a listing with a program ("program.<slug>"),
  else the listing itself as its own provider (same id as the listing).

AU Base: the resources claim the AU Base profiles (`meta.profile`) and follow their address
rules. Left out: HPI-O identifiers (Linkage has none), the NHSD service-type codes (SNOMED
CT-AU based, licensed; `type` uses the Linkage approach codes instead), the Contact Purpose
extension (a listing's contacts have no purpose beyond reaching it).
Lost: first-visit flags other than what_to_expect (camera optional, no need to speak), the
open-meeting flag, the source and its licence, the dates' day precision.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from service.domain import vocab
from service.domain.codesystems import CODE_SYSTEMS, code_system_id, code_system_url, display

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"

PROFILES = {
    "HealthcareService": "http://hl7.org.au/fhir/StructureDefinition/au-healthcareservice",
    "Location": "http://hl7.org.au/fhir/StructureDefinition/au-location",
    "Organization": "http://hl7.org.au/fhir/StructureDefinition/au-organisation",
}
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"
PROVISION_SYSTEM = "http://terminology.hl7.org/CodeSystem/service-provision-conditions"
PHYSICAL_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BCP47 = "urn:ietf:bcp:47"

# Linkage cost -> the HL7 service-provision-conditions code nearest to it.
PROVISION_CODES = {"free": ("free", "Free"), "low_cost": ("cost", "Fees apply"), "fee": ("cost", "Fees apply")}

WEEKDAY_ORDER = vocab.WEEKDAYS
STATE_NAMES = {"NSW": "New South Wales", "VIC": "Victoria", "QLD": "Queensland", "SA": "South Australia",
               "WA": "Western Australia", "TAS": "Tasmania", "NT": "Northern Territory",
               "ACT": "Australian Capital Territory", "AU": "Australia"}

# A FHIR id: 1 to 64 of these.
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# Listing ids that read as a FHIR id once their one ":" is a "." ("demo:g0001" -> "demo.g0001").
_PLAIN_ID = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9-]+$")
_NOT_ID = re.compile(r"[^A-Za-z0-9-]+")
_DIGEST = 12


def fhir_id(listing_id: str) -> str:
    """A listing's FHIR resource id, unique per listing id.

    "source:id" with only letters, digits and "-" becomes "source.id". Any other id (a "_",
    a second ":", a "." or more than 64 characters) becomes its cleaned start, "..", and a
    digest of the whole id: ".." never occurs in the plain form, so the two cannot collide.
    """
    if _PLAIN_ID.match(listing_id) and len(listing_id) <= 64:
        return listing_id.replace(":", ".")
    digest = hashlib.sha256(listing_id.encode()).hexdigest()[:_DIGEST]
    return f"{_NOT_ID.sub('-', listing_id)[:64 - _DIGEST - 2]}..{digest}"


def program_organization_id(program: str) -> str:
    """The Organization id of a program's fellowship ("Al-Anon" -> "program.al-anon")."""
    slug = _NOT_ID.sub("-", program.lower()).strip("-") or "program"
    if len(slug) > 40:
        slug = f"{slug[:40]}-{hashlib.sha256(program.encode()).hexdigest()[:_DIGEST]}"
    return f"program.{slug}"


def area_location_id(area: str) -> str:
    """The Location id of a service area ("NSW" -> "area.NSW")."""
    return f"area.{_NOT_ID.sub('-', area)}"


def organization_id(listing) -> str:
    """The id of the Organization that provides a listing (see the module docstring)."""
    return program_organization_id(listing.program) if listing.program else fhir_id(listing.id)


def last_updated(listing) -> str | None:
    """meta.lastUpdated: the later of the verified and updated dates, at midnight UTC."""
    dates = [d for d in (listing.verified_at, listing.updated_at) if d]
    if not dates:
        return None
    return f"{max(d[:10] for d in dates)}T00:00:00Z"


def coding(base: str, vocabulary: str, code: str) -> dict:
    """A Coding of a Linkage CodeSystem."""
    return {"system": code_system_url(base, vocabulary), "code": code, "display": display(code)}


def concept(base: str, vocabulary: str, code: str) -> dict:
    """A CodeableConcept with one Linkage coding, its display as the text."""
    return {"coding": [coding(base, vocabulary, code)], "text": display(code)}


def _meta(resource_type: str, updated: str | None) -> dict:
    meta = {"profile": [PROFILES[resource_type]]} if resource_type in PROFILES else {}
    if updated:
        meta["lastUpdated"] = updated
    return meta


def telecom(contact) -> list[dict]:
    """ContactPoints of a listing's contact: phone and dial-in, email, website, join link,
    registration link, ranked in that order of preference."""
    points = []
    for system, value in (("phone", contact.phone), ("email", contact.email), ("url", contact.website),
                          ("url", contact.conference_url), ("phone", contact.conference_phone),
                          ("url", contact.registration_url)):
        if value:
            points.append({"system": system, "value": value, "use": "work", "rank": len(points) + 1})
    return points


def _hhmmss(hhmm: str) -> str:
    return f"{hhmm}:00"


def available_times(listing) -> list[dict]:
    """availableTime: one entry per distinct weekly (start, end), with its days; 24/7 as allDay.

    A session running past midnight (end before start) is two entries: to 23:59:59 on its day
    and from 00:00 on the next (FHIR times are within one day).
    """
    zone = [{"url": TIMEZONE_EXTENSION, "valueCode": listing.timezone}]
    if listing.open_24_7:
        return [{"extension": zone, "daysOfWeek": list(WEEKDAY_ORDER), "allDay": True}]
    spans: dict[tuple[str, str], set[str]] = {}
    for session in listing.sessions:
        if session.monthly:
            continue
        if session.end < session.start:
            following = WEEKDAY_ORDER[(WEEKDAY_ORDER.index(session.weekday) + 1) % 7]
            spans.setdefault((_hhmmss(session.start), "23:59:59"), set()).add(session.weekday)
            spans.setdefault(("00:00:00", _hhmmss(session.end)), set()).add(following)
        else:
            spans.setdefault((_hhmmss(session.start), _hhmmss(session.end)), set()).add(session.weekday)
    return [{"extension": zone, "daysOfWeek": [d for d in WEEKDAY_ORDER if d in days],
             "availableStartTime": start, "availableEndTime": end}
            for (start, end), days in sorted(spans.items(), key=lambda item: (
                min(WEEKDAY_ORDER.index(d) for d in item[1]), item[0]))]


def monthly_text(listing) -> str | None:
    """availabilityExceptions: the monthly sessions in words, with the zone of their times."""
    monthly = [s for s in listing.sessions if s.monthly]
    if not monthly:
        return None
    days = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
            "sat": "Saturday", "sun": "Sunday"}
    parts = [f"{s.monthly.capitalize()} {days[s.weekday]} of the month, {s.start}-{s.end}" for s in monthly]
    return f"{'; '.join(parts)} ({listing.timezone} time)."


def _extra_details(listing) -> str | None:
    parts = [listing.description.strip()] if listing.description.strip() else []
    if listing.first_visit.what_to_expect:
        parts.append(f"What to expect: {listing.first_visit.what_to_expect.strip()}")
    return "\n\n".join(parts) or None


def healthcare_service(listing, base: str) -> dict:
    """A listing as an AU Base HealthcareService."""
    resource: dict = {"resourceType": "HealthcareService", "id": fhir_id(listing.id),
                      "meta": _meta("HealthcareService", last_updated(listing)),
                      "identifier": [{"system": f"{base}/listings", "value": listing.id}],
                      "active": listing.status != "inactive",
                      "providedBy": {"reference": f"Organization/{organization_id(listing)}",
                                     "display": listing.program or listing.name},
                      "category": [concept(base, "kind", listing.kind)],
                      "type": [concept(base, "approach", listing.approach)]}
    if listing.location is not None:
        resource["location"] = [{"reference": f"Location/{fhir_id(listing.id)}"}]
    resource["name"] = listing.name
    extra = _extra_details(listing)
    if extra:
        resource["extraDetails"] = extra
    points = telecom(listing.contact)
    if points:
        resource["telecom"] = points
    if listing.service_area:
        resource["coverageArea"] = [{"reference": f"Location/{area_location_id(area)}",
                                     "display": STATE_NAMES.get(area, area)} for area in listing.service_area]
    provision = PROVISION_CODES.get(listing.cost)
    cost_codings = ([{"system": PROVISION_SYSTEM, "code": provision[0], "display": provision[1]}]
                    if provision else [])
    resource["serviceProvisionCode"] = [{"coding": cost_codings + [coding(base, "cost", listing.cost)],
                                         "text": display(listing.cost)}]
    only_for = [a for a in listing.audiences if a != "everyone"]
    if only_for:
        resource["eligibility"] = [{"code": concept(base, "audience", a), "comment": f"For {display(a)}."}
                                   for a in only_for]
    if listing.program:
        resource["program"] = [{"text": listing.program}]
    characteristics = ([concept(base, "goal", g) for g in listing.goals]
                       + [concept(base, "substance", s) for s in listing.substances]
                       + [concept(base, "format", f) for f in listing.formats]
                       + [concept(base, "audience", a) for a in listing.audiences]
                       + ([concept(base, "facilitation", listing.facilitation)] if listing.facilitation else [])
                       + [concept(base, "accessibility", a) for a in listing.accessibility])
    resource["characteristic"] = characteristics
    if listing.languages:
        resource["communication"] = [{"coding": [{"system": BCP47, "code": lang}], "text": lang}
                                     for lang in listing.languages]
    resource["referralMethod"] = [concept(base, "referral", listing.referral)]
    resource["appointmentRequired"] = listing.registration_required
    times = available_times(listing)
    if times:
        resource["availableTime"] = times
    if listing.status == "temporarily_closed":
        resource["notAvailable"] = [{"description": "Temporarily closed"}]
    exceptions = monthly_text(listing)
    if exceptions:
        resource["availabilityExceptions"] = exceptions
    return resource


def address(location) -> dict:
    """An Address following AU Base's Australian address where the place is in Australia: a
    line or the text, a state code, a four-digit postcode."""
    result: dict = {"use": "work", "type": "physical"}
    if location.address:
        result["line"] = [location.address]
    if location.locality:
        result["city"] = location.locality
    if location.state:
        result["state"] = location.state
    if location.postcode and (location.country != "AU" or re.fullmatch(r"\d{4}", location.postcode)):
        result["postalCode"] = location.postcode
    result["country"] = location.country
    result["text"] = ", ".join(p for p in (location.address, location.locality,
                                           " ".join(p for p in (location.state, location.postcode) if p))
                               if p) or location.country
    return result


def location(listing, base: str) -> dict | None:
    """Where an in-person listing meets as an AU Base Location, or None without a place."""
    place = listing.location
    if place is None:
        return None
    resource: dict = {"resourceType": "Location", "id": fhir_id(listing.id),
                      "meta": _meta("Location", last_updated(listing)),
                      "status": {"active": "active", "temporarily_closed": "suspended"}.get(listing.status, "inactive"),
                      "name": listing.name, "mode": "instance"}
    if place.approximate:
        resource["description"] = "Approximate: only the town or suburb is known."
    points = [p for p in telecom(listing.contact) if p["system"] == "phone"][:1]
    if points:
        resource["telecom"] = [{**points[0], "rank": 1}]
    resource["address"] = address(place)
    resource["position"] = {"longitude": place.lon, "latitude": place.lat}
    resource["managingOrganization"] = {"reference": f"Organization/{organization_id(listing)}"}
    return resource


def area_location(area: str) -> dict:
    """A service area (a state or Australia) as a jurisdiction Location."""
    address_part = {"country": "AU"} if area == "AU" else {"state": area, "country": "AU"}
    return {"resourceType": "Location", "id": area_location_id(area), "meta": _meta("Location", None),
            "status": "active", "name": STATE_NAMES.get(area, area), "mode": "kind",
            "address": {**address_part, "text": STATE_NAMES.get(area, area)},
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE_SYSTEM, "code": "jdn",
                                         "display": "Jurisdiction"}]}}


def organization(listing, base: str, updated: str | None = None) -> dict:
    """The Organization providing a listing: its program's fellowship, else the listing as
    its own provider (with the listing's contacts). `updated` overrides meta.lastUpdated (a
    program's is the latest of its listings')."""
    if listing.program:
        return {"resourceType": "Organization", "id": program_organization_id(listing.program),
                "meta": _meta("Organization", updated), "active": True, "name": listing.program}
    resource = {"resourceType": "Organization", "id": fhir_id(listing.id),
                "meta": _meta("Organization", updated or last_updated(listing)),
                "active": listing.status != "inactive", "name": listing.name}
    # The ways to reach the provider; the join link, dial-in and registration link belong to the
    # sessions (the HealthcareService has them).
    main = type(listing.contact)(phone=listing.contact.phone, email=listing.contact.email,
                                 website=listing.contact.website)
    points = telecom(main)
    if points:
        resource["telecom"] = points
    return resource


def code_system(base: str, name: str) -> dict:
    """A Linkage vocabulary as a complete CodeSystem resource."""
    title, description, codes = CODE_SYSTEMS[name]
    return {"resourceType": "CodeSystem", "id": code_system_id(name), "url": code_system_url(base, name),
            "name": "Linkage" + "".join(part.capitalize() for part in name.split("_")),
            "title": title, "status": "active", "experimental": False, "publisher": "Linkage",
            "description": description, "caseSensitive": True, "content": "complete", "count": len(codes),
            "concept": [{"code": code, "display": display(code)} for code in codes]}


def capability_statement(base: str, today: str, parameters: dict[str, dict[str, tuple[str, str]]]) -> dict:
    """The server's CapabilityStatement: FHIR R4, JSON, read and search-type on each type,
    with its search parameters (type -> name -> (FHIR search type, what it does))."""
    return {"resourceType": "CapabilityStatement", "id": "linkage", "status": "active", "date": today, "publisher": "Linkage",
            "kind": "instance", "implementation": {"description": "Linkage: peer support groups, treatment "
                                                   "services and helplines", "url": f"{base}/fhir"},
            "fhirVersion": FHIR_VERSION, "format": ["json"],
            "rest": [{"mode": "server", "resource": [
                {"type": resource_type, **({"profile": PROFILES[resource_type]} if resource_type in PROFILES else {}),
                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [{"name": name, "type": kind, "documentation": words}
                                 for name, (kind, words) in names.items()]}
                for resource_type, names in parameters.items()]}]}


def bundle(resources: list[dict], total: int, base: str, links: dict[str, str]) -> dict:
    """A searchset Bundle of one page of `resources`, `total` matches in all, with its links
    (relation -> URL: self, first, previous, next)."""
    return {"resourceType": "Bundle", "type": "searchset", "total": total,
            "link": [{"relation": relation, "url": url} for relation, url in links.items()],
            "entry": [{"fullUrl": f"{base}/fhir/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in resources]}


def operation_outcome(code: str, diagnostics: str, parameter: str | None = None) -> dict:
    """An OperationOutcome with one error issue (`code` from the FHIR issue-type codes:
    "invalid", "not-found", "not-supported"), naming the parameter at fault."""
    issue: dict = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if parameter:
        issue["expression"] = [parameter]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def instant(value: str) -> datetime:
    """A meta.lastUpdated text as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


__all__ = ["FHIR_VERSION", "MEDIA_TYPE", "area_location", "bundle", "capability_statement", "code_system", "fhir_id", "healthcare_service",
           "instant", "last_updated", "location", "operation_outcome", "organization", "organization_id"]
