"""Open Referral HSDS feeds: the JSON API shapes of HSDS 3.0 and the tabular data packages of
HSDS 1.x/2.x and 3.0, read into listings (kind "service").

What is read
------------
* A JSON file: one `service_full` document, a `service_list` (the API's paginated `Page`
  envelope; only the `contents` of the page in the file are read), a bare array of services,
  a `service_at_location_full` document or a page of them, or an `organization_full` with its
  `services`.
* A directory: a tabular data package. Tables are found through `datapackage.json` (resource
  name -> path) and otherwise by their usual file names, so one code path reads both layouts:
  HSDS 3.0 (`services.csv`, `locations.csv`, `service_at_location.csv`, `addresses.csv` with an
  `address_type`, `schedules.csv` with iCal rules, `languages.csv` with ISO codes, ...) and
  HSDS 1.x/2.x as in the Open211 Miami export (`services_at_location.csv`,
  `physical_addresses.csv`/`postal_addresses.csv`, `regular_schedules.csv` with a `weekday`,
  free-text `languages.csv`, `accessibility_for_disabilities.csv`, ...). Ohana API's pre-HSDS
  CSVs (a `location_id` on `services.csv`, `mail_addresses.csv`) read the same way. Where
  the layouts differ in columns (an iCal `byday` against a 1.x `weekday`), each row is read by
  the columns it has.

One listing per service at a physical location; a service at three places is three listings
with ids `source:service_id.location_id` (a service at one place keeps `source:service_id`).
A service with no physical location becomes one listing without a location, for the whole of
`options.country`: online when it has a virtual location or a website of its own, by phone
when it has a phone of its own (an organisation's website or phone says nothing about how
one of its services is delivered). A service whose only places cannot be placed (neither
coordinates nor an address) is a problem, not an online service.

Schedules
---------
HSDS 3.0 rows are iCal rules: WEEKLY (or DAILY) `byday` lists, and MONTHLY `byday` with an
occurrence (`1SA` first Saturday, `-1FR` last Friday; 1-4 and -1 only). Rules the listing
cannot express (an interval other than 1, `bymonthday`-only months, YEARLY) are dropped with a
problem. HSDS 1.x `regular_schedules` rows give a `weekday` as a name (Open211 Miami:
"Monday") or a number, read as ISO 8601 (Monday = 1 ... Sunday = 7, 0 also Sunday). Times
are local wall-clock times in the listing's zone; validity dates are not applied.

What is left to later steps
---------------------------
HSDS says nothing about approach, goals, substances, facilitation or audiences: those are left
out and named in `Record.defaults_allowed` so the pipeline fills the program's stance (for a
service of unknown program: clinical, every goal, any substance). Missing or unusable
coordinates are left as None for the pipeline to geocode from the address.

Problems
--------
An entry that cannot become a listing is yielded with `data=None` and its problems. An entry
that loads but lost something on the way (a schedule row that could not be read, an e-mail
address that is not one, coordinates out of range) is yielded with its data *and* those
problems, which the pipeline reports as warnings. Problems about rows of child tables name
the file and row in their text ("schedules.csv row 7: ..."); the record's position names the
service's own row ("services.csv row 12") or JSON item ("service_list item 3").
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import math
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import available_timezones

from marshmallow import ValidationError
from marshmallow import validate as mm_validate

from service.domain import vocab

from indexers.records import Problem, ReadOptions, Record, shorten
from service.domain.schemas import (  # the schema's own limits: never drift from them
    MAX_ADDRESS, MAX_DESCRIPTION, MAX_ID_PART, MAX_LANGUAGES, MAX_LOCALITY, MAX_NAME, MAX_PHONE, MAX_POSTCODE, MAX_SESSIONS, MAX_STATE,
)

# The stance fields a feed in this format never states (see indexers.pipeline.complete).
STANCE_FIELDS = frozenset({"approach", "goals", "substances", "facilitation", "audiences"})

# Lengths the listing schema accepts (service.domain.schemas); longer text is cut, not rejected.
MAX_ID = MAX_ID_PART

# csv's default field limit (128 KiB) is process-wide and other code may change it. While this
# reader parses, it sets its own: generous for real descriptions, yet bounded so one hostile
# field cannot take the memory. A field beyond it ends the reading of that table (see _rows).
CSV_FIELD_LIMIT = 4 * 1024 * 1024

# Row dictionaries carry where they came from and what was wrong with their bytes.
_POS = "__position__"
_ROW_PROBLEMS = "__problems__"


def read_hsds(path: Path, options: ReadOptions) -> Iterator[Record]:
    """Records from an HSDS JSON file or tabular data package directory (see the module text).

    Never raises for bad content: unreadable files, tables and rows come back as records with
    `data=None` and problems naming the file, row and field.
    """
    path = Path(path)
    if path.is_dir():
        yield from _read_package(path, options)
    else:
        yield from _read_json(path, options)


# --- JSON -----------------------------------------------------------------------------------


def _read_json(path: Path, options: ReadOptions) -> Iterator[Record]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield _failed(options, path.name, "_file", f"cannot read: {exc.strerror or exc}")
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # JSON must be UTF-8 (RFC 8259); guessing another encoding would garble every name.
        yield _failed(options, path.name, "_file", f"not UTF-8 (byte {exc.start})")
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield _failed(options, path.name, "_file", f"line {exc.lineno}: invalid JSON: {exc.msg}")
        return
    except RecursionError:
        yield _failed(options, path.name, "_file", "JSON nested too deeply")
        return
    for position, entry in _json_entries(document):
        if not isinstance(entry, dict):
            yield _failed(options, position, "_record", "not a JSON object", entry)
            continue
        yield from _guarded(options, position, lambda: _build(_json_service(entry), position, options))


def _json_entries(document) -> Iterator[tuple[str, object]]:
    """(position, service-like object) pairs for the JSON shapes HSDS 3.0 publishes."""
    if isinstance(document, list):
        for number, item in enumerate(document, start=1):
            yield f"item {number}", item
        return
    if not isinstance(document, dict):
        yield "document", document
        return
    if isinstance(document.get("contents"), list):
        # A Page envelope: only this page is in the file; later pages are other requests.
        contents = document["contents"]
        kind = "service_at_location_list" if contents and isinstance(contents[0], dict) \
            and _is_service_at_location(contents[0]) else "service_list"
        page = document.get("page_number")
        label = kind if page in (None, 0, 1) or not isinstance(page, int) else f"{kind} page {page}"
        for number, item in enumerate(contents, start=1):
            yield f"{label} item {number}", item
        return
    if isinstance(document.get("services"), list) and not _is_service(document):
        # organization_full: its services carry no organization of their own.
        organization = {k: v for k, v in document.items() if k != "services"}
        for number, item in enumerate(document["services"], start=1):
            if isinstance(item, dict) and not isinstance(item.get("organization"), dict):
                item = {**item, "organization": organization}
            yield f"organization services item {number}", item
        return
    yield ("service_at_location_full" if _is_service_at_location(document) else "service_full"), document


def _is_service(item: dict) -> bool:
    return "service_at_locations" in item or "status" in item


def _is_service_at_location(item: dict) -> bool:
    return isinstance(item.get("service"), dict) and "service_at_locations" not in item


def _json_service(item: dict) -> dict:
    """A service object in the service_full shape (a service_at_location becomes its service)."""
    if _is_service_at_location(item):
        service = dict(item["service"])
        service["service_at_locations"] = [{k: v for k, v in item.items() if k != "service"}]
        return service
    return item


# --- Tabular data packages ------------------------------------------------------------------

# Table -> (datapackage resource names, usual file names). Both layouts' names are listed.
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "service": (("service", "services"), ("services.csv", "service.csv")),
    "organization": (("organization", "organizations"), ("organizations.csv", "organization.csv")),
    "location": (("location", "locations"), ("locations.csv", "location.csv")),
    "service_at_location": (
        ("service_at_location", "services_at_location", "service_at_locations"),
        ("service_at_location.csv", "services_at_location.csv", "service_at_locations.csv",
         "services_at_locations.csv"),
    ),
    # 3.0 (and Ohana) keep every address in one table; 3.0 tells them apart by address_type.
    "address": (("address", "addresses"), ("addresses.csv", "address.csv")),
    "physical_address": (("physical_address", "physical_addresses"),
                         ("physical_addresses.csv", "physical_address.csv")),
    "postal_address": (("postal_address", "postal_addresses", "mail_address"),
                       ("postal_addresses.csv", "postal_address.csv", "mail_addresses.csv")),
    "phone": (("phone", "phones"), ("phones.csv", "phone.csv")),
    "schedule": (("schedule", "schedules"), ("schedules.csv", "schedule.csv")),
    "regular_schedule": (("regular_schedule", "regular_schedules"),
                         ("regular_schedules.csv", "regular_schedule.csv")),
    "language": (("language", "languages"), ("languages.csv", "language.csv")),
    "accessibility": (("accessibility", "accessibility_for_disabilities"),
                      ("accessibility.csv", "accessibility_for_disabilities.csv")),
    "cost_option": (("cost_option", "cost_options"), ("cost_options.csv", "cost_option.csv")),
}


def _read_package(directory: Path, options: ReadOptions) -> Iterator[Record]:
    tables, notes = _find_tables(directory)
    for note in notes:
        yield _failed(options, "datapackage.json", "_file", note)
    if "service" not in tables:
        yield _failed(options, directory.name, "_file",
                      "no services table (services.csv or service.csv, or a 'service' resource in datapackage.json)")
        return
    package = _Package()
    for table, path in tables.items():
        if table == "service":
            continue
        rows: list[dict] = []
        for row, problem in _rows(path):
            if problem is not None:
                # The rest of that table is unknown: report it; the services still load.
                yield _failed(options, problem[0], "_file", problem[1])
                continue
            rows.append(row)
        package.tables[table] = rows
    for row, problem in _rows(tables["service"]):
        if problem is not None:
            yield _failed(options, problem[0], "_file", problem[1])
            continue
        position = row[_POS]
        yield from _guarded(options, position, lambda: _build(package.service(row), position, options))


def _find_tables(directory: Path) -> tuple[dict[str, Path], list[str]]:
    """Table name -> CSV path, from datapackage.json when it names them, else by file name.

    Tables are looked for in the package folder, then in its `data/` folder: exports such as
    Open211 Miami's keep `datapackage.json` at the top and the CSVs in `data/`, with resource
    paths that name the bare file.
    """
    folders = [directory] + ([directory / "data"] if (directory / "data").is_dir() else [])
    listings: list[dict[str, Path]] = []
    for folder in folders:
        try:
            listings.append({p.name.casefold(): p for p in folder.iterdir() if p.is_file()})
        except OSError:
            listings.append({})
    notes: list[str] = []
    resources: list = []
    descriptor = listings[0].get("datapackage.json")
    if descriptor is not None:
        try:
            resources = json.loads(descriptor.read_text(encoding="utf-8-sig")).get("resources") or []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, RecursionError):
            notes.append("datapackage.json could not be read; tables found by file name instead")
        if not isinstance(resources, list):
            resources = []
    root = directory.resolve()
    found: dict[str, Path] = {}
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("path"), str):
            continue
        table = next((t for t, (names, _) in _TABLES.items()
                      if str(resource.get("name", "")).casefold() in names), None)
        if table is None or table in found:
            continue
        for folder in folders:
            try:
                candidate = (folder / resource["path"]).resolve()
                # A descriptor may say "../../anything": only files inside the package are read.
                usable = candidate.is_relative_to(root) and candidate.is_file()
            except (OSError, ValueError):  # a NUL byte or a loop in the path
                usable = False
            if usable:
                found[table] = candidate
                break
    for table, (_, file_names) in _TABLES.items():
        if table in found:
            continue
        for entries in listings:
            path = next((entries[n] for n in file_names if n in entries), None)
            if path is not None:
                found[table] = path
                break
    # Both schedule tables may be present (two layouts' ideas of one thing); both are read.
    return found, notes


def _rows(path: Path) -> Iterator[tuple[dict | None, tuple[str, str] | None]]:
    """(row, None) for each CSV record, or (None, (position, problem)) when reading stops.

    Rows are dicts keyed by lower-case header, with "" for missing cells and "null" read as
    empty, plus the row's position ("phones.csv row 4": the line it starts on, header = 1)
    and, when its bytes were not UTF-8, a problem per affected column. Invalid bytes become
    U+FFFD rather than failing the file: one bad byte should cost one field, not the feed.
    """
    name = path.name
    try:
        handle = open(path, encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        yield None, (name, f"cannot read: {exc.strerror or exc}")
        return
    with handle:
        # NUL bytes are not text; csv copes with them, listing fields must not carry them.
        reader = csv.reader(line.replace("\x00", "\ufffd") for line in handle)
        header: list[str] | None = None
        while True:
            start = reader.line_num + 1
            previous = csv.field_size_limit(CSV_FIELD_LIMIT)
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # After a csv error the reader cannot tell where the next record starts (a
                # quoted field may span lines), so the rest of the table would be guesswork.
                yield None, (f"{name} row {start}", f"unreadable CSV ({exc}); the rest of {name} was not read")
                return
            finally:
                csv.field_size_limit(previous)
            if not values or all(not v.strip() for v in values):
                continue
            if header is None:
                header = [h.strip().casefold() for h in values]
                continue
            row: dict = {}
            for key, value in zip(header, values):
                if key and key not in row:
                    row[key] = "" if value.strip().casefold() == "null" else value
            for key in header:
                if key:
                    row.setdefault(key, "")
            row[_POS] = f"{name} row {start}"
            damaged = [k for k, v in row.items() if isinstance(v, str) and "\ufffd" in v]
            if damaged:
                row[_ROW_PROBLEMS] = tuple(
                    Problem(k, f"{row[_POS]}: column {k}: bytes that are not UTF-8 were replaced by U+FFFD",
                            row[k]) for k in damaged)
            yield row, None


class _Package:
    """The child tables of a data package, indexed by foreign key on first use."""

    def __init__(self):
        self.tables: dict[str, list[dict]] = {}
        self._indexes: dict[tuple[str, str], dict[str, list[dict]]] = {}

    def by(self, table: str, column: str, key: str | None) -> list[dict]:
        """Rows of `table` whose `column` equals `key` (none for an empty key)."""
        if not key:
            return []
        index = self._indexes.get((table, column))
        if index is None:
            index = {}
            for row in self.tables.get(table, ()):
                value = row.get(column, "").strip()
                if value:
                    index.setdefault(value, []).append(row)
            self._indexes[(table, column)] = index
        return index.get(key, [])

    def one(self, table: str, column: str, key: str | None) -> dict | None:
        rows = self.by(table, column, key)
        return rows[0] if rows else None

    def _either(self, tables: tuple[str, ...], column: str, key: str | None) -> list[dict]:
        return [row for table in tables for row in self.by(table, column, key)]

    def service(self, row: dict) -> dict:
        """A services.csv row with its child rows, in the service_full JSON shape."""
        sid = row.get("id", "").strip()
        service = dict(row)
        organization_id = row.get("organization_id", "").strip()
        service["organization"] = self.one("organization", "id", organization_id)
        schedules = ("schedule", "regular_schedule")
        # Rows naming only the service are the service's own; rows that also name a location
        # or a service_at_location belong to that place (see _service_at_location).
        service["phones"] = [p for p in self.by("phone", "service_id", sid) if not _has(p, "location_id", "service_at_location_id")]
        service["schedules"] = [s for s in self._either(schedules, "service_id", sid)
                                if not _has(s, "location_id", "service_at_location_id")]
        service["languages"] = self.by("language", "service_id", sid)
        service["cost_options"] = self.by("cost_option", "service_id", sid)
        links = self.by("service_at_location", "service_id", sid)
        if "service_at_location" not in self.tables and row.get("location_id", "").strip():
            # Ohana's layout: one location per service, named on the service row.
            links = [{"id": "", "service_id": sid, "location_id": row["location_id"].strip(), _POS: row[_POS]}]
        service["service_at_locations"] = [self._service_at_location(link, sid) for link in links]
        if service["organization"] is None:
            # Ohana names the organisation on the location instead.
            for link in service["service_at_locations"]:
                location = link.get("location") or {}
                organization = self.one("organization", "id", location.get("organization_id", "").strip())
                if organization is not None:
                    service["organization"] = organization
                    break
        return service

    def _service_at_location(self, link: dict, sid: str) -> dict:
        lid = link.get("location_id", "").strip()
        link_id = link.get("id", "").strip()
        schedules = ("schedule", "regular_schedule")
        out = dict(link)
        location_row = self.one("location", "id", lid)
        if location_row is not None:
            location = dict(location_row)
            addresses = []
            for table, kind in (("address", None), ("physical_address", "physical"), ("postal_address", "postal")):
                for address in self.by(table, "location_id", lid):
                    # An address table without address_type (1.x physical, Ohana) is physical.
                    addresses.append({**address, "address_type": kind or address.get("address_type") or "physical"})
            location["addresses"] = addresses
            location["phones"] = [p for p in self.by("phone", "location_id", lid)
                                  if not _has(p, "service_id", "service_at_location_id")]
            location["schedules"] = [s for s in self._either(schedules, "location_id", lid)
                                     if not _has(s, "service_id", "service_at_location_id")]
            location["accessibility"] = self.by("accessibility", "location_id", lid)
            location["languages"] = [x for x in self.by("language", "location_id", lid) if not _has(x, "service_id")]
            out["location"] = location
        else:
            out["location"] = None
        specific_phones = self.by("phone", "service_at_location_id", link_id) + [
            p for p in self.by("phone", "service_id", sid)
            if p.get("location_id", "").strip() == lid and not _has(p, "service_at_location_id")]
        specific_schedules = self._either(schedules, "service_at_location_id", link_id) + [
            s for s in self._either(schedules, "service_id", sid)
            if s.get("location_id", "").strip() == lid and not _has(s, "service_at_location_id")]
        out["phones"] = specific_phones
        out["schedules"] = specific_schedules
        return out


def _has(row: dict, *columns: str) -> bool:
    return any(str(row.get(c) or "").strip() for c in columns)


# --- One service -> listings ----------------------------------------------------------------


def _guarded(options: ReadOptions, position: str, build) -> Iterator[Record]:
    """The records of one entry; an unexpected error in this reader costs that entry only."""
    try:
        records = build()
    except Exception as exc:  # noqa: BLE001 - hostile input must not end the whole feed
        records = [_failed(options, position, "_record", f"could not be read ({type(exc).__name__}: {exc})")]
    yield from records


def _build(service: dict, position: str, options: ReadOptions) -> list[Record]:
    """The listings of one service (one per physical location), or one failed record."""
    problems: list[Problem] = list(_row_problems(service))
    sid = _text(service.get("id"))
    if not sid:
        return [_failed(options, position, "id", "the service has no id", None, problems)]
    organization = _obj(service.get("organization"))
    problems.extend(_row_problems(organization))
    organization_name = _line(organization.get("name"), MAX_NAME)
    name = _line(service.get("name"), MAX_NAME) or organization_name
    if not name:
        return [_failed(options, position, "name", "neither the service nor its organization has a name", None, problems)]

    base: dict = {"kind": "service", "name": name}
    if options.program:
        base["program"] = options.program
    base["description"] = _description(service, name, organization_name)
    base["status"] = _status(service.get("status"), problems)
    cost = _cost(service)
    if cost:
        base["cost"] = cost
    base["referral"] = _referral(service)
    for key, field_name in (("last_modified", "updated_at"), ("assured_date", "verified_at")):
        day = _date(service.get(key))
        if day:
            base[field_name] = day
    base["source"] = options.source_block()

    own_website = _website(service.get("url") or service.get("website"), problems, "contact.website")
    website = own_website or _website(organization.get("website") or organization.get("url"), problems,
                                      "contact.website")
    email = _email(service.get("email"), problems) or _email(organization.get("email"), problems)
    service_languages = _languages(service)

    # Sort the places: physical ones become listings; virtual ones make the service online.
    # (service_at_location, location row, listing location, problems of that place)
    sites: list[tuple[dict, dict, dict, list[Problem]]] = []
    virtual_urls: list[str] = []
    unplaced: list[Problem] = []
    for link in _objs(service.get("service_at_locations")):
        location = _obj(link.get("location"))
        if not location:
            unplaced.append(Problem("location", f"{_where(link)}service_at_location names a location that is not there",
                                    link.get("location_id")))
            continue
        kind = (_text(location.get("location_type")) or "").casefold()
        if kind == "virtual":
            url = _website(location.get("url"), problems, "contact.conference_url")
            if url:
                virtual_urls.append(url)
            continue
        if kind == "postal":
            continue  # where letters go, not where people go
        place, place_problems = _place(location, options)
        if place is None:
            unplaced.extend(place_problems)
            unplaced.append(Problem("location", f"{_where(location)}location {_text(location.get('id')) or ''} "
                                    "has neither coordinates nor an address", _text(location.get("name"))))
            continue
        sites.append((link, location, place, [*_row_problems(link), *place_problems]))

    records: list[Record] = []
    if sites:
        problems.extend(unplaced)  # the service's other places, which could not be placed
        several = len(sites) > 1
        for link, location, place, place_problems in sites:
            listing_problems = problems + place_problems
            data = dict(base)
            lid = _text(location.get("id")) or _text(link.get("location_id")) or str(len(records) + 1)
            data["id"] = _listing_id(options.id_prefix, sid, lid if several else None)
            data["formats"] = ["in_person"] + (["online"] if virtual_urls else [])
            data["location"] = place
            contact = _contact(
                _phone(_objs(link.get("phones")) + _objs(location.get("phones")) + _objs(service.get("phones"))
                       + _objs(organization.get("phones")), listing_problems),
                email or _email(location.get("email"), listing_problems),
                website or _website(location.get("website"), listing_problems, "contact.website"),
                virtual_urls)
            if contact:
                data["contact"] = contact
            languages = _dedupe(service_languages + _languages(location) + _languages(link))
            if languages:
                data["languages"] = languages[:MAX_LANGUAGES]
            accessibility = _accessibility(location)
            if accessibility:
                data["accessibility"] = accessibility
            schedule_rows = _first_nonempty(_objs(link.get("schedules")), _objs(service.get("schedules")),
                                            _objs(location.get("schedules")))
            failed = _schedule_into(data, schedule_rows, options, place, listing_problems)
            label = f"{position}, location {lid}" if several else position
            if failed:
                records.append(_failed(options, label, failed.field, failed.problem, failed.value, listing_problems))
            else:
                records.append(Record(options.source_name, label, data, _report(listing_problems), STANCE_FIELDS))
        return records

    if unplaced and not virtual_urls:
        # A service delivered at a place nobody can find: not an online service for that.
        return [_failed(options, position, "location", "no location with coordinates or an address", None,
                        problems + unplaced)]
    problems.extend(unplaced)
    # Only the service's own website and phones make it an online or phone service: nearly
    # every organisation has both, which says nothing about how this service is delivered.
    phone = _phone(_objs(service.get("phones")) + [p for link in _objs(service.get("service_at_locations"))
                                                    for p in _objs(link.get("phones"))], problems)
    formats = (["online"] if virtual_urls or own_website else []) + (["phone"] if phone else [])
    if not formats:
        return [_failed(options, position, "location", "no physical or virtual location", None, problems)]
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
    schedule_rows = _first_nonempty(_objs(service.get("schedules")),
                                    [s for link in _objs(service.get("service_at_locations")) for s in _objs(link.get("schedules"))])
    failed = _schedule_into(data, schedule_rows, options, None, problems)
    if failed:
        return [_failed(options, position, failed.field, failed.problem, failed.value, problems)]
    return [Record(options.source_name, position, data, _report(problems), STANCE_FIELDS)]


def _contact(phone, email, website, virtual_urls) -> dict:
    contact = {"phone": phone, "email": email, "website": website,
               "conference_url": virtual_urls[0] if virtual_urls else None}
    return {k: v for k, v in contact.items() if v}


def _failed(options: ReadOptions, position: str, field: str, problem: str, value=None,
            others: Iterable[Problem] = ()) -> Record:
    return Record(options.source_name, position, None, _report((Problem(field, problem, value), *others)))


def _report(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Problems as a report shows them: values cut short, each said once (a service and its
    organisation often repeat the same bad website)."""
    shown = (Problem(p.field, p.problem, shorten(p.value)) for p in problems)
    return tuple(dict.fromkeys(shown))


