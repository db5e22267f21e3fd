"""Importing sources: read, prepare, check, merge with the other sources, load, remember.

Each source's last good listings are kept in a source cache (one JSON Lines file per
source). An import replaces only the sources it read: the index is rebuilt from every
cached source, deduplicated, and loaded atomically, so re-importing one feed updates its
records, removes the ones it dropped, and leaves the other feeds as they were. A source
that cannot be read, or whose rejections exceed the limit, keeps its previous listings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from service.backends.contract import BackendUnavailable
from service.domain.models import Listing
from service.domain.schemas import dump_listing, listing_from_trusted
from service.source_state import read_state, write_state

from indexers import sources
from indexers.pipeline import Prepared, Rejection, dedupe, prepare
from indexers.records import ReadOptions
from indexers.sources.native import FeedError


@dataclass(frozen=True)
class SourceSpec:
    """One source to import: where it is, what it is, how to read it."""

    location: str
    options: ReadOptions
    format: str = "auto"
    mapping: Path | None = None

    @property
    def name(self) -> str:
        """The source's name in the cache and the report."""
        return self.options.source_name


@dataclass
class SourceOutcome:
    """What happened to one source."""

    name: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    geocoded: int = 0
    removed: int = 0
    error: str | None = None


@dataclass
class ImportSummary:
    """The whole run: per-source outcomes, rejections, merged duplicates, and the load."""

    outcomes: list[SourceOutcome] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)
    merged: int = 0
    load_error: str | None = None

    @property
    def ok(self) -> bool:
        """True when something loaded and no source failed."""
        return self.load_error is None and any(o.loaded for o in self.outcomes) and not any(
            o.error for o in self.outcomes)

    def line(self) -> str:
        """The one-line summary printed at the end."""
        total = lambda name: sum(getattr(o, name) for o in self.outcomes)  # noqa: E731
        return (f"read {total('read')}, loaded {total('loaded')}, rejected {total('rejected')}, "
                f"geocoded {total('geocoded')}, merged as duplicates {self.merged}, "
                f"removed {total('removed')}")


class SourceCache:
    """The last good listings of each source, and when each source last succeeded."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def _path(self, name: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
        return self.directory / f"{safe}.jsonl"

    def names(self) -> list[str]:
        """Cached source names, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.jsonl"))

    def load(self, name: str) -> list[Listing]:
        """A source's cached listings (empty when unknown)."""
        path = self._path(name)
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as fh:
            return [listing_from_trusted(json.loads(line)) for line in fh if line.strip()]

    def save(self, name: str, listings: list[Listing]) -> None:
        """Replace a source's listings (written beside, then renamed: never half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        staging = path.with_suffix(f".tmp-{os.getpid()}")
        with open(staging, "w", encoding="utf-8") as fh:
            for listing in listings:
                fh.write(json.dumps(dump_listing(listing), ensure_ascii=False) + "\n")
        os.replace(staging, path)

    def state(self) -> dict:
        """Per source: last success time and counts (state.json)."""
        return read_state(self.directory)

    def record(self, outcomes: list[SourceOutcome], when: datetime) -> None:
        """Remember each source's result; successes update `last_success`."""
        state = self.state()
        for outcome in outcomes:
            entry = state.setdefault(outcome.name, {})
            entry["last_attempt"] = when.isoformat(timespec="seconds")
            entry["last_result"] = "failed: " + outcome.error if outcome.error else "ok"
            if not outcome.error:
                entry.update(last_success=entry["last_attempt"], loaded=outcome.loaded,
                             rejected=outcome.rejected)
        write_state(self.directory, state)

    def bootstrap(self, backend) -> None:
        """Seed an empty cache from what the backend already serves, grouped by id prefix,
        so the first import of a new feed does not drop listings loaded before caches existed."""
        if self.names():
            return
        try:
            existing = list(backend.listings())
        except BackendUnavailable:
            return
        groups: dict[str, list[Listing]] = {}
        for listing in existing:
            groups.setdefault(listing.id.split(":", 1)[0], []).append(listing)
        for name, listings in groups.items():
            self.save(name, listings)


def read_source(spec: SourceSpec, geocoder, progress=None) -> Prepared:
    """Fetch, read and prepare one source (FeedError when the feed as a whole is unreadable)."""
    feed = sources.fetch(spec.location)
    records = sources.read(feed, spec.format, spec.options, spec.mapping)
    return prepare(records, geocoder, progress)


def import_sources(specs: list[SourceSpec], backend, geocoder, cache: SourceCache, *,
                   max_reject: float = 0.05, dry_run: bool = False,
                   progress: Callable[[str, int], None] | None = None,
                   now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> ImportSummary:
    """Import sources into the backend, replacing only their own listings."""
    summary = ImportSummary()
    staged: dict[str, list[Listing]] = {}
    cache.bootstrap(backend)
    for spec in specs:
        outcome = SourceOutcome(spec.name)
        summary.outcomes.append(outcome)
        try:
            prepared = read_source(spec, geocoder, (lambda n, name=spec.name: progress(name, n)) if progress else None)
        except (FeedError, OSError, ValueError) as exc:
            outcome.error = str(exc)
            summary.rejections.append(Rejection(spec.name, "feed", "_feed", str(exc)))
            continue
        outcome.read, outcome.rejected, outcome.geocoded = prepared.read, prepared.rejected, prepared.geocoded
        summary.rejections.extend(prepared.rejections)
        summary.warnings.extend(prepared.warnings)
        if not prepared.listings:
            outcome.error = "nothing valid to load"
        elif prepared.read and prepared.rejected / prepared.read > max_reject:
            outcome.error = (f"{prepared.rejected} of {prepared.read} records rejected, over the "
                             f"{max_reject:.0%} allowed (--max-reject); the source keeps its previous listings")
        if outcome.error:
            continue
        previous = {listing.id for listing in cache.load(spec.name)}
        staged[spec.name] = prepared.listings
        outcome.loaded = len(prepared.listings)
        outcome.removed = len(previous - {listing.id for listing in prepared.listings})
    if not staged:
        return summary
    # A listing id belongs to whichever source gave it last: the sources just read win.
    fresh_ids = {listing.id for listings in staged.values() for listing in listings}
    combined: list[Listing] = []
    for name in sorted(set(cache.names()) | set(staged)):
        if name in staged:
            combined.extend(staged[name])
        else:
            combined.extend(x for x in cache.load(name) if x.id not in fresh_ids)
    merged, summary.merged = dedupe(combined)
    if dry_run:
        return summary
    try:
        report = backend.load(merged)
    except Exception as exc:  # the backend keeps serving its old index; say why and stop
        summary.load_error = f"{type(exc).__name__}: {exc}"
        for outcome in summary.outcomes:
            if outcome.name in staged:
                outcome.error = "the load failed; the previous index keeps serving"
                outcome.loaded = 0
        return summary
    for listing_id, reason in getattr(report, "failures", ()):
        summary.rejections.append(Rejection("engine", listing_id, "_document", reason))
    for name, listings in staged.items():
        cache.save(name, listings)
    cache.record([o for o in summary.outcomes], now())
    return summary
