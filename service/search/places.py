"""Turning what a person types ("2000", "Parramatta NSW", "-33.8,151.0") into a place.

`OfflineGazetteer` answers like a geopy geocoder (`geocode(query, exactly_one=...)`
returning `geopy.location.Location`s) from the CSV files in `data/gazetteer/`, so it can be
swapped for Nominatim, Pelias or Photon without touching callers. `resolve_place` is the
one function the rest of the service calls: it parses coordinates, asks the injected
geocoder, and decides what to do with ambiguous names.
"""

from __future__ import annotations

import bisect
import csv
import math
import re
from functools import lru_cache
from dataclasses import dataclass, replace
from pathlib import Path

from geopy.location import Location

from service.domain import geo
from service.domain.models import Place
from service.domain.text import normalise

_COORDS = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
_POSTCODE = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# Trailing words that narrow a search to a state ("Richmond NSW") or to Australia.
_STATE_WORDS = geo.AU_STATE_WORDS
_COUNTRY_WORDS = {normalise(name): "AU" for name, code in geo.COUNTRY_NAMES.items() if code == "AU"} | {"au": "AU"}
# Countries people type in full, as normalise() leaves them; a trailing ISO code
# ("Edmonton, CA") works for all.
_COUNTRY_NAMES = {normalise(name): code for name, code in geo.COUNTRY_NAMES.items()}


class PlaceError(ValueError):
    """The place could not be resolved; the message says why in words for the user."""


@dataclass(frozen=True)
class GazetteerEntry:
    """One named place in the gazetteer."""

    name: str
    state: str | None
    country: str
    lat: float
    lon: float
    population: int
    timezone: str | None
    postcode: str | None = None

    @property
    def label(self) -> str:
        """How the place is shown: "Parramatta NSW 2150", "Edmonton, CA"."""
        if self.country == "AU":
            return " ".join(p for p in (self.name, self.state, self.postcode) if p)
        return f"{self.name}, {self.country}"


def _as_location(entry: GazetteerEntry, approximate: bool) -> Location:
    raw = {
        "name": entry.name,
        "state": entry.state,
        "country": entry.country,
        "postcode": entry.postcode,
        "timezone": entry.timezone,
        "population": entry.population,
        "approximate": approximate,
        # A gazetteer knows suburbs and cities, never a street address.
        "precision": "postcode" if entry.postcode else "locality",
    }
    return Location(entry.label, (entry.lat, entry.lon), raw)


# Distinct `near` texts whose gazetteer candidates each process keeps.
CANDIDATES_CACHED = 4096


