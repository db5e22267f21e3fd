"""Elasticsearch / OpenSearch backend: the same contract as SQLite, on a search cluster.

Listings live in `<alias>-<timestamp>` indices behind the alias (`linkage-listings`). A
load builds a new index, bulk-loads it, and swaps the alias in one atomic `_aliases`
call; the previous index is kept for `linkage index --rollback` and older ones deleted.
Request bodies come from `queries.py`; this module only sends them. The two engines
differ only in how the client is built (`make_transport`).
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable
from urllib.parse import quote

import orjson

from service.domain import ordering
from service.domain.facets import facet_counts
from service.domain.models import Listing, SearchQuery
from service.domain.schemas import listing_from_trusted
from service.recent import Recent
from service.backends import timed
from service.backends.engine import queries
from service.backends.contract import ENGINE_TRANSPORT, ROLLBACK, BackendUnavailable, LoadReport, Matches


# Engines answer or fail within this; the API then answers 503 rather than hang.
REQUEST_TIMEOUT_S = 2.0
BULK_TIMEOUT_S = 60.0
# Creating an index, refreshing it and moving the alias wait on the cluster's master and
# can take seconds on a busy node; an import may wait, a search may not.
ADMIN_TIMEOUT_S = 30.0
# An index that never finished loading is deleted by later imports only once it is this old:
# until then it may be another import, running at the same time, still loading.
ABANDONED_AFTER = timedelta(hours=6)
STAMP_FORMAT = "%Y%m%d%H%M%S%f"  # index names: <alias>-<20 digits, UTC>
# Bigger batches cost the node less per document; two in flight keep it busy while the
# next is encoded (the service runs on small machines: more threads only queue).
BULK_CHUNK = 2000
BULK_THREADS = 2
# Walks over candidates in lower-bound order read pages that double from these sizes (beyond
# the soonest search's first answer, and for time filters): most walks stop within the first,
# and one that must settle thousands (services opening at 9:00 in a week when clocks change)
# takes a few requests, not hundreds. Every candidate a walk needs is read: a cap would give
# wrong totals and pages.
WALK_BATCH = 64
TIMED_BATCH = 500
# The engines refuse a page larger than their result window (10,000 by default).
LARGEST_WALK_PAGE = 8192
ZONES_TTL_S = 60.0
# Listings rebuilt from search hits, kept per worker (see `_BuiltListings`): as many as the
# SQLite backend keeps decoded (its DOCUMENT_CACHE_SIZE).
LISTINGS_KEPT = 4096


class _BuiltListings:
    """The listings last rebuilt from hits' stored documents, each with its document.

    Rebuilding a listing (its parts as dataclasses) was most of a search's own work beside
    the engine's, and the listings near busy places come back page after page. One is
    reused only for a document equal to the one it was built from (comparing costs a tenth
    of rebuilding), so a new index, or a listing changed under the same id, can never show
    what it does not hold. The document handed back is the kept one: renderers then find
    its JSON text already written (`json_api.StoredFragments` goes by the document itself).
    Documents are shared: readers copy before adding to one.
    """

    def __init__(self, size: int):
        self._built = Recent(size)  # listing id -> (its listing, the document it came from)

    def get(self, document: dict) -> tuple[Listing, dict]:
        """The listing of a stored document, and the document to use from now on."""
        key = document.get("id")
        kept = self._built.get(key)
        if kept is not None and kept[1] == document:
            return kept
        built = (listing_from_trusted(document), document)
        self._built.put(key, built)
        return built


class EngineError(RuntimeError):
    """The engine answered with an error status."""

    def __init__(self, status: int, body):
        super().__init__(f"engine answered {status}: {str(body)[:300]}")
        self.status = status
        self.body = body


class LoadFailed(RuntimeError):
    """A load was refused (too many documents failed); the alias was not moved."""

    def __init__(self, message: str, failures: tuple[tuple[str, str], ...]):
        super().__init__(message)
        self.failures = failures


class Transport:
    """A thin request function over either engine's official Python client."""

    def __init__(self, perform: Callable, connection_errors: tuple, api_error: Callable):
        self._perform = perform
        self._connection_errors = connection_errors
        self._api_error = api_error

    def request(self, method: str, path: str, body=None, params=None, timeout=REQUEST_TIMEOUT_S):
        """Send one request; returns the decoded body. Raises BackendUnavailable or EngineError."""
        try:
            return self._perform(method, path, body, params, timeout)
        except self._connection_errors as exc:
            raise BackendUnavailable(f"search engine unreachable: {type(exc).__name__}") from None
        except Exception as exc:  # each client has its own error types; normalise them
            status = self._api_error(exc)
            if status is None:
                raise
            raise engine_failure(status, getattr(exc, "info", None) or getattr(exc, "body", None)) from None


