"""The SQLite index's filter columns as numpy arrays, and the search steps over them.

SQLite evaluates a filter expression row by row in its bytecode interpreter (a few
microseconds a row); a city-wide search matches tens of thousands of rows, so counting
and faceting them in SQL cannot answer in a few milliseconds. Each worker therefore
reads the narrow `listings` columns once per index file (a few MB for 100k listings)
and filters, counts, facets and orders them with vectorised numpy operations. The
R*Tree still narrows a radius search to its bounding box and FTS5 still ranks text;
this module only replaces the per-row arithmetic.

Row i of every array is the listing with rid i + 1; rids follow listing ids, so
"ties by id" is "ties by row".
"""

from __future__ import annotations

import functools
import math
import sqlite3
from dataclasses import dataclass
from typing import Callable
from datetime import datetime, timezone

import numpy as np

from service.domain.facets import empty_facets
from service.domain import geo
from service.domain import ordering

from service.domain import schedule

from service.domain import vocab
from service.domain.models import Place, SearchQuery, Session
from service.backends import filters
from service.backends.filters import Filter, coverage_areas
from service.backends.time_of_day import time_windows, zone_shifts


@dataclass(frozen=True)
class Columns:
    """One index file's filter columns, row i = rid i + 1."""

    ids: np.ndarray          # object: listing ids
    x: np.ndarray            # float64 unit vector; NaN without a location
    y: np.ndarray
    z: np.ndarray
    formats: np.ndarray      # int64 bit masks over the vocabularies
    goals: np.ndarray
    substances: np.ndarray
    audiences: np.ndarray
    days: np.ndarray
    kind: np.ndarray         # int8 index into vocab.KINDS
    approach: np.ndarray     # int8 index into vocab.APPROACHES
    active: np.ndarray       # bool
    remote: np.ndarray       # bool
    open_24_7: np.ndarray    # bool
    monthly: np.ndarray      # bool: has a monthly session (its wall-clock bound is only a bound)
    zone: np.ndarray         # int16 index into `zones`
    zones: tuple[str, ...]
    languages: dict          # language code -> bool array
    areas: dict              # service-area code -> bool array
    session_row: np.ndarray  # int32: the row each session belongs to (sorted)
    session_start: np.ndarray  # int32 minute of week, local
    session_length: np.ndarray  # int32 minutes
    session_rule: np.ndarray  # int8: 0 weekly, else the monthly rule (vocab.MONTHLY_RULES, from 1)
    session_groups: np.ndarray  # int64: index of each row's first session, for reduceat
    session_zone: np.ndarray  # int16: each session's zone (its row's)
    cell_rows: np.ndarray    # rows with a location, ordered by (cell, row)
    cell_keys: np.ndarray    # their cells, ascending
    session_first: np.ndarray  # int64: index of each row's first session (its count's start)
    session_count: np.ndarray  # int64: each row's number of sessions
    facet_code: np.ndarray   # int32: (formats, goals, kind, approach) as one number (facet_code)

    @functools.cached_property
    def tier_without_audiences(self) -> np.ndarray:
        """int8 per row: its `tiers` for a search asking no audience (0 when for everyone)."""
        # Most searches ask none: one gather of this instead of three passes over a city's rows.
        return _tiers(self.audiences, ())

    @property
    def size(self) -> int:
        """Number of listings."""
        return len(self.ids)

    @functools.cached_property
    def sessions_by_start(self) -> "SessionOrder":
        """Every session, in `SessionOrder`."""
        week = schedule.MINUTES_PER_WEEK
        longest = int(self.session_length.max()) if len(self.session_length) else 0
        limits = np.array(_LENGTH_LIMITS[:-1] + (max(_LENGTH_LIMITS[-1], longest),), dtype=np.int64)
        length_class = np.searchsorted(limits, self.session_length, side="left")
        keys = (self.session_zone.astype(np.int64) * len(limits) + length_class) * week + self.session_start
        order = np.argsort(keys, kind="stable")
        # Kept in 32 bits (an area at 1,000,000 listings holds a third of a million of each):
        # a key stays under 2**31 for up to 40,000 zones.
        return SessionOrder(order.astype(np.int32), keys[order].astype(np.int32), limits,
                            np.flatnonzero(self.open_24_7))


# Upper limits (minutes) of the session length classes of Columns.sessions_by_start: most
# meetings run an hour or two, services a working day; the last class takes the rest.
_LENGTH_LIMITS = (60, 120, 240, 480, 24 * 60)


@dataclass(frozen=True)
class SessionOrder:
    """Sessions (some or all of an index's) ordered by (zone, length class, local start), for
    `window_slices`: a session running at a moment began at most its class's longest length
    before it, so those running or starting soon are a few slices of this order."""

    sessions: np.ndarray  # indexes into the session columns
    keys: np.ndarray      # (zone * classes + class) * week + start, ascending
    limits: np.ndarray    # each length class's longest length (_LENGTH_LIMITS, the last
                          # raised to the index's longest session)
    open_rows: np.ndarray  # the rows open 24/7 among those whose sessions these are, ascending

    def __post_init__(self):
        for array in (self.sessions, self.keys, self.limits, self.open_rows):
            array.flags.writeable = False

    def of_rows(self, cols: "Columns", wanted: np.ndarray) -> "SessionOrder":
        """The same order, of the sessions of rows `wanted` (a bool per index row) alone."""
        keep = np.flatnonzero(wanted[cols.session_row[self.sessions]])
        return SessionOrder(self.sessions[keep], self.keys[keep], self.limits, self.open_rows[wanted[self.open_rows]])