def _row_problems(row) -> tuple[Problem, ...]:
    return row.get(_ROW_PROBLEMS, ()) if isinstance(row, dict) else ()


def _where(row) -> str:
    """ "schedules.csv row 4: " for tabular rows, "" for JSON objects."""
    return f"{row[_POS]}: " if isinstance(row, dict) and row.get(_POS) else ""


def _listing_id(prefix: str, service_id: str, location_id: str | None) -> str:
    """`prefix:service[.location]`, in the id alphabet; an altered or cut id gets a hash of the
    original so two different ids never end up the same."""
    raw = service_id if location_id is None else f"{service_id}.{location_id}"
    safe = re.sub(r"[^A-Za-z0-9_.:-]", "-", raw)
    if safe != raw or len(safe) > MAX_ID:
        digest = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        safe = f"{safe[:MAX_ID - 11]}-{digest}"
    return f"{prefix}:{safe}"


# --- Text -----------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A tag starts with a letter, "/" or "!": "children <5" is text, not markup.
_TAG = re.compile(r"<(?:[A-Za-z/!][^<>]*)>")
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d|/tr)\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# 211 exports mark records with tokens such as ###MON### (Miami); they are not for readers.
_EXPORT_MARKER = re.compile(r"###[A-Z0-9_]{1,12}###")


