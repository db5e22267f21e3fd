"""The SQLite backend: atomic swap, failed loads, query building."""

import json
import sqlite3
from datetime import datetime, timezone

import pytest

from service.backends.sqlite import backend as sqlite_backend
from service.backends.sqlite.columns import bitmask
from service.backends.sqlite.backend import SQLiteBackend, bounding_box, fts_expression
from service.domain.models import Place, SearchQuery
from service.domain.geo import great_circle_km

AT = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


def test_load_swaps_in_a_new_file(tmp_path, demo_listings):
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(demo_listings[:10])
    assert backend.count() == 10
    backend.load(demo_listings[:20])
    assert backend.count() == 20  # the open connection notices the swap
    assert [p.name for p in tmp_path.iterdir()] == ["index.sqlite"]


def test_failed_load_leaves_the_old_index_serving(tmp_path, demo_listings):
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(demo_listings[:10])

    def broken():
        yield from demo_listings[10:15]
        raise RuntimeError("feed broke half way")

    with pytest.raises(RuntimeError):
        backend.load(broken())
    assert backend.count() == 10
    with pytest.raises(ValueError, match="duplicate"):
        backend.load([demo_listings[0], demo_listings[0]])
    assert backend.count() == 10
    assert [p.name for p in tmp_path.iterdir()] == ["index.sqlite"]


def test_stored_listing_round_trips(tmp_path, demo_listings):
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(demo_listings)
    for listing in demo_listings[:50]:
        assert backend.get(listing.id) == listing
    assert backend.get("demo:missing") is None


def test_bitmask():
    assert bitmask(["online"], ("in_person", "online", "phone")) == 2
    assert bitmask(["phone", "in_person", "phone"], ("in_person", "online", "phone")) == 5


def test_bounding_box_encloses_the_circle():
    lat, lon, radius = -33.87, 151.21, 25
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
    assert great_circle_km(lat, lon, max_lat, lon) == pytest.approx(radius, rel=1e-6)
    assert great_circle_km(lat, lon, lat, max_lon) >= radius - 1e-6
    assert bounding_box(89.5, 0, 100)[2:] == (-180.0, 180.0)


def test_fts_expression_quotes_every_word_and_adds_synonyms():
    assert fts_expression('smart "OR" NEAR(') == '("smart") AND ("or") AND ("near" OR "near"*)'
    assert '"methamphetamine"' in fts_expression("ice")
    assert fts_expression("  ,;  ") is None


# The first twenty demo listings whose text has the word "a" and a word starting "and" (the last
# word is also a prefix), found by reading their names, programs, descriptions and terms.
A_AND = {"demo:g0001", "demo:g0006", "demo:g0009", "demo:g0010", "demo:g0013", "demo:g0014", "demo:g0016",
         "demo:g0017", "demo:g0019", "demo:g0020"}


@pytest.mark.parametrize("text, expected", [
    ('"', "all"),  # no words: no text condition, not a syntax error
    ("*", "all"),
    ("x' OR 1=1; DROP TABLE listings; --", set()),  # OR read as a word: nothing says "drop table"
    ("NEAR(a b)", set()),  # no listing has the word "b"
    ("a AND", A_AND),  # AND is a word too, not an operator
])
def test_hostile_text_is_quoted_for_fts(tmp_path, demo_listings, text, expected):
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(demo_listings[:20])
    matches = backend.search(SearchQuery(at=AT, text=text, per_page=50))
    wanted = {x.id for x in demo_listings[:20]} if expected == "all" else expected
    assert {hit.listing.id for hit in matches.hits} == wanted and matches.total == len(wanted)
    assert backend.count() == 20