def read_columns(conn: sqlite3.Connection) -> Columns:
    """Read the filter columns of an index file into arrays."""
    rows = conn.execute(
        "SELECT id, x, y, z, formats, goals, substances, audiences, days, kind, approach, active,"
        " remote, open_24_7, timezone, languages, service_area, cell, monthly FROM listings ORDER BY rid"
    ).fetchall()
    n = len(rows)
    columns = list(zip(*rows)) if rows else [()] * 19
    zones = tuple(sorted(set(columns[14])))
    zone_index = {name: i for i, name in enumerate(zones)}

    def floats(i):
        return np.array([np.nan if v is None else v for v in columns[i]], dtype=np.float64)

    def ints(i):
        return np.array(columns[i], dtype=np.int64)

    def flags(text_column) -> dict:
        found: dict[str, np.ndarray] = {}
        for row, text in enumerate(text_column):
            for code in text.strip("|").split("|"):
                if code:
                    found.setdefault(code, np.zeros(n, dtype=bool))[row] = True
        return found

    # An index in format 4 has no rules: its sessions read as weekly, which bounds them less
    # tightly (monthly_raised raises nothing) and answers the same.
    rule = "monthly" if has_session_rules(conn) else "0"
    sessions = conn.execute(
        f"SELECT rid - 1, start_mow, duration, {rule} FROM sessions ORDER BY rid, start_mow"
    ).fetchall()
    session_cols = list(zip(*sessions)) if sessions else [(), (), (), ()]
    session_row = np.array(session_cols[0], dtype=np.int32)
    cell = np.array([-1 if c is None else c for c in columns[17]], dtype=np.int64)
    located = np.flatnonzero(cell >= 0)
    by_cell = located[np.lexsort((located, cell[located]))]
    formats, goals = ints(4), ints(5)
    # Sessions are sorted by row: each row's are one slice, found by count and cumulative sum.
    session_count = np.bincount(session_row, minlength=n).astype(np.int64)
    kind = np.array([vocab.KINDS.index(k) for k in columns[9]], dtype=np.int8)
    approach = np.array([vocab.APPROACHES.index(a) for a in columns[10]], dtype=np.int8)
    return Columns(
        ids=np.array(columns[0], dtype=object),
        x=floats(1), y=floats(2), z=floats(3),
        formats=formats, goals=goals, substances=ints(6), audiences=ints(7), days=ints(8),
        kind=kind, approach=approach,
        active=np.array(columns[11], dtype=bool),
        remote=np.array(columns[12], dtype=bool),
        open_24_7=np.array(columns[13], dtype=bool),
        monthly=np.array(columns[18], dtype=bool),
        zone=np.array([zone_index[z] for z in columns[14]], dtype=np.int16),
        zones=zones,
        languages=flags(columns[15]),
        areas=flags(columns[16]),
        session_row=session_row,
        session_start=np.array(session_cols[1], dtype=np.int32),
        session_length=np.array(session_cols[2], dtype=np.int32),
        session_rule=np.array(session_cols[3], dtype=np.int8),
        session_groups=np.flatnonzero(np.r_[True, session_row[1:] != session_row[:-1]])
        if len(session_row) else np.zeros(0, dtype=np.int64),
        session_zone=np.array([zone_index[columns[14][r]] for r in session_row], dtype=np.int16),
        cell_rows=by_cell,
        cell_keys=cell[by_cell],
        session_first=np.cumsum(session_count) - session_count,
        session_count=session_count,
        facet_code=facet_code(formats, goals, kind, approach),
    )


def has_session_rules(conn: sqlite3.Connection) -> bool:
    """Whether the index's sessions table holds each session's monthly rule (format 5 on)."""
    return any(row[1] == "monthly" for row in conn.execute("PRAGMA table_info(sessions)"))


# The shape of facet_code's values: every format mask, goal mask, kind and approach.
_FACET_SHAPE = (1 << len(vocab.FORMATS), 1 << len(vocab.GOALS), len(vocab.KINDS), len(vocab.APPROACHES))


def facet_code(formats: np.ndarray, goals: np.ndarray, kind: np.ndarray, approach: np.ndarray) -> np.ndarray:
    """Each row's format mask, goal mask, kind and approach as one index into _FACET_SHAPE,
    so one bincount over the selected rows counts every facet."""
    return np.ravel_multi_index((formats, goals, kind.astype(np.int64), approach.astype(np.int64)),
                                _FACET_SHAPE).astype(np.int32)


# Grid cells of 0.02 degrees (about 2 km): a city-wide box meets a few hundred of them.
CELL_DEGREES = 0.02
_CELL_LON_SPAN = 100_000


def cell_of(lat: float, lon: float) -> int:
    """The grid cell holding a point, as one integer."""
    row = math.floor((lat + 90.0) / CELL_DEGREES)
    column = math.floor((lon + 180.0) / CELL_DEGREES)
    return row * _CELL_LON_SPAN + column


def rows_in_cells(cols: "Columns", cells: np.ndarray) -> np.ndarray:
    """Every row located in one of `cells`."""
    if len(cells) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.searchsorted(cols.cell_keys, cells, side="left")
    stops = np.searchsorted(cols.cell_keys, cells, side="right")
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return cols.cell_rows[slice_positions(starts, lengths)]


def slice_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions of slices (first positions, lengths) of an array, concatenated in order
    without a Python loop: each is its slice's start plus its place within the slice."""
    first_of_slice = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum())) + np.repeat(starts - first_of_slice, lengths)


def bitmask(values, vocabulary: tuple[str, ...]) -> int:
    """Values as a bit mask over their vocabulary (bit i = vocabulary[i])."""
    return sum(1 << vocabulary.index(v) for v in set(values) if v in vocabulary)


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """A point on the unit sphere: dot products of these give great-circle angles."""
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def covered(cols: Columns, query: SearchQuery) -> np.ndarray:
    """Bool array: online/phone listings whose service area covers the searched place."""
    mask = np.zeros(cols.size, dtype=bool)
    for code in coverage_areas(query):
        if code in cols.areas:
            mask |= cols.areas[code]
    return mask & cols.remote


# Above this share of entries kept, a bool mask indexes faster as it is than as positions.
DENSE_MASK = 0.85


def kept_index(mask: np.ndarray) -> np.ndarray:
    """What a bool `mask` keeps, as the index fastest to apply to several arrays: its
    positions, or the mask itself when it keeps nearly everything (`DENSE_MASK`).

    numpy's boolean indexing decides element by element, and a mask mixing kept and dropped
    rows at random (a filter keeping a fifth to a half of a city's rows) costs it a mispredicted
    branch each: about eight times as long as finding the positions once and taking each
    array at them (2.5 against 0.3 ms for 200,000 rows, half kept, three arrays). Both
    select the same entries in the same order."""
    if mask.dtype != np.bool_ or np.count_nonzero(mask) > DENSE_MASK * len(mask):
        return mask
    return np.flatnonzero(mask)


@dataclass(frozen=True)
class Selection:
    """Rows matching a query, with what ordering needs: cosine to the place, text score."""

    rows: np.ndarray        # ascending (select keeps the order of the area's, the words' or the index's)
    cosine: np.ndarray      # NaN without a place or a location
    covered: np.ndarray     # bool: remote coverage of the place
    text: np.ndarray        # FTS5 relevance (higher is better), 0 without text
    tier: np.ndarray        # int8 ordering.audience_tier: 0 first, 1 after
    focus: np.ndarray | None = None  # bool: substances name an asked one (None: none asked)
    # `facet_table(rows)` when already known (the area's rows as they are); a subset drops it.
    facet_table: np.ndarray | None = None
    # The rows' `facet_code`s when they came cheaply (from an Area's kept columns), else None.
    facet_codes: np.ndarray | None = None

    def subset(self, keep: np.ndarray, counted: bool = True) -> "Selection":
        """The selection restricted by a boolean mask or positions; without its facet codes
        unless `counted` (ordering a tier reads none)."""
        keep = kept_index(keep)
        focus = None if self.focus is None else self.focus[keep]
        codes = None if self.facet_codes is None or not counted else self.facet_codes[keep]
        return Selection(self.rows[keep], self.cosine[keep], self.covered[keep], self.text[keep], self.tier[keep],
                         focus, facet_codes=codes)

    def facets(self, cols: Columns) -> dict:
        """`facets` of the selected rows, from what the selection already holds of them."""
        if self.facet_table is None and self.facet_codes is not None:
            return facets(cols, self.rows, _facet_table_of(self.facet_codes))
        return facets(cols, self.rows, self.facet_table)


def index_column(cols: Columns, cover: np.ndarray, name: str) -> np.ndarray:
    """The index column `name` over every row; "cover": the place's remote coverage."""
    return cover if name == "cover" else getattr(cols, name)


