"""`linkage index`: import feeds (or roll the engine alias back), reporting every rejection."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from service import make_backend, make_geocoder
from service.backends.contract import ROLLBACK, BackendUnavailable
from service.settings import Settings

from indexers.commands import add_backend_options, settings_for
from indexers.imports import EXIT_LOCKED, ImportLocked, ImportSummary, SourceCache, SourceSpec, import_sources
from indexers.records import ReadOptions
from indexers.sources import FORMATS


def cache_for(settings: Settings) -> SourceCache:
    """Where each source's last good listings live: beside the SQLite file, or per alias."""
    return SourceCache(settings.sources_directory())


def _progress():
    """A progress line on a terminal; nothing when output is a pipe or a file."""
    if not sys.stderr.isatty():
        return None

    def show(name: str, count: int) -> None:
        print(f"\r{name}: {count:,} records read", end="", file=sys.stderr, flush=True)

    return show


def report(summary: ImportSummary, report_path: str | None) -> None:
    """Rejections to standard error (and as JSON lines to --report), then the summary."""
    if sys.stderr.isatty():
        print(file=sys.stderr)
    for rejection in summary.rejections:
        print(f"rejected: {rejection}", file=sys.stderr)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for outcome in summary.outcomes:
        if outcome.error:
            print(f"{outcome.name}: not loaded: {outcome.error}", file=sys.stderr)
    if summary.load_error:
        print(f"load failed, the previous index keeps serving: {summary.load_error}", file=sys.stderr)
    if summary.state_problem:
        print(f"warning: {summary.state_problem}", file=sys.stderr)
    for line in common_problems(summary.rejections):
        print(line, file=sys.stderr)
    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            for rejection in summary.rejections:
                fh.write(rejection.as_json() + "\n")
    print(summary.line())


# Past this many rejections the lines scroll off a terminal: a tally of the commonest
# problems follows them, so a feed that is wrong everywhere in one way says so in one line.
TALLY_AFTER = 20
TALLY_LINES = 5


def common_problems(rejections: list) -> list[str]:
    """The commonest problems of a long report, one line each ("315 records: timezone: no
    time zone ..."); nothing for a report short enough to read whole."""
    if len(rejections) <= TALLY_AFTER:
        return []
    counts: dict[tuple[str, str, str], set[str]] = {}
    for rejection in rejections:
        counts.setdefault((rejection.source, rejection.field, rejection.problem), set()).add(rejection.position)
    ranked = sorted(counts.items(), key=lambda item: -len(item[1]))[:TALLY_LINES]
    lines = [f"most common problems ({len(rejections)} in all):"]
    lines += [f"  {len(positions)} record{'s' if len(positions) != 1 else ''}: {source}: {field}: {problem}"
              for (source, field, problem), positions in ranked]
    return lines


def say_waiting(message: str) -> None:
    """Tell the operator an import is waiting for the lock (standard error)."""
    print(message, file=sys.stderr, flush=True)


def locked(exc: ImportLocked) -> int:
    """Report that another import holds the lock; the exit status that means "try later"."""
    print(f"not imported: {exc}", file=sys.stderr)
    return EXIT_LOCKED


def source_name_for(location: str, given: str | None, several: bool) -> str:
    """--source-name for one source, else the file's name without extension; for a URL, the
    file it names ("meetings.json" -> "meetings"), else its host: a root server's address or
    search (".../main_server/client_interface/json/?switcher=...") names an interface, and
    the server is what a maintainer recognises."""
    if given and not several:
        return given
    parts = urlsplit(location)
    if parts.scheme in ("http", "https"):
        last = Path(parts.path.rstrip("/").rsplit("/", 1)[-1])
        stem = (last.stem if last.suffix and not parts.query else parts.hostname) or "feed"
    else:
        stem = Path(location.rstrip("/").rsplit("/", 1)[-1]).stem or "feed"
    return f"{given}-{stem}" if given else stem


