"""The SQLite index's filter columns read back from a four-listing index, grid cells, the
vectorised nearness score and the soonest bounds, every expected value worked by hand.

Vocabulary bits (vocab.py order): formats in_person 1, online 2, phone 4; goals abstinence 1,
moderation 2, harm_reduction 4; substances any 1, alcohol 2, opioids 8, gambling 128;
audiences everyone 1, women 2, lgbtiq 8; days mon 1, wed 4, sat 32.
Grid cells are 0.02 degrees: (lat + 90) / 0.02 rows and (lon + 180) / 0.02 columns, a row
worth 100000. Wednesday 25 November 2026 07:30 AEDT is 20:30 UTC the day before; Sydney's
and Perth's clocks do not change from a day before to eight days after it.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.backends import filters
from service.backends.sqlite import columns
from service.backends.sqlite.backend import SQLiteBackend
from service.domain.models import Contact, FirstVisit, Listing, Location, Place, SearchQuery, Session, Source

SYDNEY, PERTH = "Australia/Sydney", "Australia/Perth"
WEDNESDAY_0730 = datetime(2026, 11, 24, 20, 30, tzinfo=timezone.utc)


def listing(ident: str, **more) -> Listing:
    """A listing written for these tests, with `more` fields replaced."""
    fields = dict(
        id=f"test:{ident}", kind="group", name=f"Test {ident}", description="A test listing.", program=None,
        approach="self_management", goals=("abstinence",), substances=("any",), formats=("in_person",),
        audiences=("everyone",), facilitation=None, languages=("en",), location=None, service_area=(),
        timezone=SYDNEY, sessions=(), open_24_7=False, contact=Contact(phone="02 5550 0000"),
        registration_required=False, open_meeting=True, cost="free", referral="self", accessibility=(),
        first_visit=FirstVisit(), source=Source(name="Test feed"), updated_at="2026-11-01",
        verified_at="2026-11-01", status="active",
    )
    fields.update(more)
    return Listing(**fields)


def place(lat: float, lon: float) -> Location:
    """A street address at lat, lon."""
    return Location(address="1 Test Street", locality="Test", state="NSW", postcode="2000", country="AU",
                    lat=lat, lon=lon)


LISTINGS = [
    listing("a", formats=("in_person", "online"), goals=("abstinence", "moderation"), substances=("alcohol",),
            languages=("en", "ar"), location=place(30.01, 0.01), service_area=("NSW",),
            sessions=(Session("wed", "07:30", "07:50"), Session("mon", "19:00", "20:30"))),
    listing("b", kind="helpline", approach="clinical", formats=("phone",), goals=("harm_reduction",),
            substances=("any", "opioids"), audiences=("women", "lgbtiq"), service_area=("AU",), timezone=PERTH,
            open_24_7=True),
    listing("c", kind="service", approach="harm_reduction", languages=("vi",), location=place(0.01, 90.01),
            sessions=(Session("sat", "10:00", "11:00", "first"),), status="inactive"),
    listing("d", approach="twelve_step", formats=("online",), goals=("moderation",), substances=("gambling",),
            service_area=("VIC",), timezone=PERTH),
]


@pytest.fixture(scope="module")
def cols(tmp_path_factory):
    """The four listings' columns, read back from a SQLite index file."""
    path = tmp_path_factory.mktemp("kill-columns") / "index.sqlite"
    SQLiteBackend(path).load(LISTINGS)
    with sqlite3.connect(path) as conn:
        return columns.read_columns(conn)