def tiers(cols: Columns, rows: np.ndarray, query: SearchQuery) -> np.ndarray:
    """ordering.audience_tier for rows the audience filter kept: 0 when their audiences meet
    the wanted ones (the query's, else "everyone"), else 1."""
    return _tiers_of(lambda name: getattr(cols, name)[rows], query)


def _tiers_of(column, query: SearchQuery) -> np.ndarray:
    """`tiers` of the rows whose values of an index column `column(name)` gives."""
    if not query.audiences:
        return column("tier_without_audiences")
    return _tiers(column("audiences"), query.audiences)


def _tiers(audiences: np.ndarray, asked: tuple[str, ...]) -> np.ndarray:
    """`tiers` of rows with these audience masks, for a search asking `asked` audiences."""
    wanted = bitmask(asked or ("everyone",), vocab.AUDIENCES)
    return ((audiences & wanted) == 0).astype(np.int8)


@dataclass(frozen=True)
class Scope:
    """What a filter's mask is computed over: the candidate rows, with the place's cosine and
    remote coverage already worked out (ordering needs them too)."""

    cols: Columns
    rows: np.ndarray
    query: SearchQuery
    cosine: np.ndarray | None  # per candidate row; NaN without a location; None without a place
    cover: np.ndarray       # per index row: remote coverage of the place
    # name -> the candidate rows' values of that column, kept by an Area for its kept rows.
    kept_column: Callable[[str], np.ndarray] | None = None

    def column(self, name: str) -> np.ndarray:
        """The candidate rows' values of the index column `name` ("cover": of `cover`)."""
        if self.kept_column is not None:
            return self.kept_column(name)
        return index_column(self.cols, self.cover, name)[self.rows]


# Filter rules whose masks depend on nothing but the index and the area (the place, the
# radius and the service areas covering the place): an Area applies them once, for every
# search near its place without words.
AREA_RULES = (filters.IS_TRUE, filters.REACH)


class Area:
    """Where a search near a place starts: the rows located in the grid cells its circle's
    box meets, and the remote rows covering it. Read-only: searches share it."""

    def __init__(self, cols: Columns, query: SearchQuery, cover: np.ndarray, wanted: np.ndarray):
        self.cols = cols
        self.query = area_query(query)
        self.place = unit_vector(query.place.lat, query.place.lon)
        self.cover = cover    # bool per index row: online or phone listings covering the place
        self.wanted = wanted  # bool per index row: covering, or located in one of those cells
        for array in (cover, wanted):
            array.flags.writeable = False
        self._kept_columns: dict[str, np.ndarray] = {}

    @functools.cached_property
    def rows(self) -> np.ndarray:
        """The wanted rows, ascending (found when first asked: a text search needs only the mask)."""
        rows = np.flatnonzero(self.wanted)
        rows.flags.writeable = False
        return rows

    @functools.cached_property
    def kept(self) -> tuple[np.ndarray, np.ndarray]:
        """The wanted rows that pass every AREA_RULES filter (active, within reach), ascending,
        and their `place_cosine`s; found when first asked, as `rows` is."""
        # Gathering a city's coordinates from the whole index and testing them against the
        # radius was over a quarter of a search at 1,000,000 listings, the same every time.
        scope = Scope(self.cols, self.rows, self.query, place_cosine(self.cols, self.rows, self.place), self.cover)
        keep = apply_filters(scope, lambda rule: rule in AREA_RULES)
        rows, cosine = (scope.rows, scope.cosine) if keep is None else (scope.rows[keep], scope.cosine[keep])
        for array in (rows, cosine):
            array.flags.writeable = False
        return rows, cosine

    def kept_column(self, name: str) -> np.ndarray:
        """The `kept` rows' values of the index column `name` ("cover": of `cover`), gathered
        when first asked and kept. Gathering a city's rows from the whole index (a few hundred
        microseconds a column at 1,000,000 listings) was most of what a filter, the tiers and
        the facets cost each search near the place; read in order, a kept copy costs a third."""
        found = self._kept_columns.get(name)
        if found is None:
            found = index_column(self.cols, self.cover, name)[self.kept[0]]
            found.flags.writeable = False
            self._kept_columns[name] = found  # two threads may both gather it: the same array
        return found

    @functools.cached_property
    def sessions_by_start(self) -> SessionOrder:
        """The sessions of the `kept` rows, in `SessionOrder`: a soonest search near the place
        reads those running or starting soon (soonest_candidates) without the rest of the index's."""
        wanted = np.zeros(self.cols.size, dtype=bool)
        wanted[self.kept[0]] = True
        return self.cols.sessions_by_start.of_rows(self.cols, wanted)

    @functools.cached_property
    def kept_facet_table(self) -> np.ndarray:
        """`facet_table` of the `kept` rows: the facets of every search near the place that
        asks nothing else (two in five of them)."""
        table = facet_table(self.cols, self.kept[0])
        table.flags.writeable = False
        return table


# AREA_RULES read no time: every area's query has this moment, not its first search's.
_AREA_MOMENT = datetime(1970, 1, 1, tzinfo=timezone.utc)


def area_query(query: SearchQuery) -> SearchQuery:
    """Of a search, only what AREA_RULES read (the same for every search with one area's key,
    backend._area), for an Area to keep: the place as a bare point with the state and
    country its coverage reads, never the words typed for it (nor `q`, nor other filters)."""
    reads = {name: getattr(query, name) for spec in filters.FILTERS if spec.rule in AREA_RULES for name in spec.reads}
    place = query.place
    reads["place"] = Place(query="", name="", lat=place.lat, lon=place.lon, state=place.state, country=place.country)
    return SearchQuery(at=_AREA_MOMENT, **reads)


def place_area(cols: Columns, query: SearchQuery, box_rows: np.ndarray) -> Area:
    """The Area of `query.place` (its radius and coverage), from `box_rows` (the R*Tree's)."""
    cover = covered(cols, query)
    # A mask rather than a set union: linear, and rows come out in order.
    wanted = cover.copy()
    wanted[box_rows] = True
    return Area(cols, query, cover, wanted)


def place_cosine(cols: Columns, rows: np.ndarray, place: tuple[float, float, float]) -> np.ndarray:
    """Cosine of the great-circle angle from the place (its unit vector) to each row's
    location; NaN for rows without one."""
    px, py, pz = place
    return cols.x[rows] * px + cols.y[rows] * py + cols.z[rows] * pz


