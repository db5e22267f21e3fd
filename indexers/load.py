"""Check, then load: validate every record, report the bad ones, load the good ones atomically."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError

from service.models import Listing
from service.schemas import flatten_errors, load_listing

from .sources.native import FeedError, read_native

# Offending values are shown in reports, cut short: a 1 MB string helps nobody.
MAX_SHOWN_VALUE = 80


@dataclass(frozen=True)
class Rejection:
    """One record that did not load: where, which field, what was wrong."""

    source: str
    position: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.position}: {self.field}: {self.problem}"


@dataclass
class IndexResult:
    """Listings that passed, and every rejection."""

    listings: list[Listing] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    read: int = 0


def validate_records(source: str, records) -> IndexResult:
    """Validate (position, record) pairs into listings; duplicates of an id are rejected."""
    result = IndexResult()
    seen: dict[str, str] = {}
    for position, record in records:
        result.read += 1
        if isinstance(record, Exception):
            result.rejections.append(Rejection(source, position, "_record", str(record)))
            continue
        if not isinstance(record, dict):
            result.rejections.append(Rejection(source, position, "_record", "not a JSON object"))
            continue
        try:
            listing = load_listing(record)
        except ValidationError as exc:
            for field_name, problem in flatten_errors(exc.messages):
                result.rejections.append(Rejection(source, position, field_name, _shorten(problem)))
            continue
        if listing.id in seen:
            result.rejections.append(Rejection(
                source, position, "id", f"duplicate of {seen[listing.id]} ({listing.id})"))
            continue
        seen[listing.id] = position
        result.listings.append(listing)
    return result


def read_sources(paths: list[Path]) -> IndexResult:
    """Validate every native JSON source (a file, or a directory of *.json files)."""
    combined = IndexResult()
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    for file in files:
        try:
            part = validate_records(file.name, read_native(file))
        except (FeedError, OSError) as exc:
            combined.rejections.append(Rejection(file.name, "file", "_file", str(exc)))
            continue
        combined.read += part.read
        known = {listing.id for listing in combined.listings}
        for listing in part.listings:
            if listing.id in known:
                combined.rejections.append(Rejection(file.name, listing.id, "id", "duplicate across sources"))
            else:
                combined.listings.append(listing)
        combined.rejections.extend(part.rejections)
    return combined


def _shorten(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "…"