def run(args) -> int:
    """Import feeds: report rejections, load the good listings atomically."""
    from service.backends.engine.backend import LoadFailed

    settings = settings_for(args)
    backend = make_backend(settings)
    if args.rollback:
        if ROLLBACK not in backend.abilities:
            print("--rollback needs an engine backend (the SQLite file is replaced whole)", file=sys.stderr)
            return 2
        try:
            print(f"alias now points at {backend.rollback()}")
        except (LoadFailed, BackendUnavailable) as exc:
            print(f"rollback failed: {exc}", file=sys.stderr)
            return 1
        return 0
    if not args.sources:
        print("linkage index: give at least one SOURCE (file, directory or URL), or --rollback", file=sys.stderr)
        return 2
    if args.if_missing:
        try:
            if backend.count() > 0:
                print("index present; nothing loaded (--if-missing)")
                return 0
        except BackendUnavailable:
            pass  # no index yet: load it
    several = len(args.sources) > 1
    specs = [
        SourceSpec(
            location=location,
            format=args.format,
            mapping=Path(args.mapping) if args.mapping else None,
            options=ReadOptions(
                source_name=source_name_for(location, args.source_name, several),
                program=args.program,
                timezone=args.timezone,
                country=args.country,
                source_url=location if location.startswith(("http://", "https://")) else args.source_url,
                licence=args.licence,
            ),
        )
        for location in args.sources
    ]
    try:
        summary = import_sources(specs, backend, make_geocoder(settings, for_import=True), cache_for(settings),
                                 max_reject=args.max_reject, dry_run=args.dry_run, progress=_progress(),
                                 wait_seconds=args.wait, on_wait=say_waiting,
                                 workers=settings.import_workers or None)
    except ImportLocked as exc:
        return locked(exc)
    report(summary, args.report)
    return 0 if summary.ok else 1


def add_target_options(parser) -> None:
    """Where an import loads and how strict it is (index and refresh)."""
    add_backend_options(parser)
    parser.add_argument("--sqlite-path", help="the SQLite file to replace (default LINKAGE_SQLITE_PATH)")
    parser.add_argument("--max-failed", help="refuse the engine swap when more than this share of "
                        "documents fail in the engine (default 0.01)")
    parser.add_argument("--geocoder", help="offline (default), nominatim:URL, pelias:URL or photon:URL")
    parser.add_argument("--max-reject", type=float, default=0.05,
                        help="keep a source's previous listings when more than this share of its records "
                        "is rejected (default 0.05)")
    parser.add_argument("--dry-run", action="store_true", help="read, check and report; load nothing")
    parser.add_argument("--report", metavar="FILE", help="write every rejection as JSON lines")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="when another import into the same target is running, wait up to this long "
                        f"for it (default 0: stop at once with exit status {EXIT_LOCKED})")


def add_parser(sub) -> None:
    """The `linkage index` command line."""
    index = sub.add_parser("index", help="import feeds (Meeting Guide, BMLT, HSDS, CSV, native JSON)")
    index.add_argument("sources", nargs="*", metavar="SOURCE", help="a file, a directory (HSDS package) or a URL")
    index.add_argument("--format", choices=FORMATS, default="auto")
    index.add_argument("--source-name", help="the feed's name (ids, reports, refresh); default: the file name")
    index.add_argument("--program", help="the program of a meeting feed, e.g. 'Alcoholics Anonymous'")
    index.add_argument("--timezone", help="IANA zone for records without one, e.g. America/New_York")
    index.add_argument("--country", default="AU", help="ISO country for records without one (default AU)")
    index.add_argument("--mapping", help="TOML column mapping for a CSV feed (see data/mappings/)")
    index.add_argument("--source-url", help="where the feed's records can be seen (for attribution)")
    index.add_argument("--licence", help="the feed's licence (for attribution)")
    index.add_argument("--if-missing", action="store_true",
                       help="load only when the backend has no listings yet (first start of a deployment)")
    index.add_argument("--rollback", action="store_true",
                       help="point the engine alias back at the previous index")
    add_target_options(index)
    index.set_defaults(func=run)