def test_every_column_reads_back(cols):
    assert cols.size == 4
    assert list(cols.ids) == ["test:a", "test:b", "test:c", "test:d"]
    # a at 30N 0E is (cos 30, 0, sin 30); c at 0N 90E is (0, 1, 0); b and d have no place.
    assert cols.x[[0, 2]] == pytest.approx([math.sqrt(3) / 2, 0.0], abs=1e-3)
    assert cols.y[[0, 2]] == pytest.approx([0.0, 1.0], abs=1e-3)
    assert cols.z[[0, 2]] == pytest.approx([0.5, 0.0], abs=1e-3)
    assert np.isnan(cols.x[[1, 3]]).all() and np.isnan(cols.y[[1, 3]]).all() and np.isnan(cols.z[[1, 3]]).all()
    assert cols.formats.tolist() == [3, 4, 1, 2]
    assert cols.goals.tolist() == [3, 4, 1, 2]
    assert cols.substances.tolist() == [2, 9, 1, 128]
    assert cols.audiences.tolist() == [1, 10, 1, 1]
    assert cols.days.tolist() == [5, 0, 32, 0]
    assert cols.kind.tolist() == [0, 2, 1, 0]
    assert cols.approach.tolist() == [0, 4, 5, 1]
    assert cols.active.tolist() == [True, True, False, True]
    assert cols.remote.tolist() == [True, True, False, True]
    assert cols.open_24_7.tolist() == [False, True, False, False]
    assert cols.monthly.tolist() == [False, False, True, False]
    assert cols.zones == (PERTH, SYDNEY)
    assert cols.zone.tolist() == [1, 0, 1, 0]
    assert {k: v.tolist() for k, v in cols.languages.items()} == {
        "en": [True, True, False, True], "ar": [True, False, False, False], "vi": [False, False, True, False]}
    assert {k: v.tolist() for k, v in cols.areas.items()} == {
        "NSW": [True, False, False, False], "AU": [False, True, False, False], "VIC": [False, False, False, True]}
    # Sessions by row, then start: a's Monday 19:00 (1140) and Wednesday 07:30 (2 * 1440 + 450); c's Saturday 10:00.
    assert cols.session_row.tolist() == [0, 0, 2]
    assert cols.session_start.tolist() == [1140, 3330, 7800]
    assert cols.session_length.tolist() == [90, 20, 60]
    assert cols.session_rule.tolist() == [0, 0, 1]  # c's Saturday is the first of the month
    assert cols.session_groups.tolist() == [0, 2]
    assert cols.session_zone.tolist() == [1, 1, 1]
    # c's cell (4500 * 100000 + 13500) comes before a's (6000 * 100000 + 9000).
    assert cols.cell_rows.tolist() == [2, 0]
    assert cols.cell_keys.tolist() == [450013500, 600009000]


def test_each_grid_cell_s_box_spans_exactly_its_listings(tmp_path):
    """The R*Tree's rows: one per occupied 0.02-degree cell, its box the least that holds
    the listings in it, whatever batch they came in (WRITE_BATCH is 5,000: the 5,002 spread
    over two). Cells: row (lat + 90) / 0.02, column (lon + 180) / 0.02."""
    from dataclasses import replace as changed

    base = listing("x", location=place(-33.861, 151.201))
    filler = [changed(base, id=f"test:f{i}", location=place(10.001, 10.001)) for i in range(4998)]
    spread = [
        changed(base, id="test:p1", location=place(-33.861, 151.201)),
        changed(base, id="test:p2", location=place(-33.879, 151.219)),  # same cell, other corner
        *filler,
        changed(base, id="test:p3", location=place(-33.870, 151.205)),  # inside the first two
        changed(base, id="test:p4", location=place(-33.862, 151.218)),  # past the first batch
        changed(base, id="test:p5", location=None, formats=("online",), service_area=("AU",)),
    ]
    path = tmp_path / "boxes.sqlite"
    SQLiteBackend(path).load(spread)
    sydney = 2806 * 100000 + 16560  # (-33.879 + 90) / 0.02 = 2806.05, (151.201 + 180) / 0.02 = 16560.05
    filled = 5000 * 100000 + 9500   # (10.001 + 90) / 0.02 = 5000.05, (10.001 + 180) / 0.02 = 9500.05
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT cell, min_lat, max_lat, min_lon, max_lon FROM geo ORDER BY cell").fetchall()
    # The R*Tree keeps 32-bit floats (steps of 0.000015 near 151 degrees), rounded outwards:
    # compared to within 0.00005 degrees (5 m), well inside the 0.001 between the corners.
    assert [r[0] for r in rows] == [sydney, filled]
    assert rows[0][1:] == pytest.approx((-33.879, -33.861, 151.201, 151.219), abs=5e-5)
    assert rows[1][1:] == pytest.approx((10.001, 10.001, 10.001, 10.001), abs=5e-5)


