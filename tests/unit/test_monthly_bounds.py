"""columns.monthly_raised: a monthly session's bound, raised to its next turn that keeps its
rule, is still a lower bound on the minutes to the listing's next start and on its soonest
rank, as tests/reference.py works them out (its days from python-dateutil's RFC 5545 rules,
its instants from the offsets zoneinfo reports), over random monthly and weekly timetables
in zones with clock changes, at moments across month ends and clock changes; and it is
raised by as much as a hand-worked case says."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from datetime import datetime, timezone

import numpy as np
import pytest

from service.backends.sqlite import columns
from service.backends.sqlite.backend import SQLiteBackend
from service.domain.models import SearchQuery, Session
from tests import reference
from tests.unit.test_kill_columns import listing

ZONES = ("Australia/Sydney", "Australia/Lord_Howe", "Pacific/Auckland", "America/New_York", "Europe/London",
         "Asia/Kolkata")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RULES = ("first", "second", "third", "fourth", "last")

# Month ends, five-Sunday months, clock changes (Sydney and Lord Howe go back on 5 April
# 2026, New York forward on 8 March, London back on 25 October, Auckland forward on 27
# September), the turn of a year, and moments with seconds.
MOMENTS = [
    datetime(2026, 5, 13, 8, 30, tzinfo=timezone.utc),
    datetime(2026, 5, 31, 9, 0, 30, tzinfo=timezone.utc),
    datetime(2026, 3, 29, 23, 10, tzinfo=timezone.utc),
    datetime(2026, 4, 4, 14, 30, tzinfo=timezone.utc),
    datetime(2026, 3, 8, 6, 59, 59, tzinfo=timezone.utc),
    datetime(2026, 10, 24, 23, 45, tzinfo=timezone.utc),
    datetime(2026, 9, 26, 12, 0, tzinfo=timezone.utc),
    datetime(2026, 12, 31, 13, 5, tzinfo=timezone.utc),
    datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc),
]


def _session(rng: random.Random, monthly: bool) -> Session:
    start = rng.randrange(0, 24 * 60, rng.choice((1, 30)))
    end = (start + rng.choice((30, 60, 90, 120, 300, 720, 0))) % (24 * 60)
    return Session(rng.choice(WEEKDAYS), f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}",
                   rng.choice(RULES) if monthly else None)


def _listings(seed: int, count: int) -> list:
    """Listings each with a monthly session, most with weekly ones beside it."""
    rng = random.Random(seed)
    made = []
    for number in range(count):
        sessions = [_session(rng, True)]
        sessions += [_session(rng, rng.random() < 0.3) for _ in range(rng.choice((0, 0, 1, 2)))]
        made.append(listing(f"{seed}-{number:04d}", timezone=rng.choice(ZONES), sessions=tuple(sessions)))
    return made


def _cols(made: list, path) -> columns.Columns:
    SQLiteBackend(path).load(made)
    with sqlite3.connect(path) as conn:
        return columns.read_columns(conn)


def _bounds(cols: columns.Columns, query: SearchQuery):
    """lower_bounds of every row, and the same raised by monthly_raised."""
    rows = np.arange(cols.size)
    bounds, ranks = columns.lower_bounds(cols, rows, query)
    exact = columns.bound_is_exact(cols, rows, query) | ~np.isfinite(bounds)
    raised, raised_ranks = columns.monthly_raised(cols, rows, exact, query, bounds, ranks)
    return exact, bounds, ranks, raised, raised_ranks


@pytest.fixture(scope="module", params=[1, 2])
def indexed(request, tmp_path_factory):
    made = _listings(request.param, 300)
    return made, _cols(made, tmp_path_factory.mktemp("monthly") / "index.sqlite")


@pytest.mark.parametrize("at", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
def test_raised_bounds_stay_below_the_reference_s_times(indexed, at):
    made, cols = indexed
    exact, bounds, ranks, raised, raised_ranks = _bounds(cols, SearchQuery(at=at))
    by_id = {item.id: item for item in made}
    lifted = 0
    for row, ident in enumerate(cols.ids):
        item = by_id[ident]
        assert not exact[row]  # every listing has a monthly session
        until = reference.minutes_until(item, at)
        rank = reference.soonest_rank(item, at)
        assert raised[row] <= until + 1e-6, (ident, item.timezone, item.sessions)
        assert raised_ranks[row] <= rank + 1e-6, (ident, item.timezone, item.sessions)
        assert raised[row] >= bounds[row] and raised_ranks[row] >= ranks[row]
        lifted += raised[row] > bounds[row] + 24 * 60
    # Most monthly sessions do not meet in a given week: many bounds move by days.
    assert lifted >= len(made) // 4


def test_a_first_monday_seen_on_the_second_monday_is_three_weeks_off(tmp_path):
    """Sydney, Monday 14 December 2026 at 19:10 (AEDT, +11:00), a "first Monday" session
    from 19:00 to 20:00: by the weekly reckoning it began ten minutes ago (bound -10). Its
    turns fall on 14, 21 and 28 December (second, third, fourth Mondays) and 4 January 2027
    (1 January is a Friday), the first to keep the rule: three turns on, 3 * 10,080 - 10 =
    30,230 minutes away by the wall clock, and Sydney's clocks do not change then. The
    bound is that less the two days left for a clock change: 27,350."""
    only = listing("first-monday", timezone="Australia/Sydney", sessions=(Session("mon", "19:00", "20:00", "first"),))
    cols = _cols([only], tmp_path / "index.sqlite")
    at = datetime(2026, 12, 14, 8, 10, tzinfo=timezone.utc)
    _, bounds, ranks, raised, raised_ranks = _bounds(cols, SearchQuery(at=at))
    assert bounds[0] == -10
    assert raised[0] == 3 * 7 * 24 * 60 - 10 - 2 * 24 * 60 == 27_350
    assert raised_ranks[0] == 27_350
    assert reference.minutes_until(only, at) == 30_230


def test_a_last_sunday_seen_on_the_fourth_of_five_is_a_week_off(tmp_path):
    """London, Sunday 24 May 2026 at 10:30 (BST), a "last Sunday" session from 10:00 to
    11:00: begun thirty minutes ago by the weekly reckoning. May 2026 has five Sundays;
    the 24th is not the last, the 31st is: one turn on, 10,080 - 30 = 10,050 minutes, less
    the two days: 7,170."""
    only = listing("last-sunday", timezone="Europe/London", sessions=(Session("sun", "10:00", "11:00", "last"),))
    cols = _cols([only], tmp_path / "index.sqlite")
    at = datetime(2026, 5, 24, 9, 30, tzinfo=timezone.utc)
    _, bounds, _, raised, _ = _bounds(cols, SearchQuery(at=at))
    assert bounds[0] == -30
    assert raised[0] == 7 * 24 * 60 - 30 - 2 * 24 * 60 == 7_170
    assert reference.minutes_until(only, at) == 10_050


def test_a_monthly_session_meeting_this_turn_keeps_its_bound(tmp_path):
    """The same session on the first Monday, 7 December 2026, at 18:50: ten minutes to go."""
    only = listing("first-monday", timezone="Australia/Sydney", sessions=(Session("mon", "19:00", "20:00", "first"),))
    cols = _cols([only], tmp_path / "index.sqlite")
    at = datetime(2026, 12, 7, 7, 50, tzinfo=timezone.utc)
    _, bounds, _, raised, _ = _bounds(cols, SearchQuery(at=at))
    assert bounds[0] == raised[0] == 10 == reference.minutes_until(only, at)


def test_weekly_rows_come_back_as_given(tmp_path):
    weekly = listing("weekly", timezone="Australia/Sydney", sessions=(Session("mon", "19:00", "20:00"),))
    cols = _cols([weekly], tmp_path / "index.sqlite")
    query = SearchQuery(at=datetime(2026, 12, 7, 7, 50, tzinfo=timezone.utc))
    rows = np.arange(1)
    bounds, ranks = columns.lower_bounds(cols, rows, query)
    exact = columns.bound_is_exact(cols, rows, query)
    raised, raised_ranks = columns.monthly_raised(cols, rows, exact, query, bounds, ranks)
    assert raised is bounds and raised_ranks is ranks


def _as_format_4(path) -> None:
    """The index at `path` as Linkage wrote it before the sessions' monthly rules (format 4)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE sessions DROP COLUMN monthly")
        conn.execute("PRAGMA user_version = 4")
        conn.commit()


@pytest.mark.parametrize("at", MOMENTS[:4], ids=[m.isoformat() for m in MOMENTS[:4]])
def test_an_index_in_format_4_still_answers_as_the_reference(tmp_path, at):
    """An index built before an upgrade keeps serving until the next refresh: without rules
    its monthly sessions read as weekly (bounds only less tight) and the pages are the
    reference's (tests/reference.py), for soonest order and the time filters alike."""
    made = _listings(3, 200)
    path = tmp_path / "index.sqlite"
    SQLiteBackend(path).load(made)
    _as_format_4(path)
    backend = SQLiteBackend(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert not columns.read_columns(conn).session_rule.any()
    for query in (SearchQuery(at=at, sort="soonest", per_page=10), SearchQuery(at=at, sort="soonest", per_page=10, page=2),
                  SearchQuery(at=at, open_now=True, per_page=50), SearchQuery(at=at, starts_within=24 * 60, per_page=50)):
        expected = reference.search_ids(made, query)
        found = backend.search(query)
        first = (query.page - 1) * query.per_page
        assert [hit.listing.id for hit in found.hits] == expected[first:first + query.per_page], query
        assert found.total == len(expected)
