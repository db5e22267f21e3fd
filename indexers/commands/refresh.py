"""`linkage refresh`: import every feed listed in data/sources.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from service import make_backend, make_geocoder
from service.settings import ROOT

from indexers.commands import settings_for
from indexers.commands.index import _progress, add_target_options, cache_for, locked, report, say_waiting
from indexers.imports import ImportLocked, SourceSpec, import_sources
from indexers.records import ReadOptions

SOURCES_TOML = ROOT / "data" / "sources.toml"


def load_sources_toml(path: Path) -> list[SourceSpec]:
    """The feeds `linkage refresh` imports (data/sources.toml)."""
    with open(path, "rb") as fh:
        config = tomllib.load(fh)
    specs = []
    for entry in config.get("source", []):
        location = entry["location"]
        if not location.startswith(("http://", "https://")) and not Path(location).is_absolute():
            location = str((path.parent / location).resolve())
        specs.append(SourceSpec(
            location=location,
            format=entry.get("format", "auto"),
            mapping=(path.parent / entry["mapping"]).resolve() if entry.get("mapping") else None,
            options=ReadOptions(
                source_name=entry["name"],
                program=entry.get("program"),
                timezone=entry.get("timezone"),
                country=entry.get("country", "AU"),
                source_url=entry.get("url"),
                licence=entry.get("licence"),
            ),
        ))
    return specs


def run(args) -> int:
    """Import every feed in data/sources.toml (cron-friendly: non-zero if any failed)."""
    settings = settings_for(args)
    specs = load_sources_toml(Path(args.config))
    if args.only:
        specs = [s for s in specs if s.name in args.only]
    try:
        summary = import_sources(specs, make_backend(settings), make_geocoder(settings, for_import=True),
                                 cache_for(settings), max_reject=args.max_reject, dry_run=args.dry_run,
                                 progress=_progress(), wait_seconds=args.wait, on_wait=say_waiting,
                                 workers=settings.import_workers or None)
    except ImportLocked as exc:
        return locked(exc)
    report(summary, args.report)
    for outcome in summary.outcomes:
        print(f"{outcome.name}: {'ok' if not outcome.error else 'FAILED'} (read {outcome.read}, "
              f"loaded {outcome.loaded}, rejected {outcome.rejected}, removed {outcome.removed})")
    return 0 if summary.ok else 1


def add_parser(sub) -> None:
    """The `linkage refresh` command line."""
    refresh = sub.add_parser("refresh", help="import every feed listed in data/sources.toml")
    refresh.add_argument("--config", default=str(SOURCES_TOML), help="the feeds file (default data/sources.toml)")
    refresh.add_argument("--only", nargs="*", help="only these source names")
    add_target_options(refresh)
    refresh.set_defaults(func=run)
