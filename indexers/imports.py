"""Importing sources: read, prepare, check, merge with the other sources, load, remember.

Each source's last good listings are kept in a source cache (one JSON Lines file per
source). An import replaces only the sources it read: the index is rebuilt from every
cached source, deduplicated, and loaded atomically, so re-importing one feed updates its
records, removes the ones it dropped, and leaves the other feeds as they were. A source
that cannot be read, or whose rejections exceed the limit, keeps its previous listings.

One import at a time per target: each holds a lock file in the source cache's folder
(see import_lock), since two at once would each rebuild the index from the cache without
the other's source, and the later swap would drop the earlier's listings.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import orjson

from service.backends.contract import BackendUnavailable
from service.domain.models import Listing
from service.domain.schemas import listing_document, listing_from_trusted
from service.source_state import STATE_FILE, flush_folder, read_state, write_state

from indexers import parallel, sources
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
    state_problem: str | None = None  # the recorded state was unreadable (and was replaced)

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
        with open(path, "rb") as fh:
            return [listing_from_trusted(_cached(line)) for line in fh if line.strip()]

    def ids(self, name: str) -> set[str]:
        """The ids of a source's cached listings (empty when unknown), without rebuilding
        the listings: an import asks only which of them a feed dropped."""
        path = self._path(name)
        if not path.exists():
            return set()
        with open(path, "rb") as fh:
            return {_cached_id(line) for line in fh if line.strip()}

    def save(self, name: str, listings: list[Listing]) -> None:
        """Replace a source's listings (written beside, then renamed: never half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        staging = path.with_suffix(f".tmp-{os.getpid()}")
        with open(staging, "w", encoding="utf-8") as fh:
            for listing in listings:
                fh.write(listing_document(listing) + "\n")
            # On disk before the rename: after a crash the next index is built from these.
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(staging, path)
        flush_folder(self.directory)

    def state(self) -> dict:
        """Per source: last success time and counts (state.json)."""
        return read_state(self.directory)

    def record(self, outcomes: list[SourceOutcome], when: datetime) -> str | None:
        """Remember each source's result; successes update `last_success`. An unreadable
        state file (torn by a crash) must not stop every later import: it is replaced by
        this run's results, and what was wrong is returned to be reported."""
        problem = None
        try:
            state = self.state()
        except ValueError as exc:
            problem = (f"{STATE_FILE} in {self.directory} was unreadable ({exc}); it is replaced "
                       "by this run's results, and other sources' history starts again")
            state = {}
        for outcome in outcomes:
            entry = state.setdefault(outcome.name, {})
            entry["last_attempt"] = when.isoformat(timespec="seconds")
            entry["last_result"] = "failed: " + outcome.error if outcome.error else "ok"
            if not outcome.error:
                entry.update(last_success=entry["last_attempt"], loaded=outcome.loaded,
                             rejected=outcome.rejected)
        write_state(self.directory, state)
        return problem

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


def _cached(line: bytes) -> dict:
    """One line of a source cache, parsed: by orjson (twice as fast as the stdlib here), or
    by the stdlib where orjson refuses what the stdlib wrote and reads (a lone surrogate's
    escape, which `listing_document` leaves to the stdlib); a damaged line raises
    ValueError either way."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


# The start of a line `listing_document` wrote: its id comes first, as a JSON string.
_LEADING_ID = re.compile(rb'\{"id":("(?:[^"\\]|\\.)*")')


def _cached_id(line: bytes) -> str:
    """The id of a source cache's line, read from the line's start where it is (a fifth of
    the time of parsing the whole line), else from the whole line."""
    leading = _LEADING_ID.match(line)
    if leading is not None:
        return _cached(leading.group(1))
    return _cached(line)["id"]


def read_source(spec: SourceSpec, geocoder, progress=None, workers: int | None = None) -> Prepared:
    """Fetch, read and prepare one source (FeedError when the feed as a whole is unreadable):
    a large feed whose entries read one by one on `workers` processes (`indexers.parallel`;
    None: one per core)."""
    feed = sources.fetch(spec.location)
    parts = sources.split(feed, spec.format, spec.options, parallel.PART_SIZE)
    if parts is not None:
        return parallel.prepare_parts(parts, geocoder, progress, workers)
    records = sources.read(feed, spec.format, spec.options, spec.mapping)
    return prepare(records, geocoder, progress)


class ImportLocked(RuntimeError):
    """Another import into the same target is running."""


LOCK_FILE = "import.lock"
# `linkage index` and `refresh` exit with this when another import holds the lock
# (EX_TEMPFAIL from sysexits.h: a temporary failure, try again later).
EXIT_LOCKED = 75


def _lock_holder(path: Path) -> str:
    """Who holds the lock, as its holder wrote it ("pid 12, since 2026-...")."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "pid unknown"