def test_an_empty_index_reads_as_empty_columns(tmp_path):
    path = tmp_path / "empty.sqlite"
    SQLiteBackend(path).load([])
    with sqlite3.connect(path) as conn:
        empty = columns.read_columns(conn)
    assert empty.size == 0 and empty.zones == () and empty.languages == {} and empty.areas == {}
    assert len(empty.session_row) == 0 and len(empty.session_groups) == 0 and len(empty.cell_rows) == 0


@pytest.mark.parametrize("lat, lon, cell", [
    (30.01, 0.01, 600009000),
    (0.01, 90.01, 450013500),
    (-33.87, 151.21, 2806 * 100000 + 16560),
    (-89.99, -179.99, 0),
])
def test_grid_cells(lat, lon, cell):
    assert columns.cell_of(lat, lon) == cell


def test_distance_from_a_cosine_rounded_past_one():
    # Rounding can put a dot product of unit vectors a hair outside [-1, 1].
    distances = columns._distance_km(np.array([1.0000000002, -1.0000000002, 0.0]))
    assert distances.tolist() == pytest.approx([0.0, math.pi * 6371.009, math.pi / 2 * 6371.009])


def test_nearness_scores_by_hand():
    # Distances 0.5, 6 and 11 km; a covered online row (as if 8 km away); a row with no
    # location and no coverage; the nearest row with a text score of 3 (weight 1 + 3/4);
    # the 6 km row again with that text score.
    km = np.array([0.5, 6.0, 11.0, np.nan, np.nan, 0.5, 6.0])
    selection = columns.Selection(
        rows=np.arange(7), cosine=np.cos(km / 6371.009),
        covered=np.array([False, False, False, True, False, False, False]),
        text=np.array([0.0, 0, 0, 0, 0, 3.0, 3.0]), tier=np.zeros(7, dtype=np.int8))
    query = SearchQuery(at=WEDNESDAY_0730, place=Place(query="x", name="x", lat=0.0, lon=0.0))
    scores = columns.best_scores(selection, query).tolist()
    expected = [1.0, 0.5 ** 0.25, 0.5, 0.5 ** 0.49, 0.0, 1.75, 0.5 ** 0.25 * 1.75]
    assert scores == pytest.approx(expected, abs=1e-8)
    # Rounded to nine places, as ranking.best_score: 0.84089641525 and 1.47156872669.
    assert (scores[1], scores[6]) == (0.840896415, 1.471568727)
    no_place = SearchQuery(at=WEDNESDAY_0730)
    assert columns.best_scores(selection, no_place).tolist() == [1, 1, 1, 1, 1, 1.75, 1.75]


def test_soonest_bounds_by_hand(cols):
    rows = np.arange(4)
    # 07:30:30: a's 20-minute Wednesday session began half a minute ago and has 19.5 left,
    # so it ranks as nearly over (120.5); its next start bound is -0.5. b is open all hours;
    # c's Saturday 10:00 (minute 7800) is 7800 - 3330.5 minutes away; d has no sessions.
    bound, rank = columns.lower_bounds(cols, rows, SearchQuery(at=WEDNESDAY_0730 + timedelta(seconds=30)))
    assert bound.tolist() == [-0.5, 0.0, 4469.5, math.inf]
    assert rank.tolist() == [120.5, 0.0, 4469.5, math.inf]
    # At 07:30:00 the session starts this very minute: not yet running, so it ranks as now.
    bound, rank = columns.lower_bounds(cols, rows, SearchQuery(at=WEDNESDAY_0730))
    assert bound.tolist() == [0.0, 0.0, 4470.0, math.inf]
    assert rank.tolist() == [0.0, 0.0, 4470.0, math.inf]
    bound, rank = columns.lower_bounds(cols, rows[[3, 1]], SearchQuery(at=WEDNESDAY_0730))
    assert (bound.tolist(), rank.tolist()) == ([math.inf, 0.0], [math.inf, 0.0])
    # Either alone, as a search needs it.
    later = SearchQuery(at=WEDNESDAY_0730 + timedelta(seconds=30))
    none, rank = columns.lower_bounds(cols, rows, later, starts=False)
    assert none is None and rank.tolist() == [120.5, 0.0, 4469.5, math.inf]
    bound, none = columns.lower_bounds(cols, rows, later, ranks=False)
    assert none is None and bound.tolist() == [-0.5, 0.0, 4469.5, math.inf]


