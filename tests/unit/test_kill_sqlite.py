"""SQLite search by hand: the FTS5 expression for typed words, and `soonest` one per page
when the earliest listing sits in a zone whose clocks change that week (so its wall-clock
bound is only a bound and must be settled with zoneinfo before the page is cut).

Thursday 1 October 2026 00:00 UTC is 10:00 AEST in Sydney, three days before its clocks go
forward, and 08:00 in Perth, which keeps one offset all year. A Sydney session at 10:30
starts in 30 minutes; a Perth one at 09:00 in 60.
"""

from __future__ import annotations

from datetime import datetime, timezone

from geopy.distance import great_circle

import pytest

from service.backends.sqlite.backend import SQLiteBackend, bounding_box, fts_expression
from service.domain.models import Place, SearchQuery, Session
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


def test_a_place_with_nothing_near_and_an_empty_index(two_zones, tmp_path):
    # Neither listing has a location or serves an area: a radius search meets no grid cell.
    sydney = Place(query="2000", name="Sydney", lat=-33.87, lon=151.21, state="NSW")
    found = two_zones.search(SearchQuery(at=AT, place=sydney, radius_km=5.0))
    assert (found.total, found.hits) == (0, ())
    empty = SQLiteBackend(tmp_path / "empty.sqlite")
    empty.load([])
    for query in (SearchQuery(at=AT, formats=("online",), goals=("moderation",), days=("mon",)),
                  SearchQuery(at=AT, place=sydney, sort="soonest", starts_within=60)):
        found = empty.search(query)
        assert (found.total, found.hits) == (0, ())


CENTRES = [(0.0, 0.0), (-33.87, 151.21), (60.0, 10.0), (88.5, 0.0), (-89.5, 0.0), (89.5, 30.0),
           (0.0, 179.5), (0.0, -179.5), (-42.88, 147.33)]


@pytest.mark.parametrize("lat, lon", CENTRES)
@pytest.mark.parametrize("km", [1.0, 25.0, 111.2])
def test_the_bounding_box_holds_the_circle_and_no_more(lat, lon, km):
    # geopy's great circle (same Earth radius) walks the circle a degree of bearing at a time.
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, km)
    points = [great_circle(kilometers=km).destination((lat, lon), bearing) for bearing in range(360)]
    lats = [p.latitude for p in points]
    assert min_lat <= min(lats) + 1e-9 and max(lats) - 1e-9 <= max_lat
    if (min_lon, max_lon) != (-180.0, 180.0):
        lons = [p.longitude for p in points]
        assert min_lon <= min(lons) + 1e-9 and max(lons) - 1e-9 <= max_lon
        # Tight: a circle's widest point lies within a degree of bearing of the box's edge.
        assert max_lon - max(lons) < 1e-3 * (max_lon - lon) and min(lons) - min_lon < 1e-3 * (lon - min_lon)
    if -90.0 < min_lat and max_lat < 90.0:
        assert max_lat - max(lats) < 1e-9 and min(lats) - min_lat < 1e-9


@pytest.mark.parametrize("lat, lon, km, whole", [
    (0.0, 0.0, 111.2, False),
    (60.0, 10.0, 111.2, False),
    (88.5, 0.0, 111.2, True),      # reaches past 89 degrees
    (0.0, 179.5, 111.2, True),     # would cross the antimeridian eastwards
    (0.0, -179.5, 111.2, True),    # ... and westwards
])
def test_which_boxes_take_every_longitude(lat, lon, km, whole):
    assert (bounding_box(lat, lon, km)[2:] == (-180.0, 180.0)) is whole


def test_boxes_stop_at_the_poles():
    # 111.2 km is 1.0000 degree of latitude on a sphere of radius 6371.009 km.
    assert bounding_box(-89.5, 0.0, 111.2)[:2] == (-90.0, pytest.approx(-88.5, abs=1e-4))
    assert bounding_box(89.5, 30.0, 111.2)[:2] == (pytest.approx(88.5, abs=1e-4), 90.0)
    assert bounding_box(88.5, 0.0, 111.2)[:2] == (pytest.approx(87.5, abs=1e-4), pytest.approx(89.5, abs=1e-4))
