"""HSDS tabular data packages: the CSV tables of a package, found and read, and each service
row joined with its child rows into the `service_full` shape the JSON reader also builds."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

from indexers.records import Problem, ReadOptions, Record
from indexers.sources.hsds.listings import build_records, failed_record, guarded
from indexers.sources.hsds.rows import POSITION, ROW_PROBLEMS, has_any

# csv's default field limit (128 KiB) is process-wide and other code may change it. While this
# reader parses, it sets its own: generous for real descriptions, yet bounded so one hostile
# field cannot take the memory. A field beyond it ends the reading of that table (see _rows).
CSV_FIELD_LIMIT = 4 * 1024 * 1024

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


def read_package(directory: Path, options: ReadOptions) -> Iterator[Record]:
    """The records of every service row in a tabular data package; a table that cannot be read
    is a failed record naming it, and the services still load."""
    tables, notes = _find_tables(directory)
    for note in notes:
        yield failed_record(options, "datapackage.json", "_file", note)
    if "service" not in tables:
        yield failed_record(options, directory.name, "_file",
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
                yield failed_record(options, problem[0], "_file", problem[1])
                continue
            rows.append(row)
        package.tables[table] = rows
    for row, problem in _rows(tables["service"]):
        if problem is not None:
            yield failed_record(options, problem[0], "_file", problem[1])
            continue
        position = row[POSITION]
        yield from guarded(options, position, lambda: build_records(package.service(row), position, options))


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
            row[POSITION] = f"{name} row {start}"
            damaged = [k for k, v in row.items() if isinstance(v, str) and "\ufffd" in v]
            if damaged:
                row[ROW_PROBLEMS] = tuple(
                    Problem(k, f"{row[POSITION]}: column {k}: bytes that are not UTF-8 were replaced by U+FFFD",
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
        service["phones"] = [p for p in self.by("phone", "service_id", sid) if not has_any(p, "location_id", "service_at_location_id")]
        service["schedules"] = [s for s in self._either(schedules, "service_id", sid)
                                if not has_any(s, "location_id", "service_at_location_id")]
        service["languages"] = self.by("language", "service_id", sid)
        service["cost_options"] = self.by("cost_option", "service_id", sid)
        links = self.by("service_at_location", "service_id", sid)
        if "service_at_location" not in self.tables and row.get("location_id", "").strip():
            # Ohana's layout: one location per service, named on the service row.
            links = [{"id": "", "service_id": sid, "location_id": row["location_id"].strip(), POSITION: row[POSITION]}]
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
                                  if not has_any(p, "service_id", "service_at_location_id")]
            location["schedules"] = [s for s in self._either(schedules, "location_id", lid)
                                     if not has_any(s, "service_id", "service_at_location_id")]
            location["accessibility"] = self.by("accessibility", "location_id", lid)
            location["languages"] = [x for x in self.by("language", "location_id", lid) if not has_any(x, "service_id")]
            out["location"] = location
        else:
            out["location"] = None
        specific_phones = self.by("phone", "service_at_location_id", link_id) + [
            p for p in self.by("phone", "service_id", sid)
            if p.get("location_id", "").strip() == lid and not has_any(p, "service_at_location_id")]
        specific_schedules = self._either(schedules, "service_at_location_id", link_id) + [
            s for s in self._either(schedules, "service_id", sid)
            if s.get("location_id", "").strip() == lid and not has_any(s, "service_at_location_id")]
        out["phones"] = specific_phones
        out["schedules"] = specific_schedules
        return out
