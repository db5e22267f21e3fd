"""One HSDS service (in the `service_full` shape) as listing records: one per physical place,
or one without a location for an online or phone service."""

from __future__ import annotations

import hashlib
import re
from typing import Iterable, Iterator

from indexers.records import Problem, ReadOptions, Record, shorten
from indexers.sources.hsds.rows import (
    as_date, as_object, as_text, cut_text, dedupe, first_nonempty, objects, one_line, plain_text, row_prefix,
    row_problems,
)
from indexers.sources.hsds.service_fields import (
    read_accessibility, read_cost, read_email, read_languages, read_phone, read_place, read_referral, read_status,
    read_website,
)
from indexers.sources.hsds.sessions import schedule_into
from service.domain.schemas import (  # the schema's own limits: never drift from them
    ID_PART_CHARACTERS, MAX_DESCRIPTION, MAX_ID_PART, MAX_LANGUAGES, MAX_NAME,
)

# The stance fields a feed in this format never states (see indexers.pipeline.complete).
STANCE_FIELDS = frozenset({"approach", "goals", "substances", "facilitation", "audiences"})

# Lengths the listing schema accepts (service.domain.schemas); longer text is cut, not rejected.
MAX_ID = MAX_ID_PART


def guarded(options: ReadOptions, position: str, build) -> Iterator[Record]:
    """The records of one entry; an unexpected error in this reader costs that entry only."""
    try:
        records = build()
    except Exception as exc:  # noqa: BLE001 - hostile input must not end the whole feed
        records = [failed_record(options, position, "_record", f"could not be read ({type(exc).__name__}: {exc})")]
    yield from records


def build_records(service: dict, position: str, options: ReadOptions) -> list[Record]:
    """The listings of one service (one per physical location), or one failed record."""
    problems: list[Problem] = list(row_problems(service))
    sid = as_text(service.get("id"))
    if not sid:
        return [failed_record(options, position, "id", "the service has no id", None, problems)]
    organization = as_object(service.get("organization"))
    problems.extend(row_problems(organization))
    organization_name = one_line(organization.get("name"), MAX_NAME)
    name = one_line(service.get("name"), MAX_NAME) or organization_name
    if not name:
        return [failed_record(options, position, "name", "neither the service nor its organization has a name", None, problems)]

    base: dict = {"kind": "service", "name": name}
    if options.program:
        base["program"] = options.program
    base["description"] = _description(service, name, organization_name)
    base["status"] = read_status(service.get("status"), problems)
    cost = read_cost(service)
    if cost:
        base["cost"] = cost
    base["referral"] = read_referral(service)
    for key, field_name in (("last_modified", "updated_at"), ("assured_date", "verified_at")):
        day = as_date(service.get(key))
        if day:
            base[field_name] = day
    base["source"] = options.source_block()

    own_website = read_website(service.get("url") or service.get("website"), problems, "contact.website")
    website = own_website or read_website(organization.get("website") or organization.get("url"), problems,
                                      "contact.website")
    email = read_email(service.get("email"), problems) or read_email(organization.get("email"), problems)
    service_languages = read_languages(service)

    # Sort the places: physical ones become listings; virtual ones make the service online.
    # (service_at_location, location row, listing location, problems of that place)
    sites: list[tuple[dict, dict, dict, list[Problem]]] = []
    virtual_urls: list[str] = []
    unplaced: list[Problem] = []
    for link in objects(service.get("service_at_locations")):
        location = as_object(link.get("location"))
        if not location:
            unplaced.append(Problem("location", f"{row_prefix(link)}service_at_location names a location that is not there",
                                    link.get("location_id")))
            continue
        kind = (as_text(location.get("location_type")) or "").casefold()
        if kind == "virtual":
            url = read_website(location.get("url"), problems, "contact.conference_url")
            if url:
                virtual_urls.append(url)
            continue
        if kind == "postal":
            continue  # where letters go, not where people go
        place, place_problems = read_place(location, options)
        if place is None:
            unplaced.extend(place_problems)
            unplaced.append(Problem("location", f"{row_prefix(location)}location {as_text(location.get('id')) or ''} "
                                    "has neither coordinates nor an address", as_text(location.get("name"))))
            continue
        sites.append((link, location, place, [*row_problems(link), *place_problems]))

    records: list[Record] = []
    if sites:
        problems.extend(unplaced)  # the service's other places, which could not be placed
        several = len(sites) > 1
        for link, location, place, place_problems in sites:
            listing_problems = problems + place_problems
            data = dict(base)
            lid = as_text(location.get("id")) or as_text(link.get("location_id")) or str(len(records) + 1)
            data["id"] = _listing_id(options.id_prefix, sid, lid if several else None)
            data["formats"] = ["in_person"] + (["online"] if virtual_urls else [])
            data["location"] = place
            contact = _contact(
                read_phone(objects(link.get("phones")) + objects(location.get("phones")) + objects(service.get("phones"))
                       + objects(organization.get("phones")), listing_problems),
                email or read_email(location.get("email"), listing_problems),
                website or read_website(location.get("website"), listing_problems, "contact.website"),
                virtual_urls)
            if contact:
                data["contact"] = contact
            languages = dedupe(service_languages + read_languages(location) + read_languages(link))
            if languages:
                data["languages"] = languages[:MAX_LANGUAGES]
            accessibility = read_accessibility(location)
            if accessibility:
                data["accessibility"] = accessibility
            schedule_rows = first_nonempty(objects(link.get("schedules")), objects(service.get("schedules")),
                                            objects(location.get("schedules")))
            failed = schedule_into(data, schedule_rows, options, place, listing_problems)
            label = f"{position}, location {lid}" if several else position
            if failed:
                records.append(failed_record(options, label, failed.field, failed.problem, failed.value, listing_problems))
            else:
                records.append(Record(options.source_name, label, data, _report(listing_problems), STANCE_FIELDS))
        return records

    if unplaced and not virtual_urls:
        # A service delivered at a place nobody can find: not an online service for that.
        return [failed_record(options, position, "location", "no location with coordinates or an address", None,
                        problems + unplaced)]
    problems.extend(unplaced)
    # Only the service's own website and phones make it an online or phone service: nearly
    # every organisation has both, which says nothing about how this service is delivered.
    phone = read_phone(objects(service.get("phones")) + [p for link in objects(service.get("service_at_locations"))
                                                    for p in objects(link.get("phones"))], problems)
    formats = (["online"] if virtual_urls or own_website else []) + (["phone"] if phone else [])
    if not formats:
        return [failed_record(options, position, "location", "no physical or virtual location", None, problems)]
    data = dict(base)
    data["id"] = _listing_id(options.id_prefix, sid, None)
    data["formats"] = formats
    data["location"] = None
    data["service_area"] = [options.country]
    contact = _contact(phone, email, website, virtual_urls)
    if contact:
        data["contact"] = contact
    if service_languages:
        data["languages"] = service_languages[:MAX_LANGUAGES]
    schedule_rows = first_nonempty(objects(service.get("schedules")),
                                    [s for link in objects(service.get("service_at_locations")) for s in objects(link.get("schedules"))])
    failed = schedule_into(data, schedule_rows, options, None, problems)
    if failed:
        return [failed_record(options, position, failed.field, failed.problem, failed.value, problems)]
    return [Record(options.source_name, position, data, _report(problems), STANCE_FIELDS)]