def _text(value) -> str | None:
    """A scalar as trimmed text (None for empty, containers and booleans)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return str(value)
    if not isinstance(value, str):
        return None
    text = _SURROGATE.sub("\ufffd", value).strip()
    return text or None


def _plain(value) -> str | None:
    """Text without markup, entities, control characters or export escapes; paragraphs kept."""
    text = _text(value)
    if text is None:
        return None
    # Several exports (Open211 Miami among them) store newlines as the two characters "\n".
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text:
        text = _SCRIPT.sub(" ", text)
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    text = html.unescape(text) if "&" in text else text
    text = _EXPORT_MARKER.sub(" ", text)
    text = _CONTROL.sub(" ", text).replace("\t", " ")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None


def _line(value, limit: int) -> str | None:
    """One line of plain text, cut at `limit` characters."""
    text = _plain(value)
    if text is None:
        return None
    return _cut(re.sub(r"\s+", " ", text), limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def _description(service: dict, name: str, organization_name: str | None) -> str:
    text = _plain(service.get("description")) or ""
    if organization_name and organization_name.casefold() != name.casefold() \
            and organization_name.casefold() not in text.casefold():
        # The organisation matters to a referrer (who runs it?) and the listing has no field for it.
        sentence = f"Provided by {organization_name.rstrip('.')}."
        text = sentence + (f"\n\n{text}" if text else "")
    return _cut(text, MAX_DESCRIPTION)


def _obj(value) -> dict:
    return value if isinstance(value, dict) else {}


def _objs(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _first_nonempty(*lists: list) -> list:
    return next((items for items in lists if items), [])


def _dedupe(items: list) -> list:
    return list(dict.fromkeys(items))


def _date(value) -> str | None:
    """The YYYY-MM-DD part of a date or timestamp, when it is a real date."""
    text = _text(value)
    if not text or not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


# --- Status, cost, referral -----------------------------------------------------------------


def _status(value, problems: list[Problem]) -> str:
    """HSDS status -> listing status. Defunct services are gone: "inactive" is the nearest."""
    text = (_text(value) or "").casefold().replace("_", " ").strip()
    if text in ("", "active"):
        return "active"
    if text in ("inactive", "defunct", "closed", "permanently closed"):
        return "inactive"
    if text.startswith("temporar"):
        return "temporarily_closed"
    problems.append(Problem("status", "unknown status; listed as active", value))
    return "active"


_FREE = re.compile(r"^\W*(free|none|no (fees?|costs?|charges?)|\$?0(\.00)?)\b|\bfree of charge\b|\bno (fees?|costs?|charges?)\b|\bat no cost\b")
_LOW_COST = re.compile(r"sliding[- ]scale|low[- ]cost|reduced (fee|cost|rate)|based on (income|ability)|"
                       r"according to income|donations?|bulk[- ]bill|subsidi[sz]ed|income[- ]based")
_FEE = re.compile(r"[$£€¥]\s*\d|\d\s*(usd|gbp|eur|aud|dollars?)\b|\bfees?\b|\bcharges?\b|\bcosts?\b|\bpay\b|"
                  r"\bpayment\b|insurance|medicaid|medicare|private health")


def _cost(service: dict) -> str | None:
    """free / low_cost / fee from cost_options and fee text; None when the feed is silent."""
    amounts = []
    for option in _objs(service.get("cost_options")):
        amount = _number(option.get("amount"))
        if amount is not None:
            amounts.append(amount)
    text = " ".join(filter(None, (_plain(service.get(k)) for k in ("fees_description", "fees")))).casefold()
    if text:
        free = _FREE.search(text)
        if _LOW_COST.search(text):
            return "low_cost"
        if free and not re.search(r"[$£€]\s*[1-9]", text):
            return "free"
        if _FEE.search(text) or any(a > 0 for a in amounts):
            return "fee"
        if free:
            return "free"
    if amounts:
        return "fee" if any(a > 0 for a in amounts) else "free"
    return None


# Phrases that mean a referral is required, not merely accepted.
_REFERRAL_REQUIRED = re.compile(
    r"referral (is |are )?(required|needed|necessary|mandatory)|requires? (a )?referral|"
    r"(by|upon|with) referral only|referrals? only|only (by|through|with|upon) (a )?referral|"
    r"must (be referred|have (a )?referral|receive (a )?referral|obtain (a )?referral|get (a )?referral)|"
    r"referral from .{0,40}\b(is )?(required|necessary|needed)")
_SELF_REFERRAL = re.compile(r"self[- ]referr|walk[- ]?ins?\b|no referral")


def _referral(service: dict) -> str:
    """"gp_referral" when the text says a referral is required (the vocabulary's only kind of
    required referral), else "self"."""
    text = " ".join(filter(None, (_plain(service.get(k)) for k in
                                  ("application_process", "eligibility_description", "description")))).casefold()
    if _REFERRAL_REQUIRED.search(text) and not _SELF_REFERRAL.search(text):
        return "gp_referral"
    return "self"


# --- Contact --------------------------------------------------------------------------------

_EMAIL = mm_validate.Email()
_URL = mm_validate.URL(schemes={"http", "https"}, require_tld=True)
_BARE_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?([/?#]\S*)?$")


def _email(value, problems: list[Problem]) -> str | None:
    text = _text(value)
    if not text:
        return None
    text = text.removeprefix("mailto:")
    try:
        _EMAIL(text)
    except ValidationError:
        problems.append(Problem("contact.email", "not an e-mail address; left out", text))
        return None
    return text


def _website(value, problems: list[Problem], field: str) -> str | None:
    text = _text(value)
    if not text:
        return None
    if "://" not in text and _BARE_DOMAIN.match(text):
        # "www.example.org" is common in 211 data; without a scheme it is no link at all.
        text = "http://" + text
    try:
        _URL(text)
    except ValidationError:
        problems.append(Problem(field, "not an http(s) address; left out", text))
        return None
    return text


_PHONE_SKIP = {"fax", "pager"}


def _phone(rows: list[dict], problems: list[Problem]) -> str | None:
    """The first number people can call (not a fax), with its extension."""
    for row in rows:
        kind = (_text(row.get("type")) or _text(row.get("number_type")) or "").casefold()
        if kind in _PHONE_SKIP:
            continue
        number = _line(row.get("number"), 200)
        if not number:
            continue
        number = number.strip("\"' ")
        extension = _text(row.get("extension"))
        if extension and re.fullmatch(r"\d+(\.0)?", extension):
            number = f"{number} ext. {extension.removesuffix('.0')}"
        if len(number) > MAX_PHONE or not re.search(r"\d{3}", number):
            problems.append(Problem("contact.phone", f"{_where(row)}not a phone number; left out", number))
            continue
        problems.extend(_row_problems(row))
        return number
    return None


# --- Location -------------------------------------------------------------------------------

_COUNTRY_NAMES = {
    "usa": "US", "united states": "US", "united states of america": "US", "us": "US",
    "australia": "AU", "aus": "AU", "canada": "CA", "can": "CA", "new zealand": "NZ", "nzl": "NZ",
    "united kingdom": "GB", "uk": "GB", "gbr": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "ireland": "IE", "irl": "IE",
}


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _text(value)
        if text is None:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _place(location: dict, options: ReadOptions) -> tuple[dict | None, list[Problem]]:
    """The listing's location from an HSDS location and its addresses (None: nowhere to go)."""
    problems: list[Problem] = list(_row_problems(location))
    where = _where(location)
    lat_raw, lon_raw = location.get("latitude"), location.get("longitude")
    lat, lon = _number(lat_raw), _number(lon_raw)
    if (lat_raw not in (None, "") or lon_raw not in (None, "")) and (lat is None or lon is None):
        problems.append(Problem("location.lat", f"{where}latitude/longitude are not numbers; to be geocoded",
                                f"{lat_raw}, {lon_raw}"))
        lat = lon = None
    elif lat is not None and (not -90 <= lat <= 90 or not -180 <= lon <= 180):
        problems.append(Problem("location.lat", f"{where}latitude/longitude out of range; to be geocoded",
                                f"{lat_raw}, {lon_raw}"))
        lat = lon = None
    elif lat == 0 and lon == 0:
        # 0,0 is in the Gulf of Guinea: a database default, not a service.
        problems.append(Problem("location.lat", f"{where}coordinates 0,0 are a placeholder; to be geocoded", "0, 0"))
        lat = lon = None

    addresses = _objs(location.get("addresses"))
    for address in addresses:
        problems.extend(_row_problems(address))
    physical = [a for a in addresses if (_text(a.get("address_type")) or "physical").casefold() == "physical"]
    postal = [a for a in addresses if (_text(a.get("address_type")) or "").casefold() == "postal"]
    address = next((a for a in physical if _has_address(a)), None)
    if address is None and postal and next((a for a in postal if _has_address(a)), None):
        address = next(a for a in postal if _has_address(a))
        problems.append(Problem("location.address", f"{_where(address)}only a postal address is given; used as the place"))
    place: dict = {}
    if address is not None:
        street = ", ".join(filter(None, (_line(address.get(k), MAX_ADDRESS) for k in
                                         ("address_1", "address_2", "address_3", "address_4"))))
        if street:
            place["address"] = _cut(street, MAX_ADDRESS)
        locality = _line(address.get("city"), MAX_LOCALITY)
        if locality:
            place["locality"] = locality
        state = _line(address.get("state_province"), MAX_STATE)
        if state:
            place["state"] = state
        postcode = _line(address.get("postal_code"), 60)
        if postcode and len(postcode) > MAX_POSTCODE:
            problems.append(Problem("location.postcode", f"{_where(address)}postcode too long; left out", postcode))
        elif postcode:
            place["postcode"] = postcode
        place["country"] = _country(address.get("country"), options, problems, address)
    else:
        place["country"] = options.country
    if lat is None and not place.get("address") and not place.get("locality") and not place.get("postcode"):
        return None, problems
    place["lat"] = lat
    place["lon"] = lon
    # Without a street, geocoding can only find the town: say so.
    place["approximate"] = lat is None and not place.get("address")
    return place, problems