def select(cols: Columns, query: SearchQuery, area: Area | None,
           text_rows: np.ndarray | None, text_scores: np.ndarray | None) -> Selection:
    """Apply filters.FILTERS to the candidates: the place's `area` (None: no place), the
    rows matching the words (`text_rows` from FTS5; None: no words)."""
    if area is not None:
        cover, wanted = area.cover, area.wanted
    else:
        cover = np.zeros(cols.size, dtype=bool)
        wanted = None
    settled = ()  # rules the candidate rows already pass
    kept_column = None
    if text_rows is not None:
        rows, text = rows_with_words(wanted, text_rows, text_scores)
        cosine = np.full(len(rows), np.nan) if area is None else place_cosine(cols, rows, area.place)
    elif area is not None:
        (rows, cosine), settled = area.kept, AREA_RULES
        text = None  # no words: zeros, made for the rows the filters keep
        kept_column = area.kept_column
    else:
        rows = np.arange(cols.size, dtype=np.int64)
        text = cosine = None  # no words, no place: zeros and NaN, made for the rows kept
    scope = Scope(cols, rows, query, cosine, cover, kept_column)
    keep = apply_filters(scope, lambda rule: rule not in settled)
    table = None
    if keep is not None:
        rows = rows[keep]
        cosine = None if cosine is None else cosine[keep]
        text = None if text is None else text[keep]
    elif settled:
        table = area.kept_facet_table  # the area's kept rows, as they are
    if text is None:
        text = np.zeros(len(rows))
    if cosine is None:
        cosine = np.full(len(rows), np.nan)

    def column(name: str) -> np.ndarray:
        """The selected rows' values of an index column."""
        if kept_column is None:
            return index_column(cols, cover, name)[rows]
        values = kept_column(name)
        return values if keep is None else values[keep]

    focus = ordering.focus_substances(query)
    specific = (column("substances") & bitmask(focus, vocab.SUBSTANCES)) != 0 if focus else None
    codes = column("facet_code") if kept_column is not None and table is None else None
    return Selection(rows, cosine, column("cover"), text, _tiers_of(column, query), specific, table, codes)


def apply_filters(scope: Scope, applies) -> np.ndarray | None:
    """What passes every filter of filters.FILTERS whose rule `applies(rule)` and that the
    query asks, as the candidate rows' `kept_index`; None when no such filter is asked
    (every row passes, and nothing need be copied)."""
    keep = None
    for spec in filters.FILTERS:
        if applies(spec.rule):
            mask = MASKS[spec.rule](spec, scope)
            if mask is not None:
                keep = mask if keep is None else keep & mask
    return None if keep is None else kept_index(keep)