class OfflineGazetteer:
    """A geopy-compatible geocoder over Australian postcodes and localities plus world cities.

    `geocode(..., exactly_one=False)` returns every candidate, best first, which is how
    `resolve_place` notices that "Richmond" exists in five states.
    """

    # It knows suburbs, postcodes and cities, not streets: importers ask it for the locality,
    # so street words ("Washington Ave") cannot be mistaken for a city.
    street_level = False

    def __init__(self, directory: Path):
        self._by_postcode: dict[str, list[GazetteerEntry]] = {}
        self._by_name: dict[str, list[GazetteerEntry]] = {}
        self._world: dict[str, list[GazetteerEntry]] = {}
        # A postcode's display name, once worked out (the gazetteer never changes after
        # loading, and naming one scans the grid around it: milliseconds per search).
        self._well_known: dict[tuple[GazetteerEntry, float], GazetteerEntry] = {}
        self._load(Path(directory))
        # The gazetteer never changes after loading, so a query's candidates are worked out
        # once (most searches name one of a few hundred postcodes and towns). Bounded, and
        # only in this process's memory: a typed place is not kept anywhere else.
        self._cached_locations = lru_cache(maxsize=CANDIDATES_CACHED)(self._locations)
        # `resolve_place` over this gazetteer, kept likewise (a Place is frozen; an unknown
        # place raises, and is not kept).
        self.resolved_place = lru_cache(maxsize=CANDIDATES_CACHED)(self._worked_out_place)

    def _load(self, directory: Path) -> None:
        with open(directory / "au_localities.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                entry = GazetteerEntry(
                    row["name"], row["state"], "AU", float(row["lat"]), float(row["lon"]),
                    int(row["population"] or 0), row["timezone"] or None,
                )
                self._by_name.setdefault(normalise(entry.name), []).append(entry)
        with open(directory / "au_postcodes.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                entry = GazetteerEntry(
                    row["locality"], row["state"], "AU", float(row["lat"]), float(row["lon"]),
                    0, row["timezone"] or None, row["postcode"],
                )
                self._by_postcode.setdefault(entry.postcode, []).append(entry)
                # Postcode localities fill in suburbs the locality list lacks; a suburb it
                # already has in the same state keeps the richer record (population, zone).
                key = normalise(entry.name)
                known = self._by_name.setdefault(key, [])
                if not any(e.state == entry.state for e in known):
                    known.append(entry)
        world_path = directory / "world_cities.csv"
        if world_path.exists():
            with open(world_path, newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    entry = GazetteerEntry(
                        row["name"], row["admin1"] or None, row["country"], float(row["lat"]),
                        float(row["lon"]), int(row["population"] or 0), row["timezone"] or None,
                    )
                    self._world.setdefault(normalise(entry.name), []).append(entry)
        for table in (self._by_name, self._world):
            for entries in table.values():
                entries.sort(key=lambda e: (-e.population, e.state or "", e.postcode or ""))
        self._countries = {e.country for entries in self._world.values() for e in entries}
        self._name_keys = sorted(self._by_name)
        self._postcode_keys = sorted(self._by_postcode)
        # One-degree cells, so naming coordinates looks at a few dozen places, not 40,000.
        self._grid: dict[tuple[int, int], list[GazetteerEntry]] = {}
        for table in (self._by_name, self._world):
            for entries in table.values():
                for entry in entries:
                    cell = (int(math.floor(entry.lat)), int(math.floor(entry.lon)))
                    self._grid.setdefault(cell, []).append(entry)

    def geocode(self, query: str, exactly_one: bool = True, timeout=None, **kwargs):
        """Locations for a postcode, locality or address, best first (geopy's signature)."""
        locations = list(self._cached_locations(query))
        if exactly_one:
            return locations[0] if locations else None
        return locations

    def _worked_out_place(self, text: str) -> tuple[Place, tuple[str, ...]]:
        return worked_out_place(text, self)

    def _locations(self, query: str) -> tuple[Location, ...]:
        """The query's candidates as geopy Locations, best first (kept: see __init__)."""
        entries, approximate = self._candidates(query)
        return tuple(_as_location(e, approximate) for e in entries)

    def _candidates(self, query: str) -> tuple[list[GazetteerEntry], bool]:
        text = normalise(query)
        if not text:
            return [], False
        words = text.split()
        state = None
        country = None
        # Trailing state or country words narrow the search ("Richmond NSW", "Perth, Australia").
        while words:
            two = " ".join(words[-2:]) if len(words) >= 2 else None
            three = " ".join(words[-3:]) if len(words) >= 3 else None
            if three in _STATE_WORDS:
                state, words = _STATE_WORDS[three], words[:-3]
            elif two in _STATE_WORDS:
                state, words = _STATE_WORDS[two], words[:-2]
            elif words[-1] in _STATE_WORDS and len(words) > 1:
                state, words = _STATE_WORDS[words[-1]], words[:-1]
            elif words[-1] in _COUNTRY_WORDS and len(words) > 1:
                country, words = _COUNTRY_WORDS[words[-1]], words[:-1]
            else:
                break
        postcode_match = _POSTCODE.search(query)
        if postcode_match:
            postcode = postcode_match.group(1)
            entries = [
                e for e in self._by_postcode.get(postcode, []) if state in (None, e.state)
            ]
            if entries:
                name_words = [w for w in words if w != postcode]
                # An address with a postcode: prefer the named suburb within that postcode.
                for size in range(min(4, len(name_words)), 0, -1):
                    name = " ".join(name_words[-size:])
                    named = [e for e in entries if normalise(e.name) == name]
                    if named:
                        return named, False
                # A bare postcode covers several suburbs; its best-known one names it.
                best = sorted(entries, key=lambda e: (-self._population(e), e.name))[0]
                return [self._well_known_name(best)], False
            words = [w for w in words if w != postcode]
            if not words:
                return [], False  # a bare postcode that does not exist
        # Try the longest trailing run of words first, so "12 Smith St North Sydney" finds
        # North Sydney rather than Sydney.
        for size in range(min(4, len(words)), 0, -1):
            name = " ".join(words[-size:])
            entries = [e for e in self._by_name.get(name, []) if state in (None, e.state)]
            if entries:
                # Australian places come first (this is an Australian directory), but a
                # same-named city abroad is offered as an alternative ("Edmonton, CA").
                abroad = [] if state or country else self._world.get(name, [])[:3]
                return entries + abroad, False
        if country == "AU" or state:
            return [], False
        # A trailing country ("Edmonton Canada", "..., Alberta, CA") or North American state
        # code ("Rehoboth Beach, DE", "Paris, TX") names the only countries searched, the
        # country first ("CA" is Canada, then California); a place not found there is not
        # looked for elsewhere ("Atlantis, US" is no town in South Africa).
        within = self._countries_named(words[-1]) if words else ()
        for size in (2, 1):
            if len(words) > size and " ".join(words[-size:]) in _COUNTRY_NAMES:
                within, words = (_COUNTRY_NAMES[" ".join(words[-size:])],), words[:-size]
                break
        for country_code in within or (None,):
            for size in range(min(4, len(words)), 0, -1):
                # Abroad only the city is known: its centre stands in for the address.
                for start in range(0, len(words) - size + 1):
                    name = " ".join(words[start:start + size])
                    entries = [e for e in self._world.get(name, ()) if country_code in (None, e.country)]
                    if entries:
                        return entries, True
        return [], False

    def _countries_named(self, word: str) -> tuple[str, ...]:
        """The countries a trailing two-letter word may name: the country with that code,
        then the US or Canada when it is one of their state or province codes; () for any
        other word (no country named: every country is searched)."""
        code = word.upper()
        if len(code) != 2:
            return ()
        named = [code] if code in self._countries else []
        named += ["US"] if code in geo.US_STATE_CODES else []
        named += ["CA"] if code in geo.CA_PROVINCE_CODES else []
        return tuple(dict.fromkeys(named))

    def _well_known_name(self, entry: GazetteerEntry, within_km: float = 3.0) -> GazetteerEntry:
        """Name a postcode after a well-known place at its centre ("2000" is Sydney, not Barangaroo)."""
        key = (entry, within_km)
        named = self._well_known.get(key)
        if named is None:
            named = self._well_known[key] = self._name_after_well_known(entry, within_km)
        return named

    def _name_after_well_known(self, entry: GazetteerEntry, within_km: float) -> GazetteerEntry:
        """`_well_known_name` worked out afresh."""
        if self._population(entry):
            return entry
        cell = (int(math.floor(entry.lat)), int(math.floor(entry.lon)))
        around = [
            other for dlat in (-1, 0, 1) for dlon in (-1, 0, 1)
            for other in self._grid.get((cell[0] + dlat, cell[1] + dlon), ())
            if other.population and other.state == entry.state and other.country == entry.country
            and geo.great_circle_km(entry.lat, entry.lon, other.lat, other.lon) <= within_km
        ]
        if not around:
            return entry
        biggest = min(around, key=lambda e: (-e.population, e.name))
        return replace(entry, name=biggest.name, population=biggest.population)

    def _population(self, entry: GazetteerEntry) -> int:
        """Population of the locality of the same name and state, 0 when unknown."""
        for known in self._by_name.get(normalise(entry.name), []):
            if known.state == entry.state:
                return known.population
        return 0

    def nearest(self, lat: float, lon: float, max_km: float = 60.0) -> GazetteerEntry | None:
        """The closest known locality within `max_km`, or None (for naming raw coordinates)."""
        cell_lat, cell_lon = int(math.floor(lat)), int(math.floor(lon))
        around = sorted(
            (geo.great_circle_km(lat, lon, entry.lat, entry.lon), entry.name, entry)
            for dlat in (-1, 0, 1) for dlon in (-1, 0, 1)
            for entry in self._grid.get((cell_lat + dlat, cell_lon + dlon), ())
        )
        around = [(km, entry) for km, _, entry in around if km <= max_km]
        # A named town or suburb reads better than a post-office box ("Albert Street BC").
        populated = [pair for pair in around if pair[1].population]
        chosen = populated or around
        return chosen[0][1] if chosen else None

    def suggest(self, prefix: str, limit: int = 10) -> list[GazetteerEntry]:
        """Australian places whose name or postcode starts with `prefix`, biggest first."""
        text = normalise(prefix)
        if not text:
            return []
        table, keys = (self._by_postcode, self._postcode_keys) if text.isdigit() else (self._by_name, self._name_keys)
        hits = []
        # Sorted keys and bisect: the matches for a prefix are one contiguous run.
        for key in keys[bisect.bisect_left(keys, text):]:
            if not key.startswith(text):
                break
            hits.extend(e for e in table[key] if e.country == "AU")
        hits.sort(key=lambda e: (-e.population, e.name, e.state or "", e.postcode or ""))
        return list({e.label: e for e in reversed(hits)}.values())[::-1][:limit]


class StaticGeocoder:
    """A geocoder that knows a fixed mapping of query -> (lat, lon, raw); for tests and demos."""

    def __init__(self, places: dict[str, list[tuple[float, float, dict]]]):
        self._places = {normalise(k): v for k, v in places.items()}

    def geocode(self, query: str, exactly_one: bool = True, timeout=None, **kwargs):
        """Locations stored for the query, in the order given."""
        found = [
            Location(raw.get("name", query), (lat, lon), raw)
            for lat, lon, raw in self._places.get(normalise(query), [])
        ]
        if exactly_one:
            return found[0] if found else None
        return found


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """"-33.81,151.00" -> (-33.81, 151.0); None when the text is not a coordinate pair."""
    match = _COORDS.match(text)
    if not match:
        return None
    return float(match.group(1)), float(match.group(2))


def check_coordinates(lat: float, lon: float, parameter: str) -> None:
    """Raise PlaceError when a coordinate pair is off the globe."""
    if not -90 <= lat <= 90:
        raise PlaceError(f"{parameter}: latitude must be between -90 and 90, got {lat:g}")
    if not -180 <= lon <= 180:
        raise PlaceError(f"{parameter}: longitude must be between -180 and 180, got {lon:g}")


def coordinate_place(lat: float, lon: float, geocoder) -> Place:
    """A place for raw coordinates, given a state and zone by the nearest known locality.

    The state matters: it decides which state-wide online and phone services cover the place.
    """
    name = f"{lat:g},{lon:g}"
    nearest = getattr(geocoder, "nearest", None)
    found = nearest(lat, lon) if nearest else None
    if found is None:
        return Place(query=name, name=name, lat=lat, lon=lon, country="")
    return Place(query=name, name=f"{name} (near {found.label})", lat=lat, lon=lon,
                 state=found.state, country=found.country, timezone=found.timezone)


def place_from_location(query: str, location: Location, alternatives=()) -> Place:
    """A `Place` from a geopy Location (ours carry state, zone and approximate in `raw`)."""
    raw = location.raw if isinstance(location.raw, dict) else {}
    return Place(
        query=query,
        name=location.address,
        lat=round(location.latitude, 6),
        lon=round(location.longitude, 6),
        state=raw.get("state"),
        country=raw.get("country") or "AU",
        postcode=raw.get("postcode"),
        timezone=raw.get("timezone"),
        approximate=bool(raw.get("approximate", False)),
        alternatives=tuple(alternatives),
    )


def resolve_place(text: str, geocoder) -> tuple[Place, list[str]]:
    """Resolve `near`; returns the place and warnings. Raises PlaceError when unknown.

    A geocoder that answers the same text the same way for its whole life (the offline
    gazetteer) offers `resolved_place`, which keeps what this works out."""
    kept = getattr(geocoder, "resolved_place", None)
    place, warnings = kept(text) if kept is not None else worked_out_place(text, geocoder)
    return place, list(warnings)


def worked_out_place(text: str, geocoder) -> tuple[Place, tuple[str, ...]]:
    """`resolve_place` without keeping anything: the place and its warnings, worked out."""
    text = text.strip()
    if not text:
        raise PlaceError("near is empty: give a postcode, suburb, address or lat,lon")
    coords = parse_coordinates(text)
    if coords:
        check_coordinates(*coords, parameter="near")
        return coordinate_place(*coords, geocoder), ()
    candidates = geocoder.geocode(text, exactly_one=False) or []
    if not candidates:
        raise PlaceError(
            f"near: no place called {text[:80]!r} was found; try a postcode (e.g. 2000), "
            "a suburb with its state (e.g. Parramatta NSW) or lat,lon"
        )
    best = candidates[0]
    warnings = []
    alternatives = _distinct_alternatives(candidates)
    if len(alternatives) > 1:
        warnings.append(
            f"{text!r} matches several places: using {best.address}; "
            f"others are {', '.join(alternatives[1:])}. Add the state or country to choose "
            f"(e.g. '{_how_to_choose(candidates)}')."
        )
    place = place_from_location(text, best, alternatives[1:] if len(alternatives) > 1 else ())
    if place.approximate:
        warnings.append(f"{text!r} was placed at the centre of {place.name}; distances are approximate")
    return place, tuple(warnings)


def _distinct_alternatives(candidates) -> list[str]:
    """One label per state (or country abroad) among the candidates, best first."""
    return list(dict.fromkeys(loc.address for loc in candidates))


def _how_to_choose(candidates) -> str:
    """An example of naming the place more precisely, from the runner-up candidate."""
    best = candidates[0].raw or {}
    for loc in candidates[1:]:
        raw = loc.raw or {}
        if raw.get("country") == "AU" and raw.get("state") and raw.get("state") != best.get("state"):
            return f"{raw.get('name')} {raw['state']}"
        if raw.get("country") and raw.get("country") != "AU":
            return f"{raw.get('name')}, {raw['country']}"
    return f"{best.get('name')} {best.get('state') or ''}".strip()