def _has_address(address: dict) -> bool:
    return any(_text(address.get(k)) for k in ("address_1", "city", "postal_code"))


def _country(value, options: ReadOptions, problems: list[Problem], row: dict) -> str:
    text = (_text(value) or "").strip()
    if not text:
        return options.country
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    code = _COUNTRY_NAMES.get(text.casefold().strip(". "))
    if code:
        return code
    problems.append(Problem("location.country", f"{_where(row)}not an ISO country code; {options.country} assumed", text))
    return options.country


# --- Languages and accessibility ------------------------------------------------------------

# Names as feeds write them -> ISO 639-1 (639-3 where there is no two-letter code: ase, yue...).
# "Creole" alone means Haitian Creole in US 211 data, by far the most common creole there.
_LANGUAGE_NAMES = {
    "english": "en", "spanish": "es", "espanol": "es", "español": "es", "haitian creole": "ht",
    "haitian-creole": "ht", "creole": "ht", "kreyol": "ht", "kreyòl": "ht", "french": "fr",
    "portuguese": "pt", "hebrew": "he", "russian": "ru", "arabic": "ar", "italian": "it", "greek": "el",
    "yiddish": "yi", "german": "de", "chinese": "zh", "mandarin": "zh", "cantonese": "yue",
    "taiwanese": "nan", "vietnamese": "vi", "korean": "ko", "japanese": "ja", "tagalog": "tl",
    "filipino": "fil", "polish": "pl", "urdu": "ur", "hindi": "hi", "bengali": "bn", "punjabi": "pa",
    "gujarati": "gu", "tamil": "ta", "telugu": "te", "nepali": "ne", "farsi": "fa", "persian": "fa",
    "dari": "prs", "pashto": "ps", "somali": "so", "swahili": "sw", "amharic": "am", "turkish": "tr",
    "dutch": "nl", "czech": "cs", "slovak": "sk", "ukrainian": "uk", "romanian": "ro", "hungarian": "hu",
    "serbian": "sr", "croatian": "hr", "bosnian": "bs", "albanian": "sq", "armenian": "hy",
    "thai": "th", "khmer": "km", "lao": "lo", "hmong": "hmn", "burmese": "my", "indonesian": "id",
    "malay": "ms", "samoan": "sm", "tongan": "to", "maori": "mi", "fijian": "fj",
    "american sign language": "ase", "asl": "ase", "auslan": "asf", "british sign language": "bfi",
}
_LANGUAGE_WORDS = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(_LANGUAGE_NAMES, key=len, reverse=True)) + r")\b")
# ISO 639-2/3 codes of the common languages -> their 639-1 code, so "eng" and "en" match.
_THREE_TO_TWO = {
    "eng": "en", "spa": "es", "fra": "fr", "fre": "fr", "por": "pt", "deu": "de", "ger": "de",
    "zho": "zh", "chi": "zh", "cmn": "zh", "ara": "ar", "rus": "ru", "hat": "ht", "vie": "vi",
    "kor": "ko", "tgl": "tl", "ita": "it", "pol": "pl", "urd": "ur", "hin": "hi", "ben": "bn",
    "pan": "pa", "heb": "he", "ell": "el", "gre": "el", "yid": "yi", "jpn": "ja", "slk": "sk",
    "slo": "sk", "ukr": "uk", "fas": "fa", "per": "fa", "som": "so", "tur": "tr", "nld": "nl",
    "dut": "nl", "tha": "th",
}