def rows_with_words(wanted: np.ndarray | None, text_rows: np.ndarray,
                    text_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows matching the words that `wanted` (a bool per index row; None: every row)
    keeps, ascending, and their text scores (one per row of `text_rows`).

    `text_rows` is ascending and duplicate-free (FTS5 rowids), so looking each one up in the
    mask keeps both arrays in step: no sort and no binary search, and nothing the size of
    the index but the mask itself (a common word matches a fifth of the directory)."""
    if wanted is None:
        return text_rows, text_scores
    kept = kept_index(wanted[text_rows])
    return text_rows[kept], text_scores[kept]


def _is_true(spec: Filter, scope: Scope) -> np.ndarray:
    return scope.column(spec.field)


def _any_of(spec: Filter, scope: Scope) -> np.ndarray | None:
    values = spec.asked(scope.query)
    if not values:
        return None
    column = getattr(scope.cols, spec.field)
    if spec.vocabulary is None:
        # An open vocabulary (languages) is read as one bool array per value present.
        found = np.zeros(len(scope.rows), dtype=bool)
        for value in values:
            if value in column:
                found |= column[value][scope.rows]
        return found
    return (scope.column(spec.field) & bitmask(values, spec.vocabulary)) != 0


def _one_of(spec: Filter, scope: Scope) -> np.ndarray | None:
    values = spec.asked(scope.query)
    if not values:
        return None
    return np.isin(scope.column(spec.field), [spec.vocabulary.index(v) for v in values])


def _in_time(spec: Filter, scope: Scope) -> np.ndarray | None:
    return in_time(scope.cols, scope.query)[scope.rows] if scope.query.times else None


def _reach(spec: Filter, scope: Scope) -> np.ndarray | None:
    if scope.query.place is None:
        return None
    # NaN (no location) compares False, as it should.
    near = scope.cosine >= math.cos(scope.query.radius_km / geo.EARTH_RADIUS_KM)
    return near | scope.cover[scope.rows]


# One compiler per filters.RULES entry: (filter, scope) -> bool per candidate row, or None
# when the query does not ask it.
MASKS = {
    filters.IS_TRUE: _is_true,
    filters.ANY_OF: _any_of,
    filters.ONE_OF: _one_of,
    filters.TIME: _in_time,
    filters.REACH: _reach,
}


def in_time(cols: Columns, query: SearchQuery) -> np.ndarray:
    """Bool per row: time_of_day.session_in_windows for some session (24/7 rows always), in bulk."""
    week = schedule.MINUTES_PER_WEEK
    found = cols.open_24_7.copy()
    if not len(cols.session_row):
        return found
    shifts = zone_shifts(query, cols.zones)
    shift_by_zone = np.array([shifts[z] for z in cols.zones], dtype=np.int64)
    start = (cols.session_start.astype(np.int64) + shift_by_zone[cols.session_zone]) % week
    end = start + cols.session_length
    hours = cols.kind[cols.session_row] != vocab.KINDS.index("group")
    hit = np.zeros(len(start), dtype=bool)
    for lo, hi in time_windows(query):
        starts_in = (start >= lo) & (start < hi)
        # Open past the end of the week reaches into next Monday's windows too.
        open_in = ((start < hi) & (end > lo)) | (end > lo + week)
        hit |= np.where(hours, open_in, starts_in)
    found[cols.session_row[kept_index(hit)]] = True
    return found


def facet_table(cols: Columns, rows: np.ndarray) -> np.ndarray:
    """How many of the rows have each (format mask, goal mask, kind, approach), as an array
    of _FACET_SHAPE: one pass over the rows, which `facets` then sums."""
    return _facet_table_of(cols.facet_code[rows])


def _facet_table_of(codes: np.ndarray) -> np.ndarray:
    """facet_table of rows with these `facet_code`s."""
    return np.bincount(codes, minlength=math.prod(_FACET_SHAPE)).reshape(_FACET_SHAPE)


def facets(cols: Columns, rows: np.ndarray, table: np.ndarray | None = None) -> dict:
    """Counts by format, goal, kind and approach over the selected rows (from their
    `facet_table` when it is given)."""
    result = empty_facets()
    if table is None:
        table = facet_table(cols, rows)
    by_format_mask = table.sum(axis=(1, 2, 3))
    by_goal_mask = table.sum(axis=(0, 2, 3))
    # A value counts every row whose mask holds its bit.
    for name, by_mask, vocabulary in (("format", by_format_mask, vocab.FORMATS), ("goal", by_goal_mask, vocab.GOALS)):
        counts = _mask_bits(len(vocabulary)).T @ by_mask
        for i, value in enumerate(vocabulary):
            result[name][value] = int(counts[i])
    for name, counts, vocabulary in (("kind", table.sum(axis=(0, 1, 3)), vocab.KINDS),
                                     ("approach", table.sum(axis=(0, 1, 2)), vocab.APPROACHES)):
        for i, value in enumerate(vocabulary):
            result[name][value] = int(counts[i])
    return result


@functools.lru_cache(maxsize=8)
def _mask_bits(width: int) -> np.ndarray:
    """int64 matrix: [mask, i] is 1 when bit i is set in mask, for every mask of `width` bits."""
    masks = np.arange(1 << width, dtype=np.int64)
    return ((masks[:, None] >> np.arange(width)) & 1).astype(np.int64)


def _distance_km(cosine: np.ndarray) -> np.ndarray:
    return geo.EARTH_RADIUS_KM * np.arccos(np.clip(cosine, -1.0, 1.0))


def best_scores(selection: Selection, query: SearchQuery) -> np.ndarray:
    """ordering.best_score for every selected row, vectorised (online counts as remote_equivalent_km),
    times ordering.focus_weight where the selection's `focus` is set."""
    if query.place is not None:
        distance = _distance_km(selection.cosine)
        remote = ordering.RANKING["remote_equivalent_km"]
        distance = np.where(selection.covered, np.fmin(distance, remote), distance)
        distance = np.where(np.isnan(distance), math.inf, distance)
        scale = ordering.RANKING["distance_scale_km"]
        sigma_sq = -(scale**2) / (2 * math.log(ordering.RANKING["distance_decay"]))
        excess = np.maximum(0.0, distance - ordering.RANKING["distance_offset_km"])
        nearness = np.exp(-(excess**2) / (2 * sigma_sq))
    else:
        nearness = np.ones(len(selection.rows))
    text = selection.text
    weight = np.where(text > 0, 1.0 + ordering.RANKING["text_weight"] * text / (text + 1.0), 1.0)
    if selection.focus is not None:
        weight = weight * np.where(selection.focus, 1.0 + ordering.RANKING["focus_weight"], 1.0)
    return np.round(nearness * weight, 9)


def order(selection: Selection, query: SearchQuery, needed: int) -> np.ndarray:
    """Positions (into the selection) of the first `needed` rows in best or distance order.

    Same keys as ordering.order_key: the audience tier first, then best = score desc,
    distance asc, row; distance = distance asc, row. A later tier is ordered only as far
    as the earlier ones leave places.
    """
    found: list[np.ndarray] = []
    for tier in (0, 1):
        if needed <= 0:
            break
        positions = np.flatnonzero(selection.tier == tier)
        if len(positions):
            if not _by_distance(query):
                # Narrowed (while that narrows further) before the tier's rows are copied: a
                # city's rows, of which a few hundred can reach the first places.
                while (reach := _within_reach(selection, query, needed, positions)) is not None:
                    positions = reach
            found.append(_order_tier(selection, positions, query, needed))
            needed -= len(found[-1])
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _order_tier(selection: Selection, positions: np.ndarray, query: SearchQuery, needed: int) -> np.ndarray:
    """order() within one tier, the selection's `positions` (already narrowed to the rows in
    reach): the first `needed` of them, as positions. Only rows whose primary key can reach
    those places are fully sorted, and only what a key needs is taken at `positions`: by
    distance, the cosines alone (copying a city's every column for it was a fifth of a
    distance search at 1,000,000 listings)."""
    nearness_key = -np.fmax(selection.cosine[positions], -2.0)  # fmax turns NaN into -2.0; smaller is nearer; no location last
    if _by_distance(query):
        primary = nearness_key
        scored = False
    elif query.place is not None or query.text or ordering.focus_substances(query):
        primary = -best_scores(selection.subset(positions, counted=False), query)
        scored = True
    else:
        return positions[np.argsort(selection.rows[positions], kind="stable")[:needed]]
    if needed < len(positions):
        # Everything strictly better than the needed-th primary key, plus its ties.
        threshold = np.partition(primary, needed - 1)[needed - 1]
        candidates = np.flatnonzero(primary <= threshold)
    else:
        candidates = np.arange(len(positions))
    chosen = positions[candidates]
    keys = (selection.rows[chosen], nearness_key[candidates]) + ((primary[candidates],) if scored else ())
    return chosen[np.lexsort(keys)][:needed]


def soonest_order(selection: Selection, ranks: np.ndarray, needed: int) -> np.ndarray:
    """Positions (into the selection) of the first `needed` rows in soonest order: audience
    tier, then `ranks` (ordering.soonest_minutes; inf when unscheduled), then row. The same
    as a lexsort of them all, but only rows that can reach the first `needed` places are
    sorted (a wide search selects a hundred thousand rows and shows twenty)."""
    found: list[np.ndarray] = []
    for tier in (0, 1):
        if needed <= 0:
            break
        positions = np.flatnonzero(selection.tier == tier)
        if needed < len(positions):
            # Everything strictly sooner than the needed-th rank, plus its ties.
            tier_ranks = ranks[positions]
            positions = positions[kept_index(tier_ranks <= np.partition(tier_ranks, needed - 1)[needed - 1])]
        ranked = positions[np.lexsort((selection.rows[positions], ranks[positions]))][:needed]
        found.append(ranked)
        needed -= len(ranked)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def unsettled(tier: np.ndarray, exact: np.ndarray, ranks: np.ndarray, rank_bounds: np.ndarray,
              needed: int) -> np.ndarray:
    """Bool per row: its rank is not exact (`ranks` holds inf there) and its bound could still
    take one of the first `needed` places of its audience tier (ordered by tier, rank, row).

    Rows in earlier tiers all come first; within its tier an unsettled row whose bound (which
    allows for a clock change) passes the tier's kth exact rank cannot reach those places."""
    todo = np.zeros(len(ranks), dtype=bool)
    earlier = 0  # rows in earlier tiers
    for level in (0, 1):
        in_tier = tier == level
        wanted = needed - earlier
        earlier += int(np.count_nonzero(in_tier))
        if wanted <= 0:
            break
        known = ranks[kept_index(exact & in_tier)]
        kth = np.partition(known, wanted - 1)[wanted - 1] if len(known) >= wanted else np.inf
        todo |= in_tier & ~exact & (rank_bounds <= kth)
    return todo


def _by_distance(query: SearchQuery) -> bool:
    """Ordered by distance alone (else by best score: ordering.order_key)."""
    return query.sort == "distance" and query.place is not None


def _within_reach(selection: Selection, query: SearchQuery, needed: int,
                  positions: np.ndarray) -> np.ndarray | None:
    """Those of the selection's `positions` (one tier's) that can reach the first `needed`
    places of a best-order tier with a place and nothing but distance in the score (no
    words, no asked substance), or None when that cannot narrow them (then every one is
    scored).

    Scoring every row (an arccos and an exp each) was most of a wide search's ordering.
    But the `needed` nearest rows score at least the lowest score among them, `floor`, so
    the first `needed` places all score at least `floor`; nearness falls with distance, so
    only rows within `_reach_km(floor)` of the place can, and covered remote rows (scored
    as if `remote_equivalent_km` away) when that is within it too. Those rows are ordered
    exactly as before; no other row can be among them, ties included.
    """
    if query.place is None or query.text or selection.focus is not None or needed >= len(positions):
        return None
    cosine = selection.cosine[positions]
    kth = np.partition(-cosine, needed - 1)[needed - 1]  # NaN (no location) partitions last
    if math.isnan(kth):
        return None  # fewer than `needed` located rows
    floor = float(best_scores(selection.subset(positions[-cosine <= kth], counted=False), query).min())
    reach_km = _reach_km(floor)
    if not math.isfinite(reach_km):
        return None
    within = cosine >= math.cos(min(math.pi, reach_km / geo.EARTH_RADIUS_KM))  # NaN: False
    if ordering.RANKING["remote_equivalent_km"] <= reach_km:
        within |= selection.covered[positions]
    reached = np.flatnonzero(within)
    return positions[reached] if len(reached) < len(positions) else None


def _reach_km(floor: float) -> float:
    """A distance beyond which no row's score (best_scores: nearness rounded to nine places)
    reaches `floor`, with room to spare for rounding; inf when a score of 0 could."""
    lowest = floor - 1e-9  # below anything that rounds to `floor`
    if lowest <= 0.0:
        return math.inf
    scale = ordering.RANKING["distance_scale_km"]
    sigma_sq = -(scale**2) / (2 * math.log(ordering.RANKING["distance_decay"]))
    # nearness(d) = exp(-(d - offset)^2 / (2 sigma^2)) >= lowest  <=>  d <= offset + sqrt(...)
    reach = ordering.RANKING["distance_offset_km"] + math.sqrt(-2 * sigma_sq * math.log(lowest))
    return reach * (1 + 1e-9) + 1e-6  # the cosine's own rounding is far smaller


@dataclass(frozen=True)
class _Clock:
    """A search's moment as each zone of the index reads it, for session bounds in bulk."""

    now: np.ndarray       # int32 per zone: the local minute of the week, whole
    micro: int            # microseconds of `at` past its whole minute, the same in every zone
    fraction: float       # the same as a fraction of a minute
    slack: np.ndarray     # float per zone: schedule.offset_shift_minutes (0 in most weeks)
    shifting: bool        # some zone's clocks change this week
    monday: np.ndarray    # int64 per zone: the day (since 1970-01-01) of the local week's Monday


def _clock(cols: Columns, query: SearchQuery) -> _Clock:
    return _zone_clock(cols.zones, query.at)


# Searches within a minute share their moment (a whole minute unless pinned), and each zone's
# reading of it is a few zoneinfo calls: an index with a few dozen zones made it a tenth of a
# soonest search. The answer depends on nothing else, and is never written to.
@functools.lru_cache(maxsize=64)
def _zone_clock(zones: tuple[str, ...], at: datetime) -> _Clock:
    nows = [schedule.local_minute_of_week(at, z) for z in zones] or [0.0]
    slack = np.array([schedule.offset_shift_minutes(at, z) for z in zones] or [0.0])
    slack.flags.writeable = False
    mondays = [(local := at.astimezone(schedule.zone(z)).date()).toordinal() - local.weekday() - _EPOCH_DAY
               for z in zones] or [0]
    utc = at.astimezone(timezone.utc)
    micro = utc.second * 1_000_000 + utc.microsecond
    return _Clock(now=np.array([math.floor(n) for n in nows], dtype=np.int32), micro=micro, fraction=micro / 60e6,
                  slack=slack, shifting=bool(slack.any()), monday=np.array(mondays, dtype=np.int64))


# date.toordinal() of 1970-01-01: numpy's datetime64 days count from it.
_EPOCH_DAY = 719_163


def _session_bounds(cols: Columns, sessions: np.ndarray, clock: _Clock,
                    ranks: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Per session (indexes into the session columns): the lower bound on minutes to its next
    start (schedule.session_lower_bound) and, when `ranks`, on its soonest rank."""
    week = schedule.MINUTES_PER_WEEK
    session_zone = cols.session_zone[sessions]
    session_length = cols.session_length[sessions]
    # (now - start) mod week, for both in [0, week): one week added where negative, which
    # is the same integers at well under half the cost of numpy's integer modulo.
    whole = clock.now[session_zone] - cols.session_start[sessions]
    whole += week * (whole < 0)
    since = whole + clock.fraction
    # Most weeks no zone's clocks change: then there is no slack to add (x - 0.0 is x).
    slack = clock.slack[session_zone] if clock.shifting else 0.0
    running = since < session_length + slack
    if clock.micro:
        # Reckoned as timedelta.total_seconds() / 60 reckons it (whole microseconds, then
        # seconds, then minutes), so that a bound that is exact equals the minutes zoneinfo
        # gives to the last bit: two listings starting at one instant then tie, and go by row.
        until = np.where(running, 0, week * 60_000_000) - whole.astype(np.int64) * 60_000_000 - clock.micro
        bound = until / 1e6 / 60.0 - slack
    else:
        bound = np.where(running, -since, week - since) - slack
    if not ranks:
        return bound, None
    ending = running & (since > 0) & (session_length - since < ordering.RANKING["ending_soon_minutes"])
    if clock.shifting:
        ending &= slack == 0
    return bound, np.where(ending, ordering.RANKING["ending_soon_ranks_as_minutes"], bound)


def lower_bounds(cols: Columns, rows: np.ndarray, query: SearchQuery, starts: bool = True,
                 ranks: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per selected row, lower bounds on minutes to its next start (schedule.session_lower_bound,
    in bulk) and on its soonest rank (ordering.soonest_minutes); None for either not asked
    (`starts`, `ranks`): each costs a pass over every selected row's sessions.

    The rank applies ordering.occurrence_minutes (a session nearly over ranks later) in zones
    whose clocks do not change this week, where the wall clock is exact; elsewhere it is the
    start bound, still a bound on the rank, which is never below the start. 24/7 listings
    get 0; listings without sessions get +inf. Whole minutes are integer arithmetic; the
    seconds of `at`, the same in every zone, are applied once at the end.
    """
    bound_by_row = np.full(len(rows), np.inf)
    rank_by_row = np.full(len(rows), np.inf)
    # Only the selected rows' sessions: each row's are one slice of the session columns.
    counts = cols.session_count[rows] if len(cols.session_row) else np.zeros(len(rows), dtype=np.int64)
    scheduled = kept_index(counts > 0)
    counts = counts[scheduled]
    total = int(counts.sum())
    if total:
        segments = np.cumsum(counts) - counts  # each scheduled row's first position below
        sessions = slice_positions(cols.session_first[rows[scheduled]], counts)
        bound, rank = _session_bounds(cols, sessions, _clock(cols, query), ranks=ranks)
        # Each row's sessions are one reduceat segment.
        if starts:
            bound_by_row[scheduled] = np.minimum.reduceat(bound, segments)
        if ranks:
            rank_by_row[scheduled] = np.minimum.reduceat(rank, segments)
    open_24_7 = cols.open_24_7[rows]
    bound_by_row[open_24_7] = 0.0
    rank_by_row[open_24_7] = 0.0
    return (bound_by_row if starts else None), (rank_by_row if ranks else None)


# Room a raised bound (monthly_raised) leaves for the zone's clocks to change before a monthly
# session's next occurrence, weeks ahead: two days, more than any change a zone has made
# (Samoa skipped a whole day in 2011).
_MONTHLY_MARGIN_MINUTES = 2 * 24 * 60
# Weekly turns looked at for a monthly session's next day: each rule comes round within five.
_MONTHLY_TURNS = 6
_LAST = vocab.MONTHLY_RULES.index("last") + 1


def monthly_raised(cols: Columns, rows: np.ndarray, exact: np.ndarray, query: SearchQuery,
                   bounds: np.ndarray, rank_bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`bounds` and `rank_bounds` (lower_bounds' over `rows`; `exact` as bound_is_exact),
    raised where a row's monthly session does not meet on the day the weekly reckoning
    gives it: a "first Monday" session on the third Monday is weeks away, not minutes.

    The weekly bound of a monthly session is its weekday's next turn (or the one running),
    so a search at 18:30 on a Wednesday finds every Wednesday-evening monthly meeting
    possibly on now, and zoneinfo had to settle each (hundreds a search at 1,000,000
    listings, most not meeting that week). Here each monthly session's next turn whose day
    keeps its rule (schedule.matches_monthly_rule) is found in bulk; a later turn than the
    weekly one bounds the session at that turn's wall-clock distance less
    `_MONTHLY_MARGIN_MINUTES`. Still a bound (the rows stay inexact), only a tighter one.
    Arrays come back as given when no row has a monthly session; `bounds` may be
    `rank_bounds` (one standing in for the other), and is raised as a start bound then.
    """
    inexact = np.flatnonzero(~exact)
    monthly = inexact[cols.monthly[rows[inexact]]]
    if not len(monthly):
        return bounds, rank_bounds
    counts = cols.session_count[rows[monthly]]
    sessions = slice_positions(cols.session_first[rows[monthly]], counts)
    clock = _clock(cols, query)
    start, rank = _session_bounds(cols, sessions, clock)
    rule = cols.session_rule[sessions]
    ruled = np.flatnonzero(rule)
    zone = cols.session_zone[sessions[ruled]]
    slack = clock.slack[zone] if clock.shifting else 0.0
    # The weekly turn's start on the wall clock, in minutes from the zone's local Monday
    # 00:00 (negative: last week): the moment plus the bound, its slack given back.
    turn = np.rint(clock.now[zone] + clock.fraction + start[ruled] + slack).astype(np.int64)
    days = (clock.monday[zone] + turn // (24 * 60))[:, None] + 7 * np.arange(_MONTHLY_TURNS)
    first = _rule_holds(days, rule[ruled][:, None]).argmax(axis=1)  # the first turn that meets
    later = first > 0
    raised = (start[ruled] + slack + 7 * 24 * 60 * first - _MONTHLY_MARGIN_MINUTES)[later]
    where = ruled[later]
    start[where] = np.maximum(start[where], raised)
    rank[where] = np.maximum(rank[where], raised)
    segments = np.cumsum(counts) - counts
    new_bounds = bounds.copy()
    new_bounds[monthly] = np.maximum(bounds[monthly], np.minimum.reduceat(start, segments))
    if rank_bounds is bounds:
        return new_bounds, new_bounds
    new_ranks = rank_bounds.copy()
    new_ranks[monthly] = np.maximum(rank_bounds[monthly], np.minimum.reduceat(rank, segments))
    return new_bounds, new_ranks


def _rule_holds(days: np.ndarray, rule: np.ndarray) -> np.ndarray:
    """schedule.matches_monthly_rule of each day (days since 1970-01-01) for its rule
    (vocab.MONTHLY_RULES, counted from 1), in bulk."""
    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    nth = (day - month.astype("datetime64[D]")).astype(np.int64) // 7 + 1
    last = (day + 7).astype("datetime64[M]") != month
    return np.where(rule == _LAST, last, nth == rule)


def bound_is_exact(cols: Columns, rows: np.ndarray, query: SearchQuery) -> np.ndarray:
    """Rows whose lower bound is their exact minutes-to-next-start.

    True for 24/7 and unscheduled listings, and for weekly sessions in a zone whose clocks
    do not change in the coming week; monthly sessions and changeover weeks need zoneinfo.
    """
    steady = _clock(cols, query).slack == 0
    exact = ~cols.monthly[rows]
    if not steady.all():  # most weeks every zone is steady, and looking each row's up is a gather
        exact &= steady[cols.zone[rows]]
    return exact | cols.open_24_7[rows]


# A session's length is at most a day: (zone, start, length) as one number.
_LENGTHS = 24 * 60 + 1


def exact_waits(cols: Columns, rows: np.ndarray, at: datetime,
                ranks: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Per row (none open 24/7 or with a monthly session), its exact minutes to its next start
    (schedule.minutes_until) and, when `ranks`, its soonest rank (ordering.soonest_minutes),
    from zoneinfo; inf where it has none ahead. For the rows bound_is_exact leaves inexact.

    A row's next start is the earliest of its sessions' next starts, and its rank the least
    of its sessions' own ranks (every occurrence running now and the next to start are among
    each session's first two). So zoneinfo walks the calendar once per distinct session
    (zone, local start, length) rather than once per listing: in a week when a zone's clocks
    change, its thousands of listings share a few hundred sessions, and no listing is read.
    """
    week = schedule.MINUTES_PER_WEEK
    waits = np.full(len(rows), np.inf)
    rank_by_row = np.full(len(rows), np.inf) if ranks else None
    counts = cols.session_count[rows] if len(cols.session_row) else np.zeros(len(rows), dtype=np.int64)
    scheduled = kept_index(counts > 0)
    counts = counts[scheduled]
    if not len(counts):
        return waits, rank_by_row
    sessions = slice_positions(cols.session_first[rows[scheduled]], counts)
    keys = ((cols.session_zone[sessions].astype(np.int64) * week + cols.session_start[sessions]) * _LENGTHS
            + cols.session_length[sessions])
    distinct, each = np.unique(keys, return_inverse=True)
    wait_of = np.empty(len(distinct))
    rank_of = np.empty(len(distinct))
    for position, key in enumerate(distinct.tolist()):
        zone_index, start, length = key // (week * _LENGTHS), key // _LENGTHS % week, key % _LENGTHS
        day_start = start % (24 * 60)
        timetable = (Session(vocab.WEEKDAYS[start // (24 * 60)], schedule.hhmm(day_start),
                             schedule.hhmm((day_start + length) % (24 * 60))),)
        zone_name = cols.zones[zone_index]
        wait = schedule.timetable_minutes_until(zone_name, timetable, at)
        wait_of[position] = math.inf if wait is None else wait
        if ranks:
            rank = ordering.timetable_soonest_minutes(zone_name, timetable, at)
            rank_of[position] = math.inf if rank is None else rank
    segments = np.cumsum(counts) - counts  # each row's first position among `sessions`
    waits[scheduled] = np.minimum.reduceat(wait_of[each], segments)
    if ranks:
        rank_by_row[scheduled] = np.minimum.reduceat(rank_of[each], segments)
    return waits, rank_by_row


def gather_slices(by_start: SessionOrder, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sessions of `by_start` in the slices (first positions, lengths), in order."""
    return by_start.sessions[slice_positions(starts, lengths)]


def window_slices(by_start: SessionOrder, clock: _Clock, horizon: float,
                  after: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where in `by_start` (the first positions and lengths of slices) are every session that
    may be running at the clock's moment with a rank bound within `horizon` minutes of it
    (negative: one begun at least that long ago) or may start within it, and some others: in
    each zone and length class, those whose local start is from the class's longest length
    (and the zone's slack, and a minute) before the moment to `horizon` (and as much) after
    it. A slice or two each (two where the window wraps the week), none where it is empty.

    `after`: only the sessions not already in the window of that (smaller) horizon."""
    week = schedule.MINUTES_PER_WEEK
    limits, keys = by_start.limits, by_start.keys
    margin = np.ceil(clock.slack).astype(np.int64) + 1
    now = clock.now.astype(np.int64)
    # One entry per zone and class: the window's first and last local minute, unwrapped (a
    # week at most: each start once).
    first = ((now - margin)[:, None] - limits[None, :]).ravel()
    last = np.minimum(np.repeat(now + margin + math.ceil(horizon), len(limits)), first + week - 1)
    if after is not None:
        first = np.maximum(first, np.repeat(now + margin + math.ceil(after), len(limits)) + 1)
    # Empty: a horizon further back than the class's longest length, or nothing past `after`.
    empty = last < first
    base = np.arange(len(now) * len(limits), dtype=np.int64) * week
    low, high = first % week, last % week
    wraps = ~empty & (low > high)  # [low, week) and [0, high]
    lows = np.concatenate([low, np.zeros(int(wraps.sum()), dtype=np.int64)])
    highs = np.concatenate([np.where(wraps, week - 1, high), high[wraps]])
    bases = np.concatenate([base, base[wraps]])
    # In the keys' own type: numpy would otherwise copy the keys to compare them.
    starts = np.searchsorted(keys, (bases + lows).astype(keys.dtype), side="left")
    stops = np.searchsorted(keys, (bases + highs).astype(keys.dtype), side="right")
    return starts, np.where(np.concatenate([empty, empty[wraps]]), 0, stops - starts)


@dataclass(frozen=True)
class SoonestCandidates:
    """What a soonest search without time filters orders (soonest_candidates): some selected
    rows, at least the `needed` first in soonest order, and their rank bounds."""

    positions: np.ndarray    # into the selection
    rank_bounds: np.ndarray  # lower bounds on ordering.soonest_minutes (lower_bounds' ranks)
    exact: np.ndarray        # bool: the bound is the rank (bound_is_exact)


# The horizons soonest_candidates tries in turn, in minutes from the moment (negative: sessions
# begun at least that long ago, which rank first): most searches settle by 0 or 30.
_HORIZONS = (-480.0, -120.0, -30.0, 0.0, 30.0, 120.0, 480.0, 960.0, 1920.0)
# A window of up to this many sessions is read without weighing it against the selected rows'.
_SMALL_WINDOW = 4096
# Fewer selected rows than this are quicker to bound one and all (lower_bounds) than through
# horizons: a selective search at 10,000 listings took three times as long through them.
FEW_ROWS = 2048


def soonest_candidates(cols: Columns, selection: Selection, query: SearchQuery, needed: int,
                       by_start: SessionOrder) -> SoonestCandidates | None:
    """The selected rows that may be among the first `needed` of `query` in soonest order (a
    search without time filters), found from the sessions running or starting soon rather
    than every selected row's; `by_start` holds at least the selected rows' sessions and
    24/7 rows. None when that cannot settle it: then `lower_bounds` over the whole selection
    does.

    A row's rank bound is the least of its sessions' (`lower_bounds`). Every session whose
    rank bound is within a horizon is in `window_slices`, so a row ranking within it has its
    least rank among those. Once `needed` rows of the first audience tier have an exact rank
    within the horizon, the first `needed` places (all of that tier) rank no later than the
    needed-th of them, and every row that can take one is here, bound and all: the order,
    and the rows zoneinfo must settle, are those `lower_bounds` would give. The horizon grows
    (_HORIZONS) until that holds; a tier too small to fill the page, or a horizon grown past
    them, gives None, as do fewer than FEW_ROWS selected rows.
    """
    rows = selection.rows  # ascending (select), so a row's position is a binary search away
    if needed <= 0 or len(rows) < FEW_ROWS or np.count_nonzero(selection.tier == 0) < needed:
        return None
    clock = _clock(cols, query)
    open_positions = _positions(rows, by_start.open_rows)
    open_positions = open_positions[open_positions >= 0]
    selected_sessions = None  # how many sessions the selected rows have, once a window is large
    best = np.full(len(rows), np.inf)  # each selected row's least rank among the sessions read
    read = None  # the horizon whose window has been read
    for horizon in _HORIZONS:
        starts, lengths = window_slices(by_start, clock, horizon, after=read)
        if (window := int(lengths.sum())) > _SMALL_WINDOW:
            # A selective search (services only, a rare audience) can need a day's sessions of
            # the whole area to fill its page: reading the selected rows' own (lower_bounds, at
            # about a third of the cost a session, measured at 1,000,000 listings) is cheaper then.
            if selected_sessions is None:
                selected_sessions = int(cols.session_count[rows].sum())
            if 3 * window > selected_sessions:
                return None
        sessions = gather_slices(by_start, starts, lengths)
        read = horizon
        _, rank = _session_bounds(cols, sessions, clock)
        # Sessions past the last horizon never count (most: those over before the moment).
        kept = rank <= _HORIZONS[-1]
        where, rank = _positions(rows, cols.session_row[sessions[kept]]), rank[kept]
        # By position: no sort of the rows.
        np.minimum.at(best, where[where >= 0], rank[where >= 0])
        best[open_positions] = 0.0  # 24/7 rows rank 0, whatever their sessions (lower_bounds)
        positions = np.flatnonzero(best <= horizon)
        exact = bound_is_exact(cols, rows[positions], query)
        if np.count_nonzero(exact & (selection.tier[positions] == 0)) >= needed:
            return SoonestCandidates(positions, best[positions], exact)
    return None


def time_candidates(cols: Columns, selection: Selection, query: SearchQuery, limit: float,
                    by_start: SessionOrder) -> np.ndarray | None:
    """Positions (ascending) of the selected rows that may pass the time filters (open now,
    starts within), whose largest lower bound on minutes to a next start is `limit`
    (timed.bound_limit): those with a session in the window of that horizon (window_slices)
    bounded within it, and those open 24/7. A session whose bound is within the limit is in
    the window, so no row that passes is missed; the others need no bound at all.
    `by_start` holds at least the selected rows' sessions and 24/7 rows. None when reading
    every selected row's sessions is as quick (few rows, or a window of a day or more)."""
    rows = selection.rows
    if len(rows) < FEW_ROWS:
        return None
    clock = _clock(cols, query)
    starts, lengths = window_slices(by_start, clock, limit)
    if (window := int(lengths.sum())) > _SMALL_WINDOW and 3 * window > int(cols.session_count[rows].sum()):
        return None
    sessions = gather_slices(by_start, starts, lengths)
    bound, _ = _session_bounds(cols, sessions, clock, ranks=False)
    near = np.zeros(len(rows), dtype=bool)
    for where in (_positions(rows, cols.session_row[sessions[bound <= limit]]), _positions(rows, by_start.open_rows)):
        near[where[where >= 0]] = True
    return np.flatnonzero(near)


def _positions(ascending: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Where each of `values` is in the `ascending` array; -1 where it is not there."""
    if not len(ascending):
        return np.full(len(values), -1, dtype=np.int64)
    at = np.searchsorted(ascending, values).clip(max=len(ascending) - 1)
    return np.where(ascending[at] == values, at, -1)