def test_radius_test_is_the_great_circle(tmp_path, demo_listings):
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    in_person = [x for x in demo_listings if x.formats == ("in_person",)]
    backend.load(in_person)
    centre = Place(query="x", name="x", lat=-33.8688, lon=151.2093, state="ZZ", country="ZZ")
    for radius in (2.0, 5.0, 12.5):
        query = SearchQuery(at=AT, place=centre, radius_km=radius, per_page=50, sort="distance")
        # Listings for particular groups come after those open to everyone.
        expected = sorted(
            ("everyone" not in x.audiences, great_circle_km(centre.lat, centre.lon, x.location.lat, x.location.lon),
             x.id)
            for x in in_person
            if x.status == "active"
            and great_circle_km(centre.lat, centre.lon, x.location.lat, x.location.lon) <= radius
        )
        matches = backend.search(query)
        assert matches.total == len(expected)
        assert [h.listing.id for h in matches.hits] == [i for _, _, i in expected][:50]


def test_file_is_readable_by_plain_sqlite(tmp_path, demo_listings):
    path = tmp_path / "index.sqlite"
    SQLiteBackend(path).load(demo_listings[:5])
    with sqlite3.connect(path) as conn:
        doc = json.loads(conn.execute("SELECT doc FROM docs LIMIT 1").fetchone()[0])
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert doc["source"]["name"].startswith("Demo data")
    assert meta["listing_count"] == "5"


def test_index_in_an_older_format_is_refused_with_what_to_do(tmp_path, demo_listings):
    """A file from an older Linkage (another layout) says to rebuild it, not "no such column"."""
    from service.backends.contract import BackendUnavailable
    from service.backends.sqlite.backend import INDEX_FORMAT, READABLE_FORMATS

    path = tmp_path / "index.sqlite"
    backend = SQLiteBackend(path)
    backend.load(demo_listings[:5])
    assert backend.count() == 5
    conn = sqlite3.connect(path)
    older = min(READABLE_FORMATS) - 1
    conn.execute(f"PRAGMA user_version = {older}")
    conn.commit()
    conn.close()
    with pytest.raises(BackendUnavailable, match=rf"format {older}, this version of Linkage reads format {INDEX_FORMAT}: rebuild it"):
        SQLiteBackend(path).count()


def test_unversioned_file_with_the_current_layout_still_serves(tmp_path, demo_listings):
    """Files written just before the format was recorded (user_version 0) have the same layout."""
    path = tmp_path / "index.sqlite"
    SQLiteBackend(path).load(demo_listings[:5])
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.execute("ALTER TABLE listings RENAME COLUMN cell TO grid")  # an older layout
    conn.commit()
    conn.close()
    from service.backends.contract import BackendUnavailable

    with pytest.raises(BackendUnavailable, match="format 0"):
        SQLiteBackend(path).count()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE listings RENAME COLUMN grid TO cell")
    conn.commit()
    conn.close()
    assert SQLiteBackend(path).count() == 5


def test_a_worker_forked_after_the_index_was_replaced_reads_the_new_one(tmp_path, demo_listings):
    """The master warmed an older file; a worker forked after a re-import reads the new file."""
    import os

    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(demo_listings[:30])
    backend.warm()
    backend.load(demo_listings[:12])  # another process's import, in effect
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            ok = backend.count() == 12 and len(backend._columns().ids) == 12
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_a_forked_worker_keeps_the_warm_columns_but_opens_its_own_connection(tmp_path, demo_listings):
    """gunicorn's preloading master warms the index, then forks: no SQLite connection may cross
    the fork (warm-up closes its own after reading the columns), and the child need not read
    the columns again."""
    import os

    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(demo_listings[:30])
    backend.warm()
    parent_columns = backend._current.columns
    assert parent_columns is not None and backend._current.conn is None
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only, whatever happens
        ok = False
        try:
            ok = (backend.count() == 30 and backend._current.conn is not None
                  and backend._current.columns is parent_columns)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert backend.count() == 30  # the parent carries on with a connection of its own


