"""A three-node OpenSearch cluster losing nodes: searches, health, and an import caught mid-way.

The cluster is started here by `deploy/search-engine/cluster` (one JVM per node, ports
LINKAGE_CLUSTER_PORT.., default 9221-9223; the shared single node on 9201 is not touched) and
stopped, data deleted, at the end. Without Java or Maven the cluster cannot start and the
module is skipped, saying why.

The service talks to node 1 (LINKAGE_SEARCH_URL names one node); nodes 2 and 3 are the ones
lost, and the listings index has one replica, so a copy of its one shard lives as long as the
shard was copied to node 1 before the second loss.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field

import pytest

from service import create_app
from service.backends.contract import BackendUnavailable
from service.backends.engine.backend import EngineBackend, EngineError, LoadFailed, make_transport
from service.domain.models import Place, SearchQuery
from tests.conftest import FIXED_NOW, ROOT

pytestmark = pytest.mark.engine

CLUSTER = ROOT / "deploy" / "search-engine" / "cluster"
PORT = int(os.environ.get("LINKAGE_CLUSTER_PORT", "9221"))
NODES = 3
# Only keeps a broken cluster from hanging the suite; nothing is asserted about durations.
WAIT = "120s"
SYDNEY = Place(query="2000", name="Sydney", lat=-33.8688, lon=151.2093, state="NSW")
# The load: plain, text, place and facet searches (the shapes a search page sends).
QUERIES = (
    SearchQuery(at=FIXED_NOW),
    SearchQuery(at=FIXED_NOW, text="alcohol"),
    SearchQuery(at=FIXED_NOW, place=SYDNEY, radius_km=50, sort="nearest"),
    SearchQuery(at=FIXED_NOW, kinds=("group",), formats=("online",)),
)
LOAD_THREADS = 3
# A steady load, not a flood: a failed search comes back in milliseconds, and unpaced threads
# would then take the CPU the rejoining nodes need (this machine has 2 cores).
PAUSE_S = 0.02


def cluster(*args: str) -> subprocess.CompletedProcess:
    """Run deploy/search-engine/cluster on this test's ports."""
    return subprocess.run([str(CLUSTER), *args, "--port", str(PORT)], capture_output=True, text=True, timeout=300)


def must(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def node_urls():
    """The three nodes' URLs; the cluster is stopped and its data deleted afterwards."""
    started = cluster("start", "--nodes", str(NODES))
    try:
        if started.returncode != 0:
            pytest.skip("the three-node cluster could not start (deploy/search-engine/cluster start): "
                        + started.stderr.strip()[-800:])
        yield started.stdout.split()
    finally:
        cluster("stop")


def health(transport, index: str = "", **params) -> dict:
    """Cluster health (of one index if given) as node 1 sees it; when a wait for a status times
    out, the failure shows the shards' recoveries and why a shard is not allocated."""
    try:
        return transport.request("GET", f"/_cluster/health/{index}", params={"timeout": WAIT, **params}, timeout=130)
    except EngineError as exc:
        recoveries = transport.request("GET", "/_cat/recovery", params={"format": "json", "active_only": "true"})
        try:
            why = transport.request("GET", "/_cluster/allocation/explain", timeout=30)
        except EngineError as no_unassigned:
            why = no_unassigned.body
        pytest.fail(f"cluster health {params}: {exc}\nrecoveries: {recoveries}\nallocation: {str(why)[:1500]}")


def copies(transport, index: str) -> list[str]:
    """The nodes holding a started copy of the index's shard."""
    rows = transport.request("GET", f"/_cat/shards/{index}", params={"format": "json", "local": "true"})
    return sorted(row["node"] for row in rows if row["state"] == "STARTED")


@dataclass
class Load:
    """Searches from a few threads through the engine backend until stopped, counted per phase."""

    backend: EngineBackend
    phase: str = "healthy"
    counts: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self, offset: int) -> None:
        n = offset
        while not self._stop.is_set():
            query = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                ok = self.backend.search(query).total > 0
                problem = None if ok else "no listings found"
            except (BackendUnavailable, EngineError) as exc:
                ok, problem = False, str(exc)
            with self._lock:
                run, failed = self.counts.get(self.phase, (0, 0))
                self.counts[self.phase] = (run + 1, failed + (not ok))
                if problem:
                    self.errors.append((self.phase, problem))
            self._stop.wait(PAUSE_S)

    def __enter__(self):
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(LOAD_THREADS)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self.threads:
            thread.join(30)

    def failed(self, phase: str) -> int:
        return self.counts.get(phase, (0, 0))[1]

    def run(self, phase: str) -> int:
        return self.counts.get(phase, (0, 0))[0]


