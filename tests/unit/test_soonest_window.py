"""sort=soonest from the sessions running or starting soon (columns.soonest_candidates), held
to the reference search (tests/reference.py, whose times come from its own calendar walk)
on seeded listing sets of a city's density, and the session window to the scalar bound
(schedule.session_lower_bound) session by session.

The sets mix what the shortcut must not get wrong: sessions of every length up to a day,
overnight ones and ones across the end of the week, monthly ones (whose wall-clock bound is
only a bound), 24/7 services with sessions, restricted audiences, several zones with clock
changes, and moments in clock-change weeks, at midnight on Sunday and with seconds.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from service.backends.sqlite import columns
from service.backends.sqlite import backend as sqlite_backend
from service.backends.sqlite.backend import SQLiteBackend
from service.domain import schedule
from service.domain.models import Place, SearchQuery, Session
from tests import reference
from tests.unit.test_kill_columns import listing, place

ZONES = ("Australia/Sydney", "Australia/Perth", "Australia/Adelaide", "Pacific/Auckland", "America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Minutes; 0 is a whole day (end = start).
LENGTHS = (20, 45, 60, 60, 90, 90, 120, 180, 300, 480, 720, 0)
CENTRE = (-33.87, 151.21)
SYDNEY = Place(query="", name="Sydney", lat=CENTRE[0], lon=CENTRE[1], state="NSW", country="AU")

MOMENTS = [
    datetime(2026, 5, 13, 8, 30, tzinfo=timezone.utc),        # Wednesday 18:30 in Sydney
    datetime(2026, 5, 10, 13, 55, 30, tzinfo=timezone.utc),   # Sunday 23:55:30 in Sydney
    datetime(2026, 5, 10, 14, 5, tzinfo=timezone.utc),        # Monday 00:05 in Sydney
    datetime(2026, 5, 13, 17, 10, tzinfo=timezone.utc),       # 03:10 in Sydney: little starts soon
    datetime(2026, 4, 4, 14, 30, tzinfo=timezone.utc),        # Sydney's clocks go back that night
    datetime(2026, 10, 3, 15, 45, tzinfo=timezone.utc),       # Sydney's clocks go forward
    datetime(2026, 3, 8, 6, 59, 59, tzinfo=timezone.utc),     # New York's go forward
    datetime(2026, 9, 26, 12, 0, tzinfo=timezone.utc),        # Auckland's go forward next day
]


def _session(rng: random.Random) -> Session:
    start = rng.randrange(0, 24 * 60, rng.choice((1, 15)))  # any minute, or on the quarter (ties)
    length = rng.choice(LENGTHS)
    end = (start + length) % (24 * 60)
    monthly = rng.choice(("first", "last", "third")) if rng.random() < 0.08 else None
    return Session(rng.choice(WEEKDAYS), f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}",
                   monthly)


def listings(seed: int, count: int) -> list:
    """`count` listings, most within 20 km of Sydney's centre, in five zones."""
    rng = random.Random(seed)
    made = []
    for number in range(count):
        zone = ZONES[0] if rng.random() < 0.6 else rng.choice(ZONES)
        more = {}
        if rng.random() < 0.15:
            more["audiences"] = (rng.choice(("women", "young_people", "family_friends")),)
        if rng.random() < 0.03:
            more["open_24_7"] = True
        if rng.random() < 0.1:
            more.update(formats=("online",), service_area=("AU",))
        else:
            more["location"] = place(CENTRE[0] + rng.uniform(-0.18, 0.18), CENTRE[1] + rng.uniform(-0.18, 0.18))
        sessions = tuple(_session(rng) for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3, 5))))
        made.append(listing(f"{seed}-{number:05d}", timezone=zone, sessions=sessions, **more))
    return made


@pytest.fixture(autouse=True)
def every_selection_through_horizons(monkeypatch):
    """These sets are city-sized in density, not in number: let their selections take the
    horizons, which larger selections take."""
    monkeypatch.setattr(columns, "FEW_ROWS", 0)


@pytest.fixture(scope="module", params=[1, 2])
def indexed(request, tmp_path_factory):
    """A seeded listing set and its SQLite index."""
    made = listings(request.param, 900)
    backend = SQLiteBackend(tmp_path_factory.mktemp("soonest") / "index.sqlite")
    backend.load(made)
    return made, backend


@pytest.fixture
def shortcut_runs(monkeypatch):
    """How often soonest_candidates answered (rather than leaving it to every row's bounds)."""
    runs = {"answered": 0, "left": 0}
    original = columns.soonest_candidates

    def counted(*args, **kwargs):
        found = original(*args, **kwargs)
        runs["answered" if found is not None else "left"] += 1
        return found

    monkeypatch.setattr(columns, "soonest_candidates", counted)
    return runs