def engine_failure(status: int, body) -> Exception:
    """The error for an engine's error answer: BackendUnavailable (the API's 503) when the
    engine is overloaded or failing (5xx, 429), else EngineError."""
    if status >= 500 or status == 429:
        return BackendUnavailable(f"search engine error {status}")
    return EngineError(status, body)


def _tls(ca_certs: str | None) -> dict:
    """Client options for a cluster whose certificate a private authority signed."""
    return {"ca_certs": ca_certs} if ca_certs else {}


def _fast_serializer():
    """The client's JSON serializer with orjson underneath (decoding a search answer was a
    good part of the time around each request)."""
    from opensearchpy.serializer import JSONSerializer

    class OrjsonSerializer(JSONSerializer):
        def loads(self, s):
            return orjson.loads(s)

        def dumps(self, data):
            if isinstance(data, str):
                return data
            return orjson.dumps(data, default=self.default).decode()

    return OrjsonSerializer()


def _opensearch_transport(url: str, ca_certs: str | None = None) -> Transport:
    from opensearchpy import OpenSearch
    from opensearchpy import exceptions as errors

    # A connection for each bulk thread: urllib3 keeps one by default, so the loader's second
    # thread opened and dropped a connection per batch (and logged "Connection pool is full").
    client = OpenSearch(url, timeout=REQUEST_TIMEOUT_S, max_retries=0, retry_on_timeout=False,
                        serializer=_fast_serializer(), pool_maxsize=BULK_THREADS, **_tls(ca_certs))

    def perform(method, path, body, params, timeout):
        headers = {"content-type": "application/x-ndjson"} if isinstance(body, str) else None
        return client.transport.perform_request(
            method, path, body=body, params={**(params or {}), "request_timeout": timeout}, headers=headers
        )

    def status_of(exc):
        return exc.status_code if isinstance(exc, errors.TransportError) and isinstance(exc.status_code, int) else None

    return Transport(perform, (errors.ConnectionError, errors.ConnectionTimeout), status_of)


class _StatusError(Exception):
    """A 4xx/5xx answer from the elasticsearch client's transport (which does not raise them)."""

    def __init__(self, status: int, body):
        super().__init__(status)
        self.status = status
        self.body = body


def _elasticsearch_transport(url: str, ca_certs: str | None = None) -> Transport:
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import Elasticsearch

    client = Elasticsearch(url, request_timeout=REQUEST_TIMEOUT_S, max_retries=0, retry_on_timeout=False,
                           **_tls(ca_certs))

    def perform(method, path, body, params, timeout):
        # The client's own transport, with plain JSON media types: Elasticsearch 8 accepts
        # them, and the same code then also talks to OpenSearch (which the tests run on).
        mime = "application/x-ndjson" if isinstance(body, str) else "application/json"
        query = "" if not params else "?" + "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
        response = client.transport.perform_request(
            method, path + query, body=body,
            headers={"accept": "application/json", "content-type": mime},
            request_timeout=timeout,
        )
        if response.meta.status >= 400:
            raise _StatusError(response.meta.status, response.body)
        return response.body

    def status_of(exc):
        return exc.status if isinstance(exc, _StatusError) else None

    return Transport(perform, (TransportConnectionError, ConnectionTimeout), status_of)


def make_transport(kind: str, url: str, ca_certs: str | None = None) -> Transport:
    """The transport for `elasticsearch` or `opensearch` at `url` (https with `ca_certs` if given)."""
    if not url:
        raise ValueError("LINKAGE_SEARCH_URL is required for an engine backend")
    if kind == "opensearch":
        return _opensearch_transport(url, ca_certs)
    if kind == "elasticsearch":
        return _elasticsearch_transport(url, ca_certs)
    raise ValueError(f"unknown engine {kind!r}")


@dataclass
class _ZoneCache:
    index: str | None = None
    zones: tuple[str, ...] = ()
    fetched: float = 0.0
    monthly: bool = False  # the index marks listings with monthly sessions (queries.exact_times)


