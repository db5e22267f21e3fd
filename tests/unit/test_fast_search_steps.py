"""The SQLite search's vectorised and arithmetic shortcuts against independent answers.

* next_occurrences of weekly sessions (the steady-offset arithmetic when no clock change is
  near, zoneinfo otherwise) against the time oracle (tests/oracle_time.py), which walks
  UTC instants and never reads service.domain.schedule;
* the facet counts from one bincount against facet_counts over the listings themselves;
* rows_in_cells against a plain loop over the cells.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.backends.sqlite import columns
from service.backends.sqlite.backend import SQLiteBackend
from service.domain import schedule, vocab
from service.domain.facets import facet_counts
from service.domain.models import Session
from tests import oracle_time
from tests.unit.test_kill_columns import LISTINGS, listing

ZONES = ["Australia/Sydney", "Australia/Perth", "Australia/Lord_Howe", "America/New_York", "Asia/Kolkata"]
# Around Sydney's and New York's 2026 changes, and far from any.
MOMENTS = [datetime(2026, 4, 4, 15, 0, tzinfo=timezone.utc), datetime(2026, 3, 8, 6, 59, 30, tzinfo=timezone.utc),
           datetime(2026, 7, 1, 12, 0, 17, tzinfo=timezone.utc), datetime(2026, 10, 3, 16, 30, tzinfo=timezone.utc)]


def hhmm(minutes: int) -> str:
    """Minutes since midnight as "HH:MM"."""
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


sessions = st.lists(
    st.builds(lambda day, start, length: Session(day, hhmm(start), hhmm(start + length)),
              st.sampled_from(vocab.WEEKDAYS), st.integers(0, 24 * 60 - 1), st.integers(1, 24 * 60 - 1)),
    min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(sessions, st.sampled_from(ZONES), st.sampled_from(MOMENTS), st.integers(0, 14 * 24 * 60),
       st.integers(1, 3))  # three weekly sessions always fall within next_occurrences' horizon
def test_weekly_occurrences_match_the_oracle(found_sessions, zone, moment, shift, count):
    at = moment + timedelta(minutes=shift)
    subject = listing("occ", timezone=zone, sessions=tuple(found_sessions))
    expected = sorted(pair for s in found_sessions
                      for pair in oracle_time.weekly_occurrences(s.weekday, s.start, s.end, zone, at, count))
    got = schedule.next_occurrences(subject, at, count)
    # As UTC instants: a time in a repeated hour never equals one in another zone (PEP 495).
    utc = timezone.utc
    assert [(o.start.astimezone(utc), o.end.astimezone(utc)) for o in got] == expected[:count]
    assert [o.in_progress for o in got] == [start <= at for start, _ in expected[:count]]
    assert all(str(o.start.tzinfo) == zone and str(o.end.tzinfo) == zone for o in got)


def test_facets_count_the_listings(tmp_path):
    path = tmp_path / "index.sqlite"
    SQLiteBackend(path).load(LISTINGS)
    with sqlite3.connect(path) as conn:
        cols = columns.read_columns(conn)
    for rows in ([0, 1, 2, 3], [1, 3], [2], []):
        assert columns.facets(cols, np.array(rows, dtype=np.int64)) == facet_counts(LISTINGS[r] for r in rows)


def test_rows_in_cells_is_every_located_row_of_each_cell_in_order():
    rng = np.random.default_rng(7)
    cell = rng.integers(0, 40, size=500)
    cell[rng.random(500) < 0.1] = -1  # no location
    located = np.flatnonzero(cell >= 0)
    by_cell = located[np.lexsort((located, cell[located]))]
    cols = columns.Columns.__new__(columns.Columns)
    object.__setattr__(cols, "cell_rows", by_cell)
    object.__setattr__(cols, "cell_keys", cell[by_cell])
    for asked in ([3, 17, 5], [99], [], list(range(40))):
        expected = [row for c in asked for row in range(500) if cell[row] == c]
        assert columns.rows_in_cells(cols, np.array(asked, dtype=np.int64)).tolist() == expected


def test_each_place_radius_and_coverage_finds_its_own_rows(tmp_path):
    """One backend answers searches that share a place, a radius or neither, in an order that
    comes back to earlier ones (each worker remembers places' candidate rows): every answer
    is the hand-worked set for its own place, radius and formats.

    Listings 1, 10 and 30 km north of a place in NSW (0.009 degrees of latitude is 1.0 km),
    and an online group serving NSW without a place."""
    from service.domain.models import Location, Place, SearchQuery

    def at(km_north: float) -> Location:
        return Location(address="1 Test Street", locality="Test", state="NSW", postcode="2000", country="AU",
                        lat=-33.0 + km_north * 0.009, lon=151.0)

    listings = [listing("km1", location=at(1)), listing("km10", location=at(10)), listing("km30", location=at(30)),
                listing("online", formats=("online",), service_area=("NSW",))]
    path = tmp_path / "index.sqlite"
    SQLiteBackend(path).load(listings)
    backend = SQLiteBackend(path)
    nsw = Place(query="test", name="Test", lat=-33.0, lon=151.0, state="NSW")
    east = Place(query="east", name="East", lat=-33.0, lon=152.0, state="NSW")
    south = Place(query="south", name="South", lat=-34.0, lon=151.0, state="NSW")
    vic = Place(query="far", name="Far", lat=-37.8, lon=145.0, state="VIC")
    moment = datetime(2026, 11, 24, 20, 30, tzinfo=timezone.utc)
    asked_and_expected = [
        (east, 50, (), {"online"}),  # the same latitude, 93 km east
        (south, 50, (), {"online"}),  # the same longitude, 111 km south
        (nsw, 50, ("in_person",), {"km1", "km10", "km30"}),  # no remote coverage asked
        (nsw, 50, ("online",), {"online"}),
        (nsw, 5, (), {"km1", "online"}),
        (nsw, 20, (), {"km1", "km10", "online"}),
        (nsw, 50, (), {"km1", "km10", "km30", "online"}),
        (nsw, 50, ("in_person",), {"km1", "km10", "km30"}),  # no remote coverage asked
        (nsw, 5, (), {"km1", "online"}),
        (vic, 50, (), set()),  # the online group serves NSW only
        (nsw, 50, ("online",), {"online"}),
        (nsw, 20, ("in_person",), {"km1", "km10"}),
    ]
    for place_, radius, formats, expected in asked_and_expected * 2:
        matches = backend.search(SearchQuery(at=moment, place=place_, radius_km=radius, formats=formats))
        found = {hit.document["id"].removeprefix("test:") for hit in matches.hits}
        assert (found, matches.total) == (expected, len(expected)), (place_.name, radius, formats)