@pytest.mark.parametrize("at", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
def test_soonest_pages_are_the_reference_s(indexed, shortcut_runs, at):
    made, backend = indexed
    asked = [
        SearchQuery(at=at, sort="soonest", place=SYDNEY, per_page=10),
        SearchQuery(at=at, sort="soonest", place=SYDNEY, per_page=10, page=3),
        SearchQuery(at=at, sort="soonest", place=SYDNEY, radius_km=5, per_page=5),
        SearchQuery(at=at, sort="soonest", place=SYDNEY, audiences=("women",), per_page=5),
        SearchQuery(at=at, sort="soonest", place=SYDNEY, per_page=40, page=2),
        SearchQuery(at=at, sort="soonest", per_page=20),
        # Every listing's description has the word, so the words leave the reference's answer.
        SearchQuery(at=at, sort="soonest", place=SYDNEY, text="test", per_page=10, page=2),
    ]
    for query in asked:
        expected = reference.search_ids(made, replace(query, text=None))
        found = backend.search(query)
        first = (query.page - 1) * query.per_page
        assert [h.listing.id for h in found.hits] == expected[first:first + query.per_page], query
        assert found.total == len(expected)
    # The shortcut answered most of these (a tier too small, or nothing soon, leaves it).
    assert shortcut_runs["answered"] >= 3, shortcut_runs


@pytest.mark.parametrize("at", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
@pytest.mark.parametrize("horizon", [-480.0, -30.0, 0.0, 30.0, 480.0])
def test_the_window_holds_every_session_whose_bound_is_within_the_horizon(indexed, at, horizon):
    _, backend = indexed
    with backend._reading():
        cols = backend._columns()
    clock = columns._clock(cols, SearchQuery(at=at))
    by_start = cols.sessions_by_start
    window = set(columns.gather_slices(by_start, *columns.window_slices(by_start, clock, horizon)).tolist())
    inside = 0
    for index in range(len(cols.session_row)):
        zone = cols.zones[cols.session_zone[index]]
        now = schedule.local_minute_of_week(at, zone)
        bound = schedule.session_lower_bound(int(cols.session_start[index]), int(cols.session_length[index]), now,
                                             schedule.offset_shift_minutes(at, zone))
        if bound <= horizon:
            inside += 1
            assert index in window, (index, zone, bound)
    assert inside > 0 or horizon < 0
    # And it is a window, not the whole week: at most a quarter of the sessions within 30 minutes.
    if horizon <= 30:
        assert len(window) < len(cols.session_row) / 4


def test_an_area_s_sessions_are_its_kept_rows_in_the_index_s_order(indexed):
    _, backend = indexed
    query = SearchQuery(at=MOMENTS[0], sort="soonest", place=SYDNEY, radius_km=5)
    with backend._reading():
        cols = backend._columns()
        area = backend._area(query, cols)
    mine = area.sessions_by_start
    kept = set(area.kept[0].tolist())
    expected = [s for s in cols.sessions_by_start.sessions.tolist() if int(cols.session_row[s]) in kept]
    assert mine.sessions.tolist() == expected
    assert mine.open_rows.tolist() == sorted(r for r in kept if cols.open_24_7[r])
    assert 0 < len(expected) < len(cols.session_row)
    assert np.all(np.diff(mine.keys) >= 0)


@pytest.mark.parametrize("at", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
def test_candidates_hold_every_row_that_can_take_a_place_with_its_whole_bound(indexed, at):
    """For every page length, each selected row whose rank bound over all its sessions
    (lower_bounds) is within the needed-th exact rank of the first tier is a candidate, with
    that bound: the needed-th lands on each horizon's edge for some length."""
    _, backend = indexed
    query = SearchQuery(at=at, sort="soonest", place=SYDNEY)
    with backend._reading():
        cols = backend._columns()
        area = backend._area(query, cols)
    selection = columns.select(cols, query, area, None, None)
    _, ranks = columns.lower_bounds(cols, selection.rows, query, starts=False)
    exact = columns.bound_is_exact(cols, selection.rows, query)
    first_tier = np.sort(ranks[exact & (selection.tier == 0)])
    answered = 0
    for needed in range(1, 120):
        found = columns.soonest_candidates(cols, selection, query, needed, area.sessions_by_start)
        if found is None:
            continue
        answered += 1
        kth = first_tier[needed - 1]
        bound_of = dict(zip(found.positions.tolist(), found.rank_bounds.tolist()))
        for position in np.flatnonzero(ranks <= kth).tolist():
            assert bound_of.get(position) == ranks[position], (needed, position)
        assert found.exact.tolist() == exact[found.positions].tolist()
    assert answered >= 40


@pytest.mark.parametrize("at", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
def test_growing_windows_read_each_session_once(indexed, at):
    """The parts read as the horizon grows (window_slices after the previous one) are disjoint
    and together the whole last window."""
    _, backend = indexed
    with backend._reading():
        cols = backend._columns()
    clock = columns._clock(cols, SearchQuery(at=at))
    by_start = cols.sessions_by_start
    parts, read = [], None
    for horizon in columns._HORIZONS:
        parts.extend(columns.gather_slices(by_start, *columns.window_slices(by_start, clock, horizon, after=read)).tolist())
        read = horizon
        whole = columns.gather_slices(by_start, *columns.window_slices(by_start, clock, horizon))
        assert sorted(parts) == sorted(whole.tolist())
    assert len(parts) == len(set(parts))


@pytest.mark.parametrize("at", MOMENTS[4:], ids=[m.isoformat() for m in MOMENTS[4:]])
def test_ranks_settled_a_page_at_a_time_in_clock_change_weeks(indexed, monkeypatch, at):
    """In a week when clocks change, bounds are not ranks and zoneinfo settles them, lowest
    bound first, a round at a time: rounds of one page (rather than 64 rows) need many rounds,
    and still give the reference's pages."""
    made, backend = indexed
    monkeypatch.setattr(sqlite_backend, "SETTLE_BATCH", 1)
    for query in (SearchQuery(at=at, sort="soonest", place=SYDNEY, per_page=5),
                  SearchQuery(at=at, sort="soonest", place=SYDNEY, per_page=3, page=4),
                  SearchQuery(at=at, sort="soonest", per_page=7)):
        expected = reference.search_ids(made, query)
        first = (query.page - 1) * query.per_page
        assert [h.listing.id for h in backend.search(query).hits] == expected[first:first + query.per_page], query


@pytest.mark.parametrize("at", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
def test_exact_waits_from_the_session_columns_are_the_reference_s(indexed, at):
    """columns.exact_waits (one calendar walk per distinct session, not per listing) gives each
    weekly row the reference's minutes to its next start and soonest rank, to the last bit:
    ties between listings starting at one instant go by id only if both are exact."""
    made, backend = indexed
    with backend._reading():
        cols = backend._columns()
    weekly = [row for row, x in enumerate(made)
              if not x.open_24_7 and not any(s.monthly for s in x.sessions)]
    waits, ranks = columns.exact_waits(cols, np.array(weekly, dtype=np.int64), at)
    assert len(waits) == len(ranks) == len(weekly) > 700
    for row, wait, rank in zip(weekly, waits.tolist(), ranks.tolist()):
        expected = reference.minutes_until(made[row], at)
        assert wait == (float("inf") if expected is None else expected), (made[row].id, made[row].sessions)
        assert rank == reference.soonest_rank(made[row], at), (made[row].id, made[row].sessions)
    _, alone = columns.exact_waits(cols, np.array(weekly, dtype=np.int64), at, ranks=False)
    assert alone is None


@pytest.mark.parametrize("at", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
def test_time_filters_are_the_reference_s(indexed, monkeypatch, at):
    """open_now and starts_within, bounded only for the rows with a session in the window of
    the filters' limit (columns.time_candidates); in a week when clocks change every bound in
    the changing zones is inexact, and each row that may pass is settled (weekly ones from
    the session columns, monthly ones from their listings). Totals and pages as the
    reference's."""
    made, backend = indexed
    windows = []
    original = columns.time_candidates

    def counted(*args, **kwargs):
        found = original(*args, **kwargs)
        windows.append(found is not None and len(found) < len(args[1].rows))
        return found

    monkeypatch.setattr(columns, "time_candidates", counted)
    for query in (SearchQuery(at=at, starts_within=1, per_page=10),
                  SearchQuery(at=at, starts_within=1440, sort="soonest", per_page=10, page=2),
                  SearchQuery(at=at, open_now=True, per_page=10),
                  SearchQuery(at=at, open_now=True, sort="soonest", place=SYDNEY, per_page=10, page=2),
                  SearchQuery(at=at, starts_within=30, sort="distance", place=SYDNEY, per_page=15),
                  SearchQuery(at=at, starts_within=240, sort="soonest", per_page=20),
                  SearchQuery(at=at, starts_within=240, sort="soonest", per_page=20, page=3)):
        expected = reference.search_ids(made, query)
        found = backend.search(query)
        first = (query.page - 1) * query.per_page
        assert found.total == len(expected), query
        assert [h.listing.id for h in found.hits] == expected[first:first + query.per_page], query
    # The window left rows out of most of these (a day's window reads every row's sessions).
    assert windows.count(True) >= 5, windows


def test_edges_of_exact_times_the_demo_data_lacks(tmp_path, demo_listings, gazetteer):
    """tests/edge_sessions.py's cases on SQLite give the reference's totals and pages."""
    from tests import edge_sessions

    listings = edge_sessions.edge_listings(demo_listings)
    backend = SQLiteBackend(tmp_path / "edges.sqlite")
    backend.load(listings)
    edge_sessions.check_cases(backend, listings, gazetteer)