def readiness(app) -> tuple[int, dict]:
    """/readyz's status code and body."""
    response = app.get("/readyz")
    return response.status_code, response.get_json()


# What the service said while nodes were lost, for the readiness test below.
SEEN: dict = {}


def test_searches_keep_answering_while_a_copy_of_every_shard_lives(node_urls, demo_listings, gazetteer):
    backend = EngineBackend(make_transport("opensearch", node_urls[0]), alias="cluster-listings", replicas=1)
    transport = backend.transport
    index = backend.load(demo_listings).target
    app = create_app({"api_rate_limit": "1000000/minute"}, backend=backend, geocoder=gazetteer,
                     clock=lambda: FIXED_NOW).test_client()
    try:
        assert health(transport, index, wait_for_status="green")["status"] == "green"
        # Lose first a node holding a copy (other than node 1, which the service talks to),
        # then the other one: node 1 then holds the last copy.
        holders = copies(transport, index)
        first = next(name for name in holders if name != "n1")
        second = next(name for name in ("n2", "n3") if name != first)

        for query in QUERIES:  # warm the node's caches first: a cold first search can take seconds
            backend.search(query)
        with Load(backend) as load:
            while load.run("healthy") < 20:
                threading.Event().wait(0.05)

            load.phase = "one node lost"
            must(cluster("stop-node", first[1:]))
            # The shard's other copy is promoted; the lost copy is rebuilt elsewhere only after
            # the index's delayed_timeout (1 minute by default): meanwhile the index is yellow.
            SEEN["yellow health"] = health(transport, index, local="true")["status"]
            SEEN["yellow readyz"] = readiness(app)
            transport.request("PUT", f"/{index}/_settings",
                              {"index.unassigned.node_left.delayed_timeout": "0s"}, timeout=30)
            copying = time.monotonic()
            assert health(transport, index, wait_for_status="green")["status"] == "green"
            # Figures for the record (printed with -s), not asserted.
            print(f"green again {time.monotonic() - copying:.1f}s after the lost copy could be rebuilt")
            assert "n1" in copies(transport, index)

            load.phase = "two nodes lost"
            before = load.run("two nodes lost")
            must(cluster("stop-node", second[1:]))
            # One node of three: no cluster manager can be elected, so nothing can be written;
            # node 1 still serves searches from its copy and the last cluster state it knew.
            SEEN["alone health"] = health(transport, index, local="true", timeout="1s")["status"]
            SEEN["alone readyz"] = readiness(app)
            try:
                fresh = EngineBackend(make_transport("opensearch", node_urls[0]), alias="cluster-listings")
                SEEN["alone timed search"] = fresh.search(SearchQuery(at=FIXED_NOW, times=("evening",))).total
            except (BackendUnavailable, EngineError) as exc:
                SEEN["alone timed search"] = str(exc)
            while load.run("two nodes lost") < before + 20:
                threading.Event().wait(0.05)

            load.phase = "nodes coming back"
            must(cluster("start-node", second[1:]))
            must(cluster("start-node", first[1:]))
            back = time.monotonic()
            assert health(transport, index, wait_for_status="yellow", wait_for_nodes=str(NODES))["number_of_nodes"] == NODES
            try:
                health(transport, index, wait_for_status="green", timeout="60s")
                SEEN["green after rejoin"] = round(time.monotonic() - back, 1)
                print(f"green {SEEN['green after rejoin']}s after both nodes answered again")
            except pytest.fail.Exception as exc:
                SEEN["green after rejoin"] = str(exc)
            load.phase = "recovered"
            while load.run("recovered") < 20:
                threading.Event().wait(0.05)

        SEEN["load"] = dict(load.counts)
        SEEN["errors"] = list(load.errors)
        print("searches (run, failed) per phase:", load.counts)
        # While nodes come back, see test_searches_keep_answering_while_lost_nodes_rejoin.
        for phase in ("healthy", "one node lost", "two nodes lost", "recovered"):
            assert load.run(phase) > 0, phase
            assert load.failed(phase) == 0, (phase, [error for error in load.errors if error[0] == phase][:3])
        ready = app.get("/readyz")
        # "degraded" once readiness reports a yellow index (see the test below) and the rebuild is stuck.
        assert ready.status_code == 200 and ready.get_json()["status"] in ("ok", "degraded")
    finally:
        for name in backend._indices():
            backend._delete_quietly(name)