def test_warming_without_an_index_is_harmless(tmp_path, demo_listings):
    """No error and no empty file left behind; the index loaded later serves."""
    from service.backends.contract import BackendUnavailable

    backend = SQLiteBackend(tmp_path / "missing.sqlite")
    backend.warm()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BackendUnavailable):
        backend.count()
    backend.load(demo_listings[:3])
    backend.warm()
    assert backend.count() == 3 and len(backend._columns().ids) == 3


def test_backends_declare_their_optional_abilities():
    from service.backends import contract
    from service.backends.engine.backend import EngineBackend

    assert SQLiteBackend.abilities == {contract.WARM_UP}
    assert EngineBackend.abilities == {contract.ROLLBACK, contract.ENGINE_TRANSPORT}
    for backend in (SQLiteBackend, EngineBackend):
        assert backend.abilities <= contract.ABILITIES
        # A declared method is there; an undeclared one is not (callers trust `abilities`).
        assert callable(getattr(backend, "warm", None)) == (contract.WARM_UP in backend.abilities)
        assert callable(getattr(backend, "rollback", None)) == (contract.ROLLBACK in backend.abilities)
    assert EngineBackend(transport="the engine's client").transport == "the engine's client"


def test_rows_inserted_by_a_process_of_their_own_make_the_same_file(tmp_path, demo_listings, monkeypatch):
    # Batches of 7 rows, and any load through the inserting process: the demo's listings
    # cross many batches.
    from bench.import_sides import compare_indexes

    monkeypatch.setattr(sqlite_backend, "WRITE_BATCH", 7)
    inline = SQLiteBackend(tmp_path / "inline.sqlite")
    inline.load(demo_listings)
    monkeypatch.setattr(sqlite_backend, "INSERTER_PROCESS_FROM", 1)
    separate = SQLiteBackend(tmp_path / "separate.sqlite")
    separate.load(demo_listings)
    assert compare_indexes(tmp_path / "inline.sqlite", tmp_path / "separate.sqlite") == []
    assert separate.count() == len(demo_listings) > 50


@pytest.fixture
def serving_ten(tmp_path, demo_listings, monkeypatch):
    """An index serving ten listings, whose next loads go through the inserting process in
    batches of 7."""
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(demo_listings[:10])
    monkeypatch.setattr(sqlite_backend, "WRITE_BATCH", 7)
    monkeypatch.setattr(sqlite_backend, "INSERTER_PROCESS_FROM", 1)
    return backend


def test_an_inserting_process_that_fails_says_why_and_leaves_the_old_index_serving(
        tmp_path, demo_listings, monkeypatch, serving_ten):
    backend = serving_ten
    # Sent to the inserting process: its third table's statement names no table there is.
    broken = list(sqlite_backend._TABLE_INSERTS)
    broken[2] = "INSERT INTO no_such_table VALUES (?, ?, ?)"
    monkeypatch.setattr(sqlite_backend, "_TABLE_INSERTS", tuple(broken))
    with pytest.raises(RuntimeError, match="inserting the index's rows failed: OperationalError: no such table"):
        backend.load(demo_listings)
    assert backend.count() == 10
    assert [p.name for p in tmp_path.iterdir()] == ["index.sqlite"]


def test_a_load_that_fails_while_the_inserting_process_runs_stops_it_and_keeps_the_old_index(
        tmp_path, demo_listings, monkeypatch, serving_ten):
    backend = serving_ten
    started = []
    monkeypatch.setattr(sqlite_backend._InserterProcess, "__enter__",
                        lambda self: started.append(self._process) or self)
    # Loads sort by id: the last id's duplicate comes after four batches have gone.
    last = max(demo_listings[:30], key=lambda listing: listing.id)
    with pytest.raises(ValueError, match="duplicate"):
        backend.load([*demo_listings[:30], last])
    assert len(started) == 1 and started[0].returncode is not None  # stopped, and waited for
    assert backend.count() == 10
    assert [p.name for p in tmp_path.iterdir()] == ["index.sqlite"]