def _languages(holder: dict) -> list[str]:
    """ISO codes from an object's `languages` (3.0 objects or rows with `code`/`name`, 1.x
    rows with free-text `language`, or a comma-separated text column as in Ohana)."""
    value = holder.get("languages")
    codes: list[str] = []
    if isinstance(value, str):
        codes.extend(_language_codes(value))
    for row in _objs(value):
        code = (_text(row.get("code")) or "").casefold()
        if re.fullmatch(r"[a-z]{2}", code):
            codes.append(code)
        elif re.fullmatch(r"[a-z]{3}", code):
            codes.append(_THREE_TO_TWO.get(code, code))
        else:
            codes.extend(_language_codes(row.get("name")) or _language_codes(row.get("language")))
    return _dedupe(codes)


def _language_codes(value) -> list[str]:
    text = _plain(value)
    if not text:
        return []
    return _dedupe(_LANGUAGE_NAMES[m.group(1)] for m in _LANGUAGE_WORDS.finditer(text.casefold()))


_ACCESSIBILITY_PATTERNS = (
    ("wheelchair_access", re.compile(r"wheel\s*chair|handicap(ped)?[- ]access|\bramps?\b|step[- ]free|"
                                     r"accessible entrance|disabled access|\bada\b")),
    ("accessible_toilet", re.compile(r"rest\s*rooms?|toilets?|bathrooms?|washrooms?|lavator")),
    ("hearing_loop", re.compile(r"(hearing|induction|audio)[- ]loops?|t-?coil")),
    ("parking", re.compile(r"parking")),
    ("auslan_interpreter", re.compile(r"auslan")),
)
_NEGATION = re.compile(r"\b(no|not|non|without|inaccessible|unavailable)\b")
_TRANSIT = re.compile(r"\b(bus(es)?|train|metro\w*|subway|tram|light rail|station|transit|ferry)\b")


