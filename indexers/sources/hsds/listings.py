"""One HSDS service (in the `service_full` shape) as listing records: one per physical place,
or one without a location for an online or phone service."""

from __future__ import annotations

import hashlib
import re
from typing import Iterable, Iterator

from indexers.records import Problem, ReadOptions, Record, plain_name, shorten
from indexers.sources.hsds.rows import (
    as_date, as_object, as_text, cut_text, dedupe, first_nonempty, objects, one_line, plain_text, row_prefix,
    row_problems,
)
from indexers.sources.hsds.service_fields import (
    read_accessibility, read_cost, read_email, read_languages, read_phone, read_place, read_referral, read_status,
    read_website,
)
from indexers.sources.hsds.sessions import schedule_into, schedule_table
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
    """The listings of one service (one per physical location), or one failed record.

    Every record carries the service's id and name for the report (`record_id`,
    `record_name`), and `feed_fields` naming Linkage's fields by the feed's tables and
    columns ("location.lat" -> "location.latitude", a session's day -> "schedule.byday").
    """
    problems: list[Problem] = list(row_problems(service))
    sid = as_text(service.get("id"))
    organization = as_object(service.get("organization"))
    organization_name = _name(organization.get("name"))
    name = _name(service.get("name")) or organization_name
    named = {"record_id": sid, "record_name": name}
    if not sid:
        return [failed_record(options, position, "service.id", "the service has no id", None, problems, **named)]
    problems.extend(row_problems(organization))
    if not name:
        return [failed_record(options, position, "service.name", "neither the service nor its organization has a name",
                              None, problems, **named)]

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

    value, field = _first_of(service, "service", ("url", "website"))
    own_website = read_website(value, problems, field)
    value, field = _first_of(organization, "organization", ("website", "url"))
    website = own_website or read_website(value, problems, field)
    email = read_email(service.get("email"), problems, "service.email") or read_email(
        organization.get("email"), problems, "organization.email")
    service_languages = read_languages(service)

    # Sort the places: physical ones become listings; virtual ones make the service online.
    # (service_at_location, location row, listing location, problems of that place)
    sites: list[tuple[dict, dict, dict, list[Problem]]] = []
    virtual_urls: list[str] = []
    unplaced: list[Problem] = []
    for link in objects(service.get("service_at_locations")):
        location = as_object(link.get("location"))
        if not location:
            unplaced.append(Problem("service_at_location.location_id",
                                    f"{row_prefix(link)}service_at_location names a location that is not there",
                                    link.get("location_id")))
            continue
        kind = (as_text(location.get("location_type")) or "").casefold()
        if kind == "virtual":
            url = read_website(location.get("url"), problems, "location.url")
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
                email or read_email(location.get("email"), listing_problems, "location.email"),
                website or read_website(location.get("website"), listing_problems, "location.website"),
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
            fields = feed_fields(schedule_rows, len(data.get("sessions", ())))
            if failed:
                records.append(failed_record(options, label, failed.field, failed.problem, failed.value, listing_problems,
                                             **named, feed_fields=fields))
            else:
                records.append(Record(options.source_name, label, data, _report(listing_problems), STANCE_FIELDS,
                                      **named, feed_fields=fields))
        return records

    if unplaced and not virtual_urls:
        # A service delivered at a place nobody can find: not an online service for that.
        return [failed_record(options, position, "location", "no location with coordinates or an address", None,
                              problems + unplaced, **named)]
    problems.extend(unplaced)
    # Only the service's own website and phones make it an online or phone service: nearly
    # every organisation has both, which says nothing about how this service is delivered.
    phone = read_phone(objects(service.get("phones")) + [p for link in objects(service.get("service_at_locations"))
                                                    for p in objects(link.get("phones"))], problems)
    formats = (["online"] if virtual_urls or own_website else []) + (["phone"] if phone else [])
    if not formats:
        return [failed_record(options, position, "location", "no physical or virtual location", None, problems,
                              **named)]
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
    fields = feed_fields(schedule_rows, len(data.get("sessions", ())))
    if failed:
        return [failed_record(options, position, failed.field, failed.problem, failed.value, problems, **named,
                              feed_fields=fields)]
    return [Record(options.source_name, position, data, _report(problems), STANCE_FIELDS, **named,
                   feed_fields=fields)]


def _name(value) -> str | None:
    """A service's or organisation's name: plain text by the rule every reader shares
    (`plain_name`), then one line within the schema's length."""
    return one_line(plain_name(value), MAX_NAME)


def _first_of(holder: dict, table: str, keys: tuple[str, ...]) -> tuple[object, str]:
    """The first of these columns with a value, and its name as "table.column" for a report."""
    for key in keys:
        if as_text(holder.get(key)):
            return holder.get(key), f"{table}.{key}"
    return None, f"{table}.{keys[0]}"


# Linkage's fields -> an HSDS service's tables and columns (3.0 names; 1.x uses the same
# columns in its physical_address table). Schedules are named per listing (schedule_table).
_FEED_FIELDS = {
    "id": "service.id",
    "name": "service.name",
    "description": "service.description",
    "status": "service.status",
    "cost": "service.fees_description",
    "updated_at": "service.last_modified",
    "verified_at": "service.assured_date",
    "languages": "language",
    "accessibility": "accessibility",
    "contact.email": "service.email",
    "contact.website": "service.url",
    "contact.phone": "phone.number",
    "contact.conference_url": "location.url",
    "location": "address",
    "location.lat": "location.latitude",
    "location.lon": "location.longitude",
    "location.address": "address.address_1",
    "location.locality": "address.city",
    "location.state": "address.state_province",
    "location.postcode": "address.postal_code",
    "location.country": "address.country",
}


def feed_fields(schedule_rows: list[dict], sessions: int) -> dict[str, str]:
    """Linkage's field names -> the feed's, for a listing made from these schedule rows."""
    table = schedule_table(schedule_rows)
    day = "weekday" if table == "regular_schedule" else "byday"
    fields = {**_FEED_FIELDS, "sessions": table, "timezone": f"{table}.timezone", "open_24_7": table}
    for number in range(sessions):
        fields.update({f"sessions.{number}.weekday": f"{table}.{day}", f"sessions.{number}.monthly": f"{table}.byday",
                       f"sessions.{number}.start": f"{table}.opens_at", f"sessions.{number}.end": f"{table}.closes_at"})
    return fields


def _contact(phone, email, website, virtual_urls) -> dict:
    contact = {"phone": phone, "email": email, "website": website,
               "conference_url": virtual_urls[0] if virtual_urls else None}
    return {k: v for k, v in contact.items() if v}


def failed_record(options: ReadOptions, position: str, field: str, problem: str, value=None,
                  others: Iterable[Problem] = (), **named) -> Record:
    """A record that cannot become a listing: its problem first, then the others. `named`
    passes on the service's `record_id`, `record_name` and `feed_fields` when there is one."""
    return Record(options.source_name, position, None, _report((Problem(field, problem, value), *others)), **named)


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