def test_readiness_says_degraded_while_nodes_are_lost():
    if "alone readyz" not in SEEN:
        pytest.skip("the node-loss test above did not run")
    assert SEEN["yellow health"] == "yellow"
    status, body = SEEN["yellow readyz"]
    assert status == 200 and body["status"] == "degraded" and body["health"] == "yellow", body
    status, body = SEEN["alone readyz"]
    assert status == 200 and body["status"] == "degraded" and body["health"] == "red", body
    assert isinstance(SEEN["alone timed search"], int), SEEN["alone timed search"]


@pytest.mark.xfail(strict=False, reason=(
    "node 1 holds a copy throughout, yet while the lost nodes rejoin and a cluster manager is "
    "elected again the engine answers some searches 503 (state not recovered; all shards failed) "
    "or 500 (node not connected) for a moment, and the backend passes each on as a failed search "
    "instead of asking once more; not strict: how many fall in that moment depends on timing"))
def test_searches_keep_answering_while_lost_nodes_rejoin():
    if "load" not in SEEN:
        pytest.skip("the node-loss test above did not run")
    run, failed = SEEN["load"]["nodes coming back"]
    assert run > 0
    assert failed == 0, [error for error in SEEN["errors"] if error[0] == "nodes coming back"][:3]


@pytest.mark.xfail(strict=False, reason=(
    "in about half the runs here the replica's peer recovery from node 1 to a rejoined node stays "
    "in stage 'init' with 0 bytes copied for minutes: the index serves from one copy (yellow) "
    "instead of green; not strict: other runs are green within a second"))
def test_the_lost_copies_are_rebuilt_after_nodes_rejoin():
    if "green after rejoin" not in SEEN:
        pytest.skip("the node-loss test above did not run")
    assert isinstance(SEEN["green after rejoin"], float), SEEN["green after rejoin"]


def test_an_import_losing_a_node_fails_cleanly_or_completes(node_urls, demo_listings):
    """Imports run back to back while the cluster manager's node is killed; afterwards the
    alias names exactly one index, finished and holding all its listings."""
    backend = EngineBackend(make_transport("opensearch", node_urls[0]), alias="cluster-import", replicas=1)
    transport = backend.transport
    backend.load(demo_listings)
    manager = transport.request("GET", "/_cat/cluster_manager", params={"format": "json"})[0]["node"]
    victim = manager if manager != "n1" else "n2"
    outcomes: list[str] = []
    stop = threading.Event()

    def imports():
        while not stop.is_set():
            try:
                backend.load(demo_listings)
                outcomes.append("completed")
            except (BackendUnavailable, EngineError, LoadFailed) as exc:
                outcomes.append(f"failed: {exc}")

    worker = threading.Thread(target=imports, daemon=True)
    try:
        worker.start()
        while not outcomes:
            threading.Event().wait(0.05)
        must(cluster("stop-node", victim[1:], "--kill"))
        before = len(outcomes)
        while len(outcomes) < before + 3:
            threading.Event().wait(0.05)
        stop.set()
        worker.join(300)
        assert not worker.is_alive()
        print("imports while the cluster manager was killed:", outcomes)
        assert "completed" in outcomes[before:]

        aliased = transport.request("GET", "/_alias/cluster-import")
        assert len(aliased) == 1, aliased
        (index,) = aliased
        meta = transport.request("GET", f"/{index}/_mapping")[index]["mappings"]["_meta"]
        assert meta["complete"] is True
        assert transport.request("GET", f"/{index}/_count")["count"] == meta["listing_count"] == len(demo_listings)
    finally:
        stop.set()
        must(cluster("start-node", victim[1:]))
        health(transport, wait_for_status="yellow", wait_for_nodes=str(NODES))
        for name in backend._indices():
            backend._delete_quietly(name)
