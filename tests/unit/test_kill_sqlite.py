"""SQLite search by hand: the FTS5 expression for typed words, and `soonest` one per page
when the earliest listing sits in a zone whose clocks change that week (so its wall-clock
bound is only a bound and must be settled with zoneinfo before the page is cut).

Thursday 1 October 2026 00:00 UTC is 10:00 AEST in Sydney, three days before its clocks go
forward, and 08:00 in Perth, which keeps one offset all year. A Sydney session at 10:30
starts in 30 minutes; a Perth one at 09:00 in 60.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from service.backends.sqlite import SQLiteBackend, fts_expression
from service.models import SearchQuery, Session
from tests.unit.test_kill_columns import PERTH, SYDNEY, listing

AT = datetime(2026, 10, 1, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expression", [
    ("Smart rec", '("smart") AND ("rec" OR "rec"*)'),
    ("ice", '("ice" OR "ice"* OR "methamphetamine")'),
    ("aa", '("aa")'),
    ("rec aa", '("rec") AND ("aa")'),
    ("  ", None),
])
def test_fts_expression_by_hand(text, expression):
    assert fts_expression(text) == expression


@pytest.fixture(scope="module")
def two_zones(tmp_path_factory):
    """A Perth listing starting in an hour and a Sydney one in half an hour, indexed."""
    backend = SQLiteBackend(tmp_path_factory.mktemp("kill-sqlite") / "index.sqlite")
    backend.load([
        listing("perth", timezone=PERTH, sessions=(Session("thu", "09:00", "10:00"),)),
        listing("sydney", timezone=SYDNEY, sessions=(Session("thu", "10:30", "11:30"),)),
    ])
    return backend


def test_soonest_one_per_page_settles_a_bound_across_a_clock_change(two_zones):
    first = two_zones.search(SearchQuery(at=AT, sort="soonest", per_page=1))
    assert first.total == 2
    assert [hit.listing.id for hit in first.hits] == ["test:sydney"]
    second = two_zones.search(SearchQuery(at=AT, sort="soonest", per_page=1, page=2))
    assert [hit.listing.id for hit in second.hits] == ["test:perth"]


def test_starts_within_keeps_only_the_sooner_across_a_clock_change(two_zones):
    found = two_zones.search(SearchQuery(at=AT, starts_within=45))
    assert [hit.listing.id for hit in found.hits] == ["test:sydney"]
