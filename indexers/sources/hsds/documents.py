"""HSDS 3.0 JSON documents: the shapes the API publishes, each entry as a service object in
the `service_full` shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from indexers.records import ReadOptions, Record
from indexers.sources.hsds.listings import build_records, failed_record, guarded


def read_json(path: Path, options: ReadOptions) -> Iterator[Record]:
    """The records of every service in an HSDS JSON file; a file that cannot be read is one
    failed record naming why."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield failed_record(options, path.name, "_file", f"cannot read: {exc.strerror or exc}")
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # JSON must be UTF-8 (RFC 8259); guessing another encoding would garble every name.
        yield failed_record(options, path.name, "_file", f"not UTF-8 (byte {exc.start})")
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield failed_record(options, path.name, "_file", f"line {exc.lineno}: invalid JSON: {exc.msg}")
        return
    except RecursionError:
        yield failed_record(options, path.name, "_file", "JSON nested too deeply")
        return
    for position, entry in _json_entries(document):
        if not isinstance(entry, dict):
            yield failed_record(options, position, "_record", "not a JSON object", entry)
            continue
        yield from guarded(options, position, lambda: build_records(_json_service(entry), position, options))


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
