"""`linkage export --format hsds-tabular DIR`: every listing in the index written as an Open
Referral HSDS 3.0 tabular data package (CSV tables and datapackage.json), for directories
that take files rather than call an API."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from service import make_backend
from service.backends.contract import BackendUnavailable
from service.render import hsds

from indexers.commands import add_backend_options, settings_for

FORMATS = ("hsds-tabular",)


def write_hsds_package(listings, directory: Path) -> dict[str, int]:
    """Write the package into `directory` (created if needed); rows written per table."""
    listings = sorted(listings, key=lambda listing: listing.id)
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table, rows in hsds.tabular_rows(listings).items():
        path, columns = hsds.TABLES[table]
        # Written beside, then renamed: a reader never sees a half-written table.
        partial = directory / f".{path}.partial"
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([hsds.cell(row.get(column)) for column in columns])
        partial.replace(directory / path)
        counts[table] = len(rows)
    (directory / "datapackage.json").write_text(
        json.dumps(hsds.datapackage(len(listings)), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


def run(args) -> int:
    """Export the index's listings in the chosen format."""
    settings = settings_for(args)
    try:
        listings = list(make_backend(settings).listings())
    except BackendUnavailable as exc:
        print(f"linkage export: {exc}", file=sys.stderr)
        return 1
    try:
        counts = write_hsds_package(listings, Path(args.directory))
    except OSError as exc:
        print(f"linkage export: cannot write {args.directory}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {counts['service']} services ({sum(counts.values())} rows in {len(counts)} tables) "
          f"to {args.directory}")
    return 0


def add_parser(sub) -> None:
    """The `linkage export` command line."""
    export = sub.add_parser("export", help="write every listing as an HSDS 3.0 tabular data package into DIR")
    export.add_argument("directory", metavar="DIR", help="the package's directory (created if needed)")
    export.add_argument("--format", choices=FORMATS, required=True, help="hsds-tabular: HSDS 3.0 CSV tables")
    add_backend_options(export)
    export.add_argument("--sqlite-path", help="the index to read (default LINKAGE_SQLITE_PATH)")
    export.set_defaults(func=run)