def test_soonest_bounds_across_the_end_of_the_week(tmp_path):
    """A session that starts on Sunday night runs on into Monday: the week's minutes wrap.
    Sunday 23:00 is minute 6 * 1440 + 1380 = 10020 of the week, 120 minutes long. Monday
    30 November 2026 00:30 AEDT (13:30 UTC on Sunday) is minute 30; Sydney keeps its clocks
    from a day before to eight days after."""
    path = tmp_path / "week-end.sqlite"
    SQLiteBackend(path).load([listing("late", sessions=(Session("sun", "23:00", "01:00"),))])
    with sqlite3.connect(path) as conn:
        late = columns.read_columns(conn)
    rows = np.arange(1)
    monday_0030 = datetime(2026, 11, 29, 13, 30, tzinfo=timezone.utc)
    # Begun 90 minutes ago with 30 left: running, not yet nearly over.
    assert [a.tolist() for a in columns.lower_bounds(late, rows, SearchQuery(at=monday_0030))] == [[-90.0], [-90.0]]
    # At 00:45: 105 minutes in, 15 left: nearly over, so it ranks as 120.5.
    at = monday_0030 + timedelta(minutes=15)
    assert [a.tolist() for a in columns.lower_bounds(late, rows, SearchQuery(at=at))] == [[-105.0], [120.5]]
    # Monday 01:00 it has ended: the next start is Sunday 23:00, 6 days 22 hours away.
    at = monday_0030 + timedelta(minutes=30)
    assert [a.tolist() for a in columns.lower_bounds(late, rows, SearchQuery(at=at))] == [[9960.0], [9960.0]]
    # Sunday 22:00, before it starts: an hour to wait.
    at = monday_0030 - timedelta(minutes=150)
    assert [a.tolist() for a in columns.lower_bounds(late, rows, SearchQuery(at=at))] == [[60.0], [60.0]]


def test_which_bounds_are_exact(cols):
    rows = np.arange(4)
    # Weekly in a steady week: exact; monthly (c): a bound only; 24/7 and unscheduled: exact.
    assert columns.bound_is_exact(cols, rows, SearchQuery(at=WEDNESDAY_0730)).tolist() == [True, True, False, True]
    # Thursday 1 October 2026: Sydney's clocks go forward within eight days, Perth's never.
    changeover = datetime(2026, 10, 1, 0, 0, tzinfo=timezone.utc)
    assert columns.bound_is_exact(cols, rows, SearchQuery(at=changeover)).tolist() == [False, True, False, True]


# Kilometres north and east of Sydney's centre as degrees (111.2 km a degree of latitude;
# a degree of longitude at 33.87 S is 111.2 * cos 33.87 = 92.33 km).
CENTRE = (-33.87, 151.21)


def _at_km(north: float, east: float) -> Location:
    return place(CENTRE[0] + north / 111.2, CENTRE[1] + east / 92.33)