def _contact(phone, email, website, virtual_urls) -> dict:
    contact = {"phone": phone, "email": email, "website": website,
               "conference_url": virtual_urls[0] if virtual_urls else None}
    return {k: v for k, v in contact.items() if v}


def failed_record(options: ReadOptions, position: str, field: str, problem: str, value=None,
                  others: Iterable[Problem] = ()) -> Record:
    """A record that cannot become a listing: its problem first, then the others."""
    return Record(options.source_name, position, None, _report((Problem(field, problem, value), *others)))


def _report(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Problems as a report shows them: values cut short, each said once (a service and its
    organisation often repeat the same bad website)."""
    shown = (Problem(p.field, p.problem, shorten(p.value)) for p in problems)
    return tuple(dict.fromkeys(shown))


def _listing_id(prefix: str, service_id: str, location_id: str | None) -> str:
    """`prefix:service[.location]`, in the id alphabet; an altered or cut id gets a hash of the
    original so two different ids never end up the same."""
    raw = service_id if location_id is None else f"{service_id}.{location_id}"
    safe = re.sub(f"[^{ID_PART_CHARACTERS}]", "-", raw)
    if safe != raw or len(safe) > MAX_ID:
        digest = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        safe = f"{safe[:MAX_ID - 11]}-{digest}"
    return f"{prefix}:{safe}"


def _description(service: dict, name: str, organization_name: str | None) -> str:
    text = plain_text(service.get("description")) or ""
    if organization_name and organization_name.casefold() != name.casefold() \
            and organization_name.casefold() not in text.casefold():
        # The organisation matters to a referrer (who runs it?) and the listing has no field for it.
        sentence = f"Provided by {organization_name.rstrip('.')}."
        text = sentence + (f"\n\n{text}" if text else "")
    return cut_text(text, MAX_DESCRIPTION)