def _accessibility(location: dict) -> list[str]:
    """Vocabulary values where the text is plain about it. Only accessibility fields are read
    (a "restroom" there is an accessible one); parts that say "no"/"not" are skipped."""
    texts: list[str] = []
    value = location.get("accessibility")
    if isinstance(value, str):
        texts.append(value)  # Ohana: "disabled_parking, ramp, restroom"
    for row in _objs(value):
        texts.extend(filter(None, (_plain(row.get(k)) for k in ("description", "details", "accessibility"))))
    found: list[str] = []
    for text in texts:
        for part in re.split(r"[.;,\n]", text.casefold().replace("_", " ")):
            if not part.strip() or _NEGATION.search(part):
                continue
            found.extend(value for value, pattern in _ACCESSIBILITY_PATTERNS if pattern.search(part))
    transport = _plain(location.get("transportation"))
    if transport and _TRANSIT.search(transport.casefold()) and not _NEGATION.search(transport.casefold()):
        found.append("public_transport")
    return [value for value in vocab.ACCESSIBILITY if value in found]


# --- Schedules ------------------------------------------------------------------------------

_DAY_CODES = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat", "SU": "sun"}
_DAY_PREFIXES = {"mon": "mon", "tue": "tue", "wed": "wed", "thu": "thu", "fri": "fri", "sat": "sat", "sun": "sun"}
# HSDS 1.x gives no numbering for `weekday`; Ohana (which HSDS 1.0 grew from) stores ISO 8601
# numbers, Monday = 1 ... Sunday = 7. 0 can only mean a Sunday-first count's Sunday, and in
# such a count 1-6 are Monday-Saturday too, so only a Sunday = 1 count would be misread.
_ISO_WEEKDAYS = {0: "sun", 1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}
_MONTHLY = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_RULE_DAY = re.compile(r"^([+-]?\d{1,2})?([A-Z]{2})$")
_TIME = re.compile(
    r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?::\d{2}(?:\.\d+)?)?\s*(?:(?P<ap>[ap])\.?\s*m?\.?)?$")