def test_searches_near_a_place_share_its_area_and_each_applies_its_own_filters(tmp_path):
    """Within 25 km of the centre: `near` (0 km), `north` (24 km) and the online NSW group;
    not `inactive` (0 km, withdrawn), `corner` (20 km north and 20 km east: 28.3 km, though
    inside the circle's bounding box) or the online VIC group (no coverage)."""
    listings = [
        listing("near", location=_at_km(0, 0)),
        listing("inactive", location=_at_km(0, 0), status="inactive"),
        listing("corner", location=_at_km(20, 20)),
        listing("north", location=_at_km(24, 0), goals=("moderation",)),
        listing("nsw", formats=("online",), service_area=("NSW",), goals=("moderation",)),
        listing("vic", formats=("online",), service_area=("VIC",), goals=("moderation",)),
    ]
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    backend.load(listings)
    sydney = Place(query="2000", name="Sydney", lat=CENTRE[0], lon=CENTRE[1], state="NSW", timezone=SYDNEY)

    def found(**asked) -> list[str]:
        matches = backend.search(SearchQuery(at=WEDNESDAY_0730, place=sydney, sort="distance", **asked))
        assert matches.total == len(matches.hits)
        return [hit.listing.id.removeprefix("test:") for hit in matches.hits]

    # The first search near the place finds its area; the next ones share it, each with
    # its own filters (or none).
    assert found(goals=("moderation",)) == ["north", "nsw"]
    assert found() == ["near", "north", "nsw"]
    assert found(goals=("moderation",)) == ["north", "nsw"]
    # In person only: no online coverage, so another area.
    assert found(formats=("in_person",)) == ["near", "north"]
    # A radius of 30 km reaches the corner.
    assert found(radius_km=30.0) == ["near", "north", "corner", "nsw"]
    # Words take the other path (every filter over the rows with the words): the same rule.
    assert found(text="test") == ["near", "north", "nsw"]
    assert found(text="test", goals=("moderation",)) == ["north", "nsw"]

    # Facets count what each search found, whether the area's own rows or fewer.
    def facets(**asked) -> dict:
        return backend.search(SearchQuery(at=WEDNESDAY_0730, place=sydney, **asked)).facets

    for _ in range(2):
        everything = facets()
        assert everything["format"] == {"in_person": 2, "online": 1, "phone": 0}
        assert everything["goal"] == {"abstinence": 1, "moderation": 2, "harm_reduction": 0}
        assert everything["kind"] == {"group": 3, "service": 0, "helpline": 0}
        assert everything["approach"]["self_management"] == 3 and sum(everything["approach"].values()) == 3
        assert facets(goals=("moderation",))["goal"] == {"abstinence": 0, "moderation": 2, "harm_reduction": 0}
        # Nothing here has sessions, so nothing is on now.
        assert facets(open_now=True)["kind"] == {"group": 0, "service": 0, "helpline": 0}


def test_an_area_keeps_nothing_of_the_search_but_what_its_rules_read(cols):
    """Areas are kept for later searches: no typed words (for the place or `q`), no other
    filters, not even the moment go with them; only the point, its state and country (which
    online coverage reads), the radius and the formats."""
    typed = Place(query="12 Smith St Newtown", name="12 Smith Street, Newtown", lat=-33.897, lon=151.179,
                  state="NSW", postcode="2042", timezone=SYDNEY, approximate=True, alternatives=("Newtown VIC",))
    query = SearchQuery(at=WEDNESDAY_0730, place=typed, radius_km=10.0, formats=("online",), text="my words",
                        goals=("moderation",), languages=("vi",))
    area = columns.place_area(cols, query, np.zeros(0, dtype=np.int64))
    point = Place(query="", name="", lat=-33.897, lon=151.179, state="NSW", country="AU")
    assert area.query == SearchQuery(at=datetime(1970, 1, 1, tzinfo=timezone.utc), place=point, radius_km=10.0,
                                     formats=("online",))


def test_audience_tiers_by_hand(cols):
    # a, c and d are for everyone; b is for women and LGBTIQ+ people.
    rows = np.array([3, 1, 0])
    assert columns.tiers(cols, rows, SearchQuery(at=WEDNESDAY_0730)).tolist() == [0, 1, 0]
    assert columns.tiers(cols, rows, SearchQuery(at=WEDNESDAY_0730, audiences=("women",))).tolist() == [1, 0, 1]
    assert columns.tiers(cols, rows, SearchQuery(at=WEDNESDAY_0730, audiences=("men",))).tolist() == [1, 1, 1]
    assert columns.tiers(cols, rows, SearchQuery(at=WEDNESDAY_0730)).dtype == np.int8


def test_sqlite_compiles_every_filter_rule():
    assert set(columns.MASKS) == set(filters.RULES) >= {spec.rule for spec in filters.FILTERS}


