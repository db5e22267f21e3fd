"""Preparing a large feed on every core: its entries in runs, each run read, completed
and validated in a worker process, the results gathered here in feed order.

Reading and validating are nearly all of an import's Python time and each entry's is its
own, so runs of entries go to worker processes (`concurrent.futures`). The workers are
forked from this process once the feed is parsed, so they start at once and find the runs
already in memory: only run numbers go to them. (Forked, not spawned: a spawned worker
imports the caller's main script again, which any script without a `__main__` guard does
not survive.) A worker sends back each valid listing as its document text
(`listing_document`), which rebuilds here in a fraction of the time pickling the listing
object would take, and keeps its text for the index and the source cache. What needs this
process stays here, in feed order: records without coordinates are geocoded here (one
geocoder, one breaker, one request at a time, as before), and the duplicate-id check, which
needs every record before, is `gather`'s. The result is the same `Prepared`, listing for
listing and report line for report line, as `pipeline.prepare` of the whole feed
(tests/unit/test_parallel_import.py holds them equal).
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

from indexers import sources
from indexers.pipeline import Outcome, Prepared, breaker_for, gather, needs_coordinates, prepare_record
from indexers.records import Record
from service.domain.schemas import listing_document, listing_from_document

LOG = logging.getLogger("linkage.import")

# Feeds with fewer entries are read in this process alone: a second or two of reading, of
# which forking workers and sending listings back would save little.
PARALLEL_FROM = 10_000
# Entries per run: large enough that sending a run costs little beside reading it, small
# enough that every worker is busy to the end.
PART_SIZE = 2_000
# More workers than this gain little: this process, gathering, becomes the bottleneck.
MAX_WORKERS = 8


def default_workers() -> int:
    """Processes to read a large feed with, the importing one included: one per core this
    process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def prepare_parts(parts: list[sources.Part], geocoder, progress=None, workers: int | None = None) -> Prepared:
    """`pipeline.prepare` of the records of `parts` (a feed split by `sources.split`), read
    by `workers` processes, this one included (None: one per core), when the feed is large
    and there is more than one; by this process alone otherwise."""
    workers = default_workers() if workers is None else workers
    entries = sum(len(part.entries) for part in parts)
    if (workers < 2 or len(parts) < 2 or entries < PARALLEL_FROM
            or "fork" not in multiprocessing.get_all_start_methods()):
        return gather(((record, None) for part in parts for record in sources.read_part(part)),
                      breaker_for(geocoder), progress)
    # This process takes every `workers`-th run itself (the first, then one in `workers`),
    # between gathering the others: on two cores, one worker and this process share the
    # runs, and only the worker's listings pay for the trip back.
    theirs = [number for number in range(len(parts)) if number % workers]
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(min(workers - 1, len(theirs)), mp_context=context,
                               initializer=_start_worker, initargs=(parts, os.getpid()))
    try:
        done = pool.map(_prepare_run, theirs)
        in_order = (_received(next(done)) if number % workers else
                    ((record, None) for record in sources.read_part(part))
                    for number, part in enumerate(parts))
        return gather(itertools.chain.from_iterable(in_order), breaker_for(geocoder), progress)
    except BrokenProcessPool as exc:
        # A worker was killed (out of memory, by an operator): the feed is not at fault, and
        # this process reads it all again rather than fail the import.
        LOG.warning("a worker reading %s ended unexpectedly (%s); reading it again in one process",
                    parts[0].source, exc)
        return prepare_parts(parts, geocoder, progress, workers=1)
    finally:
        # Runs not yet begun are dropped: after a failure here nobody waits for them.
        pool.shutdown(wait=True, cancel_futures=True)


# In a worker: the runs of the feed, as forked (see `_start_worker`).
_worker_parts: list[sources.Part] = []


# How often a worker checks that the importing process is still there.
PARENT_CHECK_S = 0.5


def _start_worker(parts: list[sources.Part], parent: int) -> None:
    """A worker's start: keep the runs it was forked with; no automatic garbage collection
    (as in the importing process: everything made lives to the end of a run); and end when
    the importing process does."""
    _worker_parts[:] = parts
    gc.disable()
    threading.Thread(target=_end_with, args=(parent,), name="linkage-import-parent", daemon=True).start()


def _end_with(parent: int) -> None:
    """End this worker once `parent` is gone (killed, say). A forked worker holds a copy of
    every descriptor its parent had, the import lock's among them, and would otherwise
    wait for work for ever and keep every later import out."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _prepare_run(number: int) -> list:
    """In a worker: `prepare_part` of run `number`."""
    return prepare_part(_worker_parts[number])


def _received(results: list) -> Iterator[tuple[Record, Outcome | None]]:
    """A worker's results for one run, in feed order, as `gather` takes them."""
    for result in results:
        if isinstance(result, Record):  # to prepare here: it needs geocoding
            yield result, None
            continue
        source, position, record_id, record_name, id_field, document, rejections, warnings = result
        # What a report of a duplicate id reads of the record (see `gather`).
        reported = Record(source, position, None, record_id=record_id, record_name=record_name,
                          feed_fields={"id": id_field})
        listing = listing_from_document(document) if document is not None else None
        yield reported, Outcome(listing, rejections, warnings)


def prepare_part(part: sources.Part) -> list:
    """In a worker: each record of the run as itself when it needs geocoding (to prepare in
    the importing process), else as what `_received` rebuilds its outcome from: where it
    is, its feed id and name, the listing's document text or None, its rejections and
    warnings."""
    results: list = []
    for record in sources.read_part(part):
        if needs_coordinates(record):
            results.append(record)
            continue
        outcome = prepare_record(record, None)
        document = listing_document(outcome.listing) if outcome.listing is not None else None
        results.append((record.source, record.position, record.record_id, record.record_name,
                        record.feed_field("id"), document, outcome.rejections, outcome.warnings))
    return results