_COMPACT_TIME = re.compile(r"^(?P<h>\d{1,2})(?P<m>\d{2})\s*(?:(?P<ap>[ap])\.?\s*m?\.?)?$")
# "Z" or "+01:00" after a time: see _parse_time for why it is dropped.
_OFFSET = re.compile(r"(?<=\d)\s*(z|[+-]\d{2}(:?\d{2})?)$")


def _schedule_into(data: dict, rows: list[dict], options: ReadOptions, place: dict | None,
                   problems: list[Problem]) -> Problem | None:
    """Put sessions, open_24_7 and timezone into `data`; a Problem when the listing cannot
    load (no time zone at all). Bad schedule rows are dropped with a problem each."""
    sessions: list[dict] = []
    all_day: set[str] = set()
    for row in rows:
        problems.extend(_row_problems(row))
        got = _row_sessions(row, problems)
        for session in got:
            if session.get("all_day"):
                all_day.add(session["weekday"])
            else:
                sessions.append(session)
    if len(all_day) == 7:
        data["open_24_7"] = True
    else:
        # A day open round the clock, but not every day: as near as a session gets.
        sessions.extend({"weekday": day, "start": "00:00", "end": "23:59"} for day in vocab.WEEKDAYS if day in all_day)
    unique = list({tuple(sorted(s.items())): s for s in sessions}.values())
    unique.sort(key=lambda s: (vocab.WEEKDAYS.index(s["weekday"]), s["start"], s.get("monthly") or ""))
    if len(unique) > MAX_SESSIONS:
        problems.append(Problem("sessions", f"{len(unique)} sessions; only the first {MAX_SESSIONS} kept"))
        unique = unique[:MAX_SESSIONS]
    if unique:
        data["sessions"] = unique
    zone = _zone(rows, options, place)
    if zone is None:
        return Problem("timezone", "no time zone: the feed gives none and none was configured "
                       "(set the source's timezone, e.g. America/New_York)")
    data["timezone"] = zone
    return None