def test_rows_with_words_by_hand():
    """Rows 2 and 7 are both wanted and matched; their scores are the ones listed beside them."""
    wanted = np.zeros(10, dtype=bool)
    wanted[[1, 2, 5, 7, 9]] = True
    text_rows = np.array([0, 2, 7, 8], dtype=np.int64)
    scores = np.array([0.5, 1.5, 2.5, 3.5])
    rows, found = columns.rows_with_words(wanted, text_rows, scores)
    assert rows.tolist() == [2, 7] and found.tolist() == [1.5, 2.5]
    # Without a mask every matched row stays, with its own score.
    rows, found = columns.rows_with_words(None, text_rows, scores)
    assert rows.tolist() == [0, 2, 7, 8] and found.tolist() == [0.5, 1.5, 2.5, 3.5]
    empty = np.zeros(0, dtype=np.int64)
    assert columns.rows_with_words(wanted, empty, np.zeros(0))[0].tolist() == []
    assert columns.rows_with_words(np.zeros(10, dtype=bool), text_rows, scores)[0].tolist() == []


@given(st.sets(st.integers(0, 300), max_size=80), st.sets(st.integers(0, 300), max_size=80))
def test_rows_with_words_agrees_with_numpy(a, b):
    """numpy's own intersect1d is the reference, whichever set is the larger."""
    wanted = np.zeros(301, dtype=bool)
    wanted[sorted(a)] = True
    text_rows = np.array(sorted(b), dtype=np.int64)
    scores = text_rows * 10.0 + 0.25
    rows, found = columns.rows_with_words(wanted, text_rows, scores)
    expected, _at_a, at_b = np.intersect1d(np.array(sorted(a), dtype=np.int64), text_rows,
                                           assume_unique=True, return_indices=True)
    assert rows.tolist() == expected.tolist()
    assert found.tolist() == scores[at_b].tolist()



def test_kept_index_by_hand():
    """A mask keeping two of five gives their positions; one keeping every entry stays a
    mask (dense); positions given are passed through."""
    mask = np.array([False, True, False, False, True])
    assert columns.kept_index(mask).tolist() == [1, 4]
    dense = np.ones(20, dtype=bool)
    assert columns.kept_index(dense) is dense
    positions = np.array([3, 0, 2])
    assert columns.kept_index(positions) is positions
    assert columns.kept_index(np.zeros(0, dtype=bool)).tolist() == []


@given(st.lists(st.booleans(), max_size=200))
def test_kept_index_selects_what_the_mask_selects(flags):
    """Indexing by `kept_index(mask)` gives what numpy's boolean indexing gives, in order,
    for sparse and dense masks alike; and so does `Selection.subset`."""
    mask = np.array(flags, dtype=bool)
    values = np.arange(len(flags)) * 3 + 1
    assert values[columns.kept_index(mask)].tolist() == values[mask].tolist()
    selection = columns.Selection(values, values * 0.5, mask, values * 2.0, (values % 2).astype(np.int8))
    subset = selection.subset(mask)
    assert subset.rows.tolist() == values[mask].tolist()
    assert subset.cosine.tolist() == (values * 0.5)[mask].tolist()
    assert subset.covered.tolist() == [True] * int(mask.sum())
    assert subset.tier.tolist() == (values % 2)[mask].tolist()

def _reference_best_order(km, covered, tier, needed):
    """The first `needed` rows in best order, written from ordering's scalar functions: the
    audience tier, then the score (a covered remote row as if no farther than
    remote_equivalent_km; no location and not covered scores 0), then nearer, then row."""
    from service.domain import ordering

    def key(row):
        distance = km[row]
        if covered[row]:
            remote = ordering.RANKING["remote_equivalent_km"]
            distance = remote if math.isnan(distance) else min(distance, remote)
        score = 0.0 if math.isnan(distance) else ordering.best_score(distance, 0.0, True)
        nearer = math.inf if math.isnan(km[row]) else km[row]
        return (tier[row], -score, nearer, row)
    return sorted(range(len(km)), key=key)[:needed]