@contextmanager
def import_lock(directory: Path, wait_seconds: float = 0.0,
                on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the import lock of the target whose source cache is `directory` for the block.

    An flock on `import.lock` in that folder: the kernel lets it go when the holder exits,
    however it ends, so a killed import never blocks the next. When another import holds
    it, wait up to `wait_seconds` (telling `on_wait` once), then raise ImportLocked naming
    the holder's pid and start time.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    deadline = time.monotonic() + max(0.0, wait_seconds)
    with open(path, "a+", encoding="utf-8") as fh:
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _lock_holder(path)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ImportLocked(
                        f"another import is running ({holder}) into the same target (lock {path}); "
                        "try again when it has finished, or give --wait SECONDS") from None
                if on_wait and not told:
                    on_wait(f"waiting up to {wait_seconds:g} s for another import ({holder}) to finish")
                    told = True
                time.sleep(min(0.2, left))
        try:
            fh.seek(0)
            fh.truncate()
            since = datetime.now(timezone.utc).isoformat(timespec="seconds")
            fh.write(f"pid {os.getpid()}, since {since}\n")
            fh.flush()
            yield
        finally:
            fh.truncate(0)  # still held: nobody reads a finished import as the holder


@contextmanager
def _no_automatic_gc() -> Iterator[None]:
    """Automatic garbage collection off for the block. An import builds hundreds of thousands
    of objects that all stay alive to the end, and the collector would walk them again and
    again (a quarter of an import's time) to find almost no cycles; reference counting
    still frees everything else as it goes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_sources(specs: list[SourceSpec], backend, geocoder, cache: SourceCache, *,
                   max_reject: float = 0.05, dry_run: bool = False,
                   progress: Callable[[str, int], None] | None = None,
                   now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                   wait_seconds: float = 0.0, on_wait: Callable[[str], None] | None = None,
                   workers: int | None = None) -> ImportSummary:
    """Import sources into the backend, replacing only their own listings; one import at a
    time per target (ImportLocked when another runs past `wait_seconds`). A large feed is
    read on `workers` processes (None: one per core; see `indexers.parallel`)."""
    with import_lock(cache.directory, wait_seconds, on_wait), _no_automatic_gc():
        return _import_locked(specs, backend, geocoder, cache, max_reject=max_reject, dry_run=dry_run,
                              progress=progress, now=now, workers=workers)


def _import_locked(specs: list[SourceSpec], backend, geocoder, cache: SourceCache, *, max_reject: float,
                   dry_run: bool, progress, now: Callable[[], datetime], workers: int | None) -> ImportSummary:
    """import_sources, with the lock held."""
    summary = ImportSummary()
    staged: dict[str, list[Listing]] = {}
    cache.bootstrap(backend)
    for spec in specs:
        outcome = SourceOutcome(spec.name)
        summary.outcomes.append(outcome)
        try:
            prepared = read_source(spec, geocoder, (lambda n, name=spec.name: progress(name, n)) if progress else None,
                                   workers)
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
        previous = cache.ids(spec.name)
        staged[spec.name] = prepared.listings
        outcome.loaded = len(prepared.listings)
        outcome.removed = len(previous - {listing.id for listing in prepared.listings})
    if dry_run:
        if staged:
            _merge(staged, cache, summary)
        return summary
    if staged:
        merged = _merge(staged, cache, summary)
        try:
            report = backend.load(merged)
        except Exception as exc:  # the backend keeps serving its old index; say why and stop
            summary.load_error = f"{type(exc).__name__}: {exc}"
            for outcome in summary.outcomes:
                if outcome.name in staged:
                    outcome.error = f"the load failed ({summary.load_error}); the previous index keeps serving"
                    outcome.loaded = 0
        else:
            for listing_id, reason in getattr(report, "failures", ()):
                summary.rejections.append(Rejection("engine", listing_id, "_document", reason))
            for name, listings in staged.items():
                cache.save(name, listings)
    # Every attempt is recorded, failures too: a run where every source failed must not
    # leave the last success's "ok" standing.
    summary.state_problem = cache.record(summary.outcomes, now())
    return summary


def _merge(staged: dict[str, list[Listing]], cache: SourceCache, summary: ImportSummary) -> list[Listing]:
    """The sources just read with every other cached source, deduplicated."""
    # A listing id belongs to whichever source gave it last: the sources just read win.
    fresh_ids = {listing.id for listings in staged.values() for listing in listings}
    combined: list[Listing] = []
    for name in sorted(set(cache.names()) | set(staged)):
        if name in staged:
            combined.extend(staged[name])
        else:
            combined.extend(x for x in cache.load(name) if x.id not in fresh_ids)
    merged, summary.merged = dedupe(combined)
    return merged