class EngineBackend:
    """Listings in an Elasticsearch or OpenSearch cluster, behind an alias."""

    # rollback(): the index a load replaced is kept. `transport`: referrals and embed keys
    # live on the same cluster. Nothing to warm: the cluster holds the index.
    abilities = frozenset({ROLLBACK, ENGINE_TRANSPORT})

    def __init__(self, transport: Transport, alias: str = "linkage-listings",
                 max_failed_ratio: float = 0.01, clock=time.monotonic, document=queries.document,
                 replicas: int = 0, wall_clock=lambda: datetime.now(timezone.utc)):
        self.transport = transport
        self._wall_clock = wall_clock
        self.replicas = replicas
        self.alias = alias
        self.max_failed_ratio = max_failed_ratio
        self._clock = clock
        # The bulk load's JSON text per listing: the default document's own fast writer, or
        # whatever `document` (a test's, say) makes, encoded.
        self._document_json = (queries.document_json if document is queries.document
                               else lambda listing: orjson.dumps(document(listing)).decode())
        self._zones = _ZoneCache()
        self._built = _BuiltListings(LISTINGS_KEPT)

    # -- loading ---------------------------------------------------------------------

    def load(self, listings: Iterable[Listing]) -> LoadReport:
        """Build a new index, bulk-load, check failures, then swap the alias atomically."""
        started = self._wall_clock()
        index = f"{self.alias}-{started.strftime(STAMP_FORMAT)}"
        items = sorted(listings, key=lambda listing: listing.id)
        ids = [listing.id for listing in items]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate listing ids in load")
        meta = {
            "built_at": started.isoformat(timespec="seconds"),
            "listing_count": len(items),
            "demo_count": sum(listing.is_demo for listing in items),
            "timezones": sorted({listing.timezone for listing in items}),
            # Set once every document is in: other imports' clean-up tells a finished index
            # (safe to delete once replaced) from one still loading.
            "complete": False,
        }
        try:
            # Inside the try: a create that times out may still have made the index on the
            # cluster, and an incomplete index is one other imports' clean-up leaves alone.
            # No refreshes and no replicas while loading: nobody searches the new index
            # before the alias moves; both are set back before it does.
            body = queries.index_body(meta, 0)
            body["settings"]["refresh_interval"] = "-1"
            self.transport.request("PUT", f"/{index}", body, timeout=ADMIN_TIMEOUT_S)
            failures = self._bulk(index, items)
            if items and len(failures) / len(items) > self.max_failed_ratio:
                raise LoadFailed(
                    f"{len(failures)} of {len(items)} documents failed (over "
                    f"{self.max_failed_ratio:.0%}); the alias still points at the old index",
                    tuple(failures),
                )
            self.transport.request("PUT", f"/{index}/_settings", {"index": {
                "refresh_interval": None, "number_of_replicas": self.replicas}}, timeout=ADMIN_TIMEOUT_S)
            self.transport.request("POST", f"/{index}/_refresh", timeout=ADMIN_TIMEOUT_S)
            self.transport.request("PUT", f"/{index}/_mapping", {"_meta": {**meta, "complete": True}},
                                   timeout=ADMIN_TIMEOUT_S)
            previous = self._current()
            self._swap_alias(index)
        except BaseException:
            self._delete_quietly(index)
            raise
        self._delete_old(keep={index, previous})
        return LoadReport(loaded=len(items) - len(failures), target=index, failures=tuple(failures))

    def _bulk(self, index: str, items: list[Listing]) -> list[tuple[str, str]]:
        """Send the documents in BULK_CHUNK batches, BULK_THREADS at a time: the node indexes
        one batch while this process encodes the next."""
        chunks = [items[start:start + BULK_CHUNK] for start in range(0, len(items), BULK_CHUNK)]
        failures: list[tuple[str, str]] = []
        with ThreadPoolExecutor(max_workers=BULK_THREADS) as pool:
            for chunk_failures in pool.map(lambda chunk: self._bulk_chunk(index, chunk), chunks):
                failures.extend(chunk_failures)
        return failures

    def _bulk_chunk(self, index: str, chunk: list[Listing]) -> list[tuple[str, str]]:
        lines = []
        for listing in chunk:
            lines.append(json.dumps({"index": {"_index": index, "_id": listing.id}}))
            lines.append(self._document_json(listing))
        result = self.transport.request("POST", "/_bulk", "\n".join(lines) + "\n", timeout=BULK_TIMEOUT_S)
        failures = []
        if result.get("errors"):
            for item in result["items"]:
                outcome = item.get("index", {})
                if outcome.get("error"):
                    reason = outcome["error"].get("reason") or outcome["error"].get("type")
                    failures.append((outcome.get("_id", "?"), str(reason)[:300]))
        return failures

    def _indices(self) -> list[str]:
        """This alias's indices, oldest first (names sort by their timestamp).

        Only `<alias>-<20 digits>`: another deployment's `linkage-listings-staging-…` is not ours.
        """
        found = self.transport.request("GET", f"/_cat/indices/{self.alias}-*",
                                       params={"format": "json", "h": "index"}, timeout=ADMIN_TIMEOUT_S)
        return sorted(row["index"] for row in found if self._ours(row["index"]))

    def _ours(self, name: str) -> bool:
        return re.fullmatch(re.escape(self.alias) + r"-\d{20}", name) is not None

    def _current(self) -> str | None:
        try:
            found = self.transport.request("GET", f"/_alias/{self.alias}", timeout=ADMIN_TIMEOUT_S)
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise
        return sorted(found)[-1] if found else None

    def _swap_alias(self, index: str) -> None:
        actions = [{"add": {"index": index, "alias": self.alias}}]
        current = self._current()
        if current and current != index:
            actions.insert(0, {"remove": {"index": current, "alias": self.alias}})
        self.transport.request("POST", "/_aliases", {"actions": actions}, timeout=ADMIN_TIMEOUT_S)
        self._zones = _ZoneCache()

    def _delete_old(self, keep: set) -> None:
        """Keep the new index and the one it replaced (for rollback); delete the other finished
        ones, and unfinished ones once ABANDONED_AFTER old (a killed loader's leftovers; a
        younger one may be a concurrent import still loading)."""
        finished = self._finished()
        now = self._wall_clock()
        for name in finished:
            if name in keep:
                continue
            started = datetime.strptime(name[-20:], STAMP_FORMAT).replace(tzinfo=timezone.utc)
            if finished[name] or now - started > ABANDONED_AFTER:
                self._delete_quietly(name)

    def _finished(self) -> dict[str, bool]:
        """This alias's indices, oldest first, and whether each finished loading (indices
        written before the flag existed count as finished: those imports cleaned up their
        own leftovers)."""
        mappings = self.transport.request("GET", f"/{self.alias}-*/_mapping", timeout=ADMIN_TIMEOUT_S)
        return {name: mappings[name]["mappings"].get("_meta", {}).get("complete", True)
                for name in sorted(mappings) if self._ours(name)}

    def _delete_quietly(self, index: str) -> None:
        try:
            self.transport.request("DELETE", f"/{index}", timeout=ADMIN_TIMEOUT_S)
        except (EngineError, BackendUnavailable):
            pass

    def rollback(self) -> str:
        """Point the alias back at the previous index; returns its name."""
        current = self._current()
        previous = [name for name, done in self._finished().items()
                    if done and (current is None or name < current)]
        if not previous:
            raise LoadFailed("no previous index to roll back to", ())
        self._swap_alias(previous[-1])
        return previous[-1]

    # -- reading ---------------------------------------------------------------------

    def get(self, listing_id: str) -> Listing | None:
        """One listing by id."""
        try:
            found = self.transport.request("GET", f"/{self.alias}/_doc/{quote(listing_id, safe='')}")
        except EngineError as exc:
            if exc.status == 404:
                if self._current() is None:
                    raise BackendUnavailable(f"no index behind alias {self.alias}") from None
                return None
            raise
        return listing_from_trusted(found["_source"]["doc"]) if found.get("found") else None

    def listings(self):
        """Every listing behind the alias, in id order (search_after pages of 500)."""
        after = None
        while True:
            body = {"query": {"match_all": {}}, "sort": [{"id": "asc"}], "size": 500, "_source": ["doc"]}
            if after is not None:
                body["search_after"] = after
            hits = self._request_on_alias("POST", f"/{self.alias}/_search", body)["hits"]["hits"]
            if not hits:
                return
            for hit in hits:
                yield listing_from_trusted(hit["_source"]["doc"])
            after = hits[-1]["sort"]

    def count(self) -> int:
        """Listings in the index behind the alias."""
        return self._request_on_alias("GET", f"/{self.alias}/_count")["count"]

    def info(self) -> dict:
        """Build time and counts from the index's mapping metadata, and the index's health
        (green, yellow: a copy of some shard missing, red: a shard missing; None when the
        cluster cannot say). The mapping is read from the node asked (`local`): a cluster that
        has lost its manager still serves searches, and should not look down."""
        mapping = self._request_on_alias("GET", f"/{self.alias}/_mapping", params={"local": "true"})
        index, body = sorted(mapping.items())[-1]
        meta = body["mappings"].get("_meta", {})
        return {
            "backend": "engine",
            "index": index,
            "built_at": meta.get("built_at"),
            "listing_count": int(meta.get("listing_count", 0)),
            "demo_count": int(meta.get("demo_count", 0)),
            "health": self._health(index),
        }

    def _health(self, index: str) -> str | None:
        try:
            answer = self.transport.request("GET", f"/_cluster/health/{index}",
                                            params={"local": "true", "timeout": "0s"})
        except (EngineError, BackendUnavailable):
            return None
        return answer.get("status")

    def _request_on_alias(self, method: str, path: str, body=None, params=None):
        try:
            return self.transport.request(method, path, body, params=params)
        except EngineError as exc:
            if exc.status == 404:
                raise BackendUnavailable(f"no index behind alias {self.alias}: run `linkage index`") from None
            raise

    def _zone_names(self) -> tuple[str, ...]:
        cache = self._zones
        if cache.index is None or self._clock() - cache.fetched > ZONES_TTL_S:
            info = self._request_on_alias("GET", f"/{self.alias}/_mapping", params={"local": "true"})
            index, body = sorted(info.items())[-1]
            zones = tuple(body["mappings"].get("_meta", {}).get("timezones", ()))
            monthly = "monthly" in body["mappings"].get("properties", {})  # indexes built before it was
            self._zones = _ZoneCache(index, zones, self._clock(), monthly)
        return self._zones.zones

    def _time_zones(self, query: SearchQuery) -> tuple[str, ...]:
        """The index's zones when `time` needs them (one cached mapping read), else ()."""
        return self._zone_names() if query.times else ()

    def search(self, query: SearchQuery) -> Matches:
        """Total, facets and the page; time-based parts finished exactly in Python."""
        if query.needs_schedule:
            return self._in_time(query)
        if query.sort == "soonest":
            return self._soonest(query)
        found = self._request_on_alias("POST", f"/{self.alias}/_search", queries.page_body(query, self._time_zones(query)))
        candidates = [self._candidate(hit, None) for hit in found["hits"]["hits"]]
        return Matches(
            total=found["hits"]["total"]["value"],
            hits=tuple(c.hit(query) for c in candidates),
            facets=queries.facets_from_aggs(found.get("aggregations", {})),
        )

    def _candidate(self, hit: dict, bound) -> timed.Candidate:
        listing, document = self._built.get(hit["_source"]["doc"])
        return timed.Candidate(
            listing=listing,
            lower_bound=bound,
            text_score=float(hit.get("_score") or 0.0),
            document=document,
        )

    def _in_time(self, query: SearchQuery) -> Matches:
        """A search with time filters. The engine answers for the listings whose bounds are
        exact (queries.exact_times: all, monthly sessions and clock-change weeks included,
        in an index built with `timetable`): their total, facets and the first of the page's
        order, in the round trip that brings the walk's first page; only the others (any
        zone whose clocks change twice in five weeks; monthly sessions in an older index) are
        walked and settled here. Words ranked by score (best order) keep the engine's order,
        as a search without time filters does; the walk's candidates do not carry that
        score, so when any of them need settling, every candidate is walked."""
        limit = timed.bound_limit(query)
        zones = self._zone_names()
        if not self._zones.monthly:
            return timed.within_time(self._candidates(query, limit), query)
        unsure_zones = queries.unsure_zones(query, zones)
        # One round trip: the walk's first page and the engine's own answer together.
        walked, found = self._search_together(
            queries.timed_body(query, zones, limit, TIMED_BATCH, unsure=unsure_zones),
            queries.timed_page_body(query, zones, limit, unsure_zones, query.page * query.per_page))
        total = found["hits"]["total"]["value"]
        counted = queries.facets_from_aggs(found.get("aggregations", {}))
        if query.text and ordering.by_score(query):
            if walked["hits"]["hits"]:
                return timed.within_time(self._candidates(query, limit), query)
            hits = [self._candidate(hit, None).hit(query) for hit in found["hits"]["hits"]]
            return Matches(total=total, hits=tuple(ordering.page_slice(hits, query.page, query.per_page)),
                           facets=counted)
        unsure = timed.in_time(self._candidates(query, limit, unsure_zones, walked["hits"]["hits"]), query)
        sure = []
        for hit in found["hits"]["hits"]:
            listing, document = self._built.get(hit["_source"]["doc"])
            # Ordered by soonest rank or distance, or without words: the text score plays no
            # part (ordering.order_key works out the rest).
            exact = timed.Candidate(listing, None, 0.0, document).hit(query)
            rank = ordering.soonest_minutes(listing, query.at) if query.sort == "soonest" else None
            sure.append((ordering.order_key(query, exact, rank), exact))
        facets = facet_counts((hit.listing for _, hit in unsure), counted)
        return timed.ordered_matches(unsure + sure, query, total + len(unsure), facets)

    def _search_together(self, *bodies: dict) -> list[dict]:
        """Several searches on the alias in one round trip (`_msearch`): their answers, in
        order; an error answer to any is raised as a lone search's would be."""
        lines = "".join("{}\n" + orjson.dumps(body).decode() + "\n" for body in bodies)
        answers = self._request_on_alias("POST", f"/{self.alias}/_msearch", lines)["responses"]
        for answer in answers:
            if "error" in answer:
                raise engine_failure(int(answer.get("status", 500)), answer["error"])
        return answers

    def _soonest(self, query: SearchQuery) -> Matches:
        """sort=soonest in one request: total, facets and the first candidates in (tier, lower
        bound, id) order together; more pages of candidates only when the lower bounds (of
        an unsure zone, or of monthly sessions in an index built before `timetable`) leave
        the page undecided."""
        zones = self._zone_names()
        offset = (query.page - 1) * query.per_page
        needed = offset + query.per_page
        # Margin past the page: bounds are exact but in unsure zones (and for monthly
        # sessions in an older index), so the walk stops at the first candidate past the
        # page; the margin absorbs the inexact ones in most.
        body = queries.soonest_body(query, zones, needed + WALK_BATCH)
        found = self._request_on_alias("POST", f"/{self.alias}/_search", body)
        hits = found["hits"]["hits"]
        batches = self._more_batches(query, zones, hits, needed + WALK_BATCH)
        return Matches(
            total=found["hits"]["total"]["value"],
            hits=tuple(timed.soonest_hits(batches, query, needed)[offset:]),
            facets=queries.facets_from_aggs(found.get("aggregations", {})),
        )

    def _more_batches(self, query: SearchQuery, zones, first: list, size: int):
        """The first answer's candidates (it asked for `size`), then further pages while the
        walk asks for them."""
        yield (self._candidate(hit, hit["sort"][1]) for hit in first)
        if len(first) == size:
            yield from self._batches(query, zones, None, WALK_BATCH, first[-1]["sort"])

    def _batches(self, query: SearchQuery, zones, limit: float | None, size: int, after=None, unsure=None,
                 hits=None):
        """Candidate batches in ascending lower-bound order from `after` (search_after), in
        pages that double from `size`; a page shorter than asked for is the last (no empty
        request to find out). `hits`: the first page's, when already asked for. Each is a
        generator: a walk usually stops early, and the listings past where it stops are
        never built."""
        while True:
            if hits is None:
                body = queries.timed_body(query, zones, limit, size, after, unsure)
                hits = self._request_on_alias("POST", f"/{self.alias}/_search", body)["hits"]["hits"]
            if not hits:
                return
            yield (self._candidate(hit, hit["sort"][1]) for hit in hits)  # sort: tier, bound, id
            if len(hits) < size:
                return
            after, hits = hits[-1]["sort"], None
            size = min(2 * size, LARGEST_WALK_PAGE)

    def _candidates(self, query: SearchQuery, limit: float, unsure=None, hits=None):
        """Every candidate that may pass the time filters (lower bound within `limit`); with
        `unsure` (queries.unsure_zones), only those whose bound is not exact
        (queries.exact_times). `hits`: the first page's, when already asked for."""
        for batch in self._batches(query, self._zone_names(), limit, TIMED_BATCH, unsure=unsure, hits=hits):
            yield from batch