def _zone(rows: list[dict], options: ReadOptions, place: dict | None) -> str | None:
    """The listing's IANA zone: one named in the data, else the configured one, else (in
    Australia) the zone of the state. HSDS 3.0's schedule `timezone` is a number of hours
    from UTC; a fixed offset is wrong for half of each year wherever clocks change, so a
    number is never turned into a zone."""
    for row in rows:
        name = _text(row.get("timezone"))
        if name and name in _zones():
            return name
    if options.timezone and options.timezone in _zones():
        return options.timezone
    if place and place.get("country") == "AU":
        return vocab.STATES.get((place.get("state") or "").upper())
    return None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _row_sessions(row: dict, problems: list[Problem]) -> list[dict]:
    """Sessions from one schedule row (3.0 iCal rule or 1.x weekday); [] with a problem when
    the row cannot be read, [] silently for a row that says the place is closed."""
    where = _where(row)
    closed = (_text(row.get("closed")) or "").casefold()
    opens_text, closes_text = _text(row.get("opens_at")), _text(row.get("closes_at"))
    if closed in ("true", "1", "yes") or (opens_text or "").casefold() == "closed":
        return []

    def bad(message: str, value=None) -> list[dict]:
        problems.append(Problem("sessions", f"{where}{message}; this schedule is left out",
                                shorten(value) if value is not None else None))
        return []

    days: list[tuple[str, str | None]] = []  # (weekday, monthly rule)
    freq = (_text(row.get("freq")) or "").upper()
    byday = _text(row.get("byday"))
    if freq or byday:
        if freq not in ("", "WEEKLY", "MONTHLY", "DAILY"):
            return bad(f"frequency {freq} cannot be shown as weekly or monthly sessions", freq)
        interval = _number(row.get("interval"))
        if interval is not None and interval != 1:
            # "every 2 weeks" needs a start date to know which weeks; sessions have none.
            return bad("repeats at an interval other than 1", row.get("interval"))
        if freq == "MONTHLY" and not byday:
            return bad("monthly by day of the month (bymonthday) cannot be shown", row.get("bymonthday"))
        ignored = [k for k in ("byweekno", "byyearday", "bymonthday") if _text(row.get(k))]
        if ignored:
            # RFC 5545 allows these only with other frequencies (or, for bymonthday, instead of
            # byday): read the weekly/monthly rule and say what was ignored.
            problems.append(Problem("sessions", f"{where}ignored {', '.join(ignored)}: not usable in a "
                                    f"{freq or 'WEEKLY'} rule with byday", byday))
        if freq == "DAILY" and not byday:
            days = [(day, None) for day in vocab.WEEKDAYS]
        for token in (byday or "").replace(";", ",").split(","):
            token = token.strip().upper()
            if not token:
                continue
            match = _RULE_DAY.match(token)
            weekday = _DAY_CODES.get(match.group(2)) if match else _weekday_name(token)
            if weekday is None:
                return bad("byday is not a list of MO, TU, ... (with 1-4 or -1 before a day when monthly)", byday)
            ordinal = int(match.group(1)) if match and match.group(1) else None
            if ordinal is None:
                days.append((weekday, None))
            elif freq != "MONTHLY":
                return bad(f"{token} (an occurrence in the month) needs freq MONTHLY", byday)
            elif ordinal not in _MONTHLY:
                return bad(f"{token}: only the 1st-4th and last (-1) weekday of a month can be shown", byday)
            else:
                days.append((weekday, _MONTHLY[ordinal]))
        if not days:
            return bad("no days given (byday)", byday)
    else:
        raw_day = row.get("weekday")
        weekday = _weekday_value(raw_day)
        if weekday is None:
            return bad("weekday is not a day name or a number 1-7 (Monday = 1)", raw_day)
        days = [(weekday, None)]

    if not opens_text or not closes_text:
        return bad("no opening or closing time", row.get("original_text") or opens_text or closes_text)
    opens, closes = _parse_time(opens_text), _parse_time(closes_text)
    if opens is None or closes is None:
        return bad("times are not like 09:00, 09:00:00 or 9:00 AM", f"{opens_text}-{closes_text}")
    start, start_meridiem = opens
    end, end_meridiem = closes
    if start_meridiem and not end_meridiem and end <= start and end + 720 > start and end < 720:
        # "9:00am-5:00": a 12-hour writer who left out "pm" on the closing time only.
        end += 720
    if start == 1440:
        return bad("opens at 24:00", opens_text)
    if end == 1440:
        end = 0  # closes at midnight: an end before the start means "after midnight"
    if start == end and start != 0:
        return bad("opens and closes at the same time", f"{opens_text}-{closes_text}")
    if start == 0 and end in (0, 1439):
        # Open round the clock that day (00:00-00:00, 00:00-24:00 or 00:00-23:59).
        return [{"weekday": day, "all_day": True} if monthly is None else _session(day, 0, 1439, monthly)
                for day, monthly in days]
    return [_session(day, start, end, monthly) for day, monthly in days]


def _session(day: str, start: int, end: int, monthly: str | None) -> dict:
    session = {"weekday": day, "start": f"{start // 60:02d}:{start % 60:02d}", "end": f"{end // 60:02d}:{end % 60:02d}"}
    if monthly:
        session["monthly"] = monthly
    return session


def _weekday_name(text: str) -> str | None:
    key = re.sub(r"[^a-z]", "", text.casefold())[:3]
    return _DAY_PREFIXES.get(key) if len(key) == 3 else None


def _weekday_value(value) -> str | None:
    number = _number(value)
    if number is not None:
        return _ISO_WEEKDAYS.get(int(number)) if number == int(number) else None
    text = _text(value)
    return _weekday_name(text) if text else None


def _parse_time(text: str) -> tuple[int, bool] | None:
    """(minutes after midnight, written with am/pm?) from "09:00", "09:00:00", "9:00 AM", "9am",
    "830am", "noon". A "Z" or "+01:00" suffix is dropped: HSDS asks for one, but feeds write
    local opening hours ("9am to 12pm" as 09:00:00Z in the spec's own example), and turning
    a fixed offset into local time would be wrong across daylight-saving changes."""
    clean = _OFFSET.sub("", text.strip().casefold()).strip()
    if clean == "noon":
        return 720, True
    if clean == "midnight":
        return 0, True
    match = _TIME.match(clean) or _COMPACT_TIME.match(clean)
    if not match or (match.group("m") is None and not match.group("ap")):
        return None
    hour, minute = int(match.group("h")), int(match.group("m") or 0)
    meridiem = match.group("ap")
    if minute > 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "p" else 0)
        return hour * 60 + minute, True
    if hour > 24 or (hour == 24 and minute):
        return None
    return hour * 60 + minute, False