# Distances in tenths of a kilometre: apart enough that their cosines differ (a few metres
# apart, two rows can share a cosine and the store rightly sees them as equally near).
@given(st.lists(st.tuples(st.one_of(st.sampled_from([0.0, 0.3, 1.0, 2.5, 8.0, 8.0, 40.0, 300.0, 4000.0]),
                                    st.integers(0, 600).map(lambda tenths: tenths / 10), st.just(math.nan)),
                          st.booleans(), st.integers(0, 1)), min_size=1, max_size=60),
       st.integers(1, 25))
def test_best_order_with_a_place_agrees_with_the_scalar_score(rows, needed):
    """Only rows in reach are scored now; the order must still be the whole order's first
    `needed`: ties of equal distance and of score 1 within the first kilometre, covered
    remote rows with and without a location, far rows scoring 0 included."""
    km = np.array([r[0] for r in rows])
    covered = np.array([r[1] for r in rows])
    tier = np.array([r[2] for r in rows], dtype=np.int8)
    selection = columns.Selection(rows=np.arange(len(rows)), cosine=np.cos(km / 6371.009), covered=covered,
                                  text=np.zeros(len(rows)), tier=tier)
    query = SearchQuery(at=WEDNESDAY_0730, place=Place(query="x", name="x", lat=0.0, lon=0.0))
    found = selection.rows[columns.order(selection, query, needed)].tolist()
    assert found == _reference_best_order(km.tolist(), covered.tolist(), tier.tolist(), needed)


def test_best_order_agrees_with_the_scalar_score_where_few_rows_are_in_reach():
    """Many rows, mostly far, both tiers: each tier is narrowed to the rows in reach before
    it is ordered (hypothesis's small lists rarely need that). Seeded draws, so the same
    cases every run."""
    rng = np.random.default_rng(20261207)
    narrowed = 0
    for _ in range(200):
        n = int(rng.integers(30, 200))
        km = np.where(rng.random(n) < 0.3, rng.integers(0, 600, n) / 10,
                      rng.choice([0.0, 0.3, 1.0, 2.5, 8.0, 40.0, 300.0, 4000.0, math.nan], size=n))
        covered = rng.random(n) < 0.2
        tier = (rng.random(n) < 0.3).astype(np.int8)
        needed = int(rng.integers(1, 25))
        selection = columns.Selection(rows=np.arange(n), cosine=np.cos(km / 6371.009), covered=covered,
                                      text=np.zeros(n), tier=tier)
        query = SearchQuery(at=WEDNESDAY_0730, place=Place(query="x", name="x", lat=0.0, lon=0.0))
        found = selection.rows[columns.order(selection, query, needed)].tolist()
        assert found == _reference_best_order(km.tolist(), covered.tolist(), tier.tolist(), needed)
        tier_zero = np.flatnonzero(tier == 0)
        reach = columns._within_reach(selection, query, needed, tier_zero)
        narrowed += reach is not None and len(reach) < len(tier_zero)
    assert narrowed > 50  # the cases do exercise the narrowing


@given(st.lists(st.tuples(st.sampled_from([0.0, 5.0, 5.0, 12.5, 120.5, 600.0, math.inf, -0.5]), st.integers(0, 1)),
                max_size=50), st.integers(1, 30))
def test_soonest_order_is_a_lexsort_of_tier_rank_and_row(items, needed):
    """numpy's lexsort of every row is the reference: ties of equal ranks, unscheduled rows
    (inf) and rows of both tiers."""
    ranks = np.array([i[0] for i in items], dtype=np.float64)
    tier = np.array([i[1] for i in items], dtype=np.int8)
    rows = np.arange(len(items), dtype=np.int64)[::-1].copy()  # rows need not follow positions
    selection = columns.Selection(rows=rows, cosine=np.full(len(items), np.nan), covered=np.zeros(len(items), bool),
                                  text=np.zeros(len(items)), tier=tier)
    expected = np.lexsort((rows, ranks, tier))[:needed]
    assert columns.soonest_order(selection, ranks, needed).tolist() == expected.tolist()
