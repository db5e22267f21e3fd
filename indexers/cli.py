"""The `linkage` command: serve the app, import feeds, refresh every configured feed."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tomllib
from collections import Counter
from dataclasses import replace
from pathlib import Path

from service import make_backend, make_geocoder
from service.backends.contract import ROLLBACK, BackendUnavailable
from service.settings import ROOT, Settings, SettingsError

from indexers import links
from indexers.imports import ImportSummary, SourceCache, SourceSpec, import_sources
from indexers.records import ReadOptions
from indexers.sources import FORMATS

SOURCES_TOML = ROOT / "data" / "sources.toml"


def cmd_serve(args) -> int:
    """Serve with gunicorn."""
    from service.server import serve

    serve(args.host, args.port, workers=args.workers)
    return 0


def settings_for(args) -> Settings:
    """Environment settings with the command line's overrides."""
    settings = Settings.from_env()
    overrides = {
        "backend": getattr(args, "backend", None),
        "sqlite_path": getattr(args, "sqlite_path", None),
        "search_url": getattr(args, "search_url", None),
        "max_failed_ratio": getattr(args, "max_failed", None),
        "geocoder": getattr(args, "geocoder", None),
        "link_checks_path": getattr(args, "link_checks_path", None),
    }
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


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
    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            for rejection in summary.rejections:
                fh.write(rejection.as_json() + "\n")
    print(summary.line())


def source_name_for(location: str, given: str | None, several: bool) -> str:
    """--source-name for one source, else the file or URL's name without extension."""
    if given and not several:
        return given
    stem = Path(location.rstrip("/").rsplit("/", 1)[-1]).stem or "feed"
    return f"{given}-{stem}" if given else stem


def cmd_index(args) -> int:
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
    summary = import_sources(specs, backend, make_geocoder(settings, for_import=True), cache_for(settings),
                             max_reject=args.max_reject, dry_run=args.dry_run, progress=_progress())
    report(summary, args.report)
    return 0 if summary.ok else 1


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


def cmd_refresh(args) -> int:
    """Import every feed in data/sources.toml (cron-friendly: non-zero if any failed)."""
    settings = settings_for(args)
    specs = load_sources_toml(Path(args.config))
    if args.only:
        specs = [s for s in specs if s.name in args.only]
    summary = import_sources(specs, make_backend(settings), make_geocoder(settings, for_import=True),
                             cache_for(settings), max_reject=args.max_reject, dry_run=args.dry_run,
                             progress=_progress())
    report(summary, args.report)
    for outcome in summary.outcomes:
        print(f"{outcome.name}: {'ok' if not outcome.error else 'FAILED'} (read {outcome.read}, "
              f"loaded {outcome.loaded}, rejected {outcome.rejected}, removed {outcome.removed})")
    return 0 if summary.ok else 1


def cmd_purge(args) -> int:
    """Delete expired referrals (cron-friendly); outcome counts are kept."""
    from datetime import datetime, timezone

    from service import make_referral_store

    settings = settings_for(args)
    store = make_referral_store(settings, make_backend(settings))
    try:
        removed = store.purge(datetime.now(timezone.utc))
    except BackendUnavailable as exc:
        print(f"purge failed: {exc}", file=sys.stderr)
        return 1
    print(f"purged {removed} expired referrals")
    return 0


def cmd_keys(args) -> int:
    """Create, list or revoke public embed keys."""
    from service import make_key_store
    from service.embed.keys import clean_origin, new_key

    settings = settings_for(args)
    store = make_key_store(settings, make_backend(settings))
    if args.action == "create":
        try:
            origins = sorted({clean_origin(o) for o in args.origin})
        except ValueError as exc:
            print(f"linkage keys create: {exc}", file=sys.stderr)
            return 2
        key = new_key()
        store.add_key(key, args.name, origins)
        print(key)
        base = settings.public_base()
        print(f"embed: <script src=\"{base}/widget.js\" defer></script>\n"
              f"       <linkage-search api=\"{base}\" key=\"{key}\"></linkage-search>",
              file=sys.stderr)
        return 0
    if args.action == "list":
        for entry in store.list_keys():
            print(f"{entry['key']}  {entry['name']}  {' '.join(entry['origins'])}")
        return 0
    if not store.revoke_key(args.key):
        print(f"no such key: {args.key}", file=sys.stderr)
        return 1
    print(f"revoked {args.key} (other workers stop accepting it within a minute)")
    return 0


def cmd_check_links(args) -> int:
    """Check every listing's web links; record the results; print the dead (findings, exit 0).

    Exit 1 without recording anything when the listings or the previous results cannot be
    read, or when most hosts failed to resolve or connect (this machine's network, not the links).
    """
    from datetime import datetime, timezone

    from service.backends.engine.backend import EngineError

    settings = settings_for(args)
    try:
        backend = make_backend(settings)
        plan = links.plan_checks(backend.listings())
    except (BackendUnavailable, EngineError, ValueError) as exc:  # ValueError: an unknown LINKAGE_BACKEND
        print(f"linkage check-links: cannot read the listings: {exc}", file=sys.stderr)
        return 1
    try:
        previous = links.load_checks(settings.link_checks_path)
    except (sqlite3.Error, ValueError) as exc:  # ValueError: a damaged record
        print(f"linkage check-links: cannot read {settings.link_checks_path}: {exc}", file=sys.stderr)
        return 1
    order = links.checking_order(plan, {c.url: c.last_checked_at for c in previous})
    if args.limit is not None:
        order = order[:args.limit]
    progress = None
    if sys.stderr.isatty():
        def progress(done: int) -> None:
            print(f"\rchecked {done:,} of {len(order):,} links", end="", file=sys.stderr, flush=True)
    allow_private = args.allow_private_addresses
    fetch = links.urllib_fetch(links.user_agent_for(settings.public_base()), allow_private=allow_private)
    results = links.check_urls(order, fetch, concurrency=args.concurrency, per_host=args.per_host,
                               timeout=args.timeout, allow_private=allow_private, progress=progress)
    if progress:
        print(file=sys.stderr)
    if links.network_looks_down(results):
        failing = sum(1 for outcome in results.values() if outcome.error in links.NETWORK_ERRORS)
        print(f"linkage check-links: {failing} of {len(results)} links, on most of their sites, could not be "
              f"looked up or refused the connection; that looks like this machine's network or DNS, not the "
              f"links, so nothing was recorded (the previous results stay)", file=sys.stderr)
        return 1
    merged = links.merge_checks(previous, plan, results, datetime.now(timezone.utc))
    try:
        links.save_checks(settings.link_checks_path, merged)
    except (sqlite3.Error, OSError) as exc:
        print(f"linkage check-links: cannot record results in {settings.link_checks_path}: {exc}", file=sys.stderr)
        return 1
    records = {check.url: check for check in merged}
    shown = ("dead",) if args.only_dead else ("dead", "unsure")
    confirmed = 0
    for url in sorted(results):
        outcome = results[url]
        if outcome.status not in shown:
            continue
        label = outcome.status
        if outcome.status == "dead":
            # Clinicians see a dead link only once a check CONFIRM_DEAD_AFTER later agrees.
            record = records[url]
            if links.confirmed_dead(record):
                confirmed += 1
                label = "dead (confirmed)"
            else:
                label = f"dead (failing since {record.first_failed_at[:10]})"
        detail = f" [{outcome.detail}]" if outcome.detail and outcome.detail not in outcome.reason else ""
        print(f"{label}  {url}  {outcome.reason}{detail}  listings: {', '.join(plan[url])}")
    counts = Counter(outcome.status for outcome in results.values())
    listing_count = len({i for ids in plan.values() for i in ids})
    print(f"checked {len(results)} of {len(plan)} links from {listing_count} listings: "
          f"{counts['ok']} ok, {counts['dead']} dead ({confirmed} confirmed), {counts['unsure']} unsure")
    return 0


def _positive(kind):
    """An argparse type: a number above zero."""
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above zero, not {text}")
        return value
    return parse


def _add_target_options(parser) -> None:
    parser.add_argument("--backend", choices=("sqlite", "elasticsearch", "opensearch"),
                        help="where to load (default LINKAGE_BACKEND, else sqlite)")
    parser.add_argument("--search-url", help="engine URL (default LINKAGE_SEARCH_URL)")
    parser.add_argument("--sqlite-path", help="the SQLite file to replace (default LINKAGE_SQLITE_PATH)")
    parser.add_argument("--max-failed", help="refuse the engine swap when more than this share of "
                        "documents fail in the engine (default 0.01)")
    parser.add_argument("--geocoder", help="offline (default), nominatim:URL, pelias:URL or photon:URL")
    parser.add_argument("--max-reject", type=float, default=0.05,
                        help="keep a source's previous listings when more than this share of its records "
                        "is rejected (default 0.05)")
    parser.add_argument("--dry-run", action="store_true", help="read, check and report; load nothing")
    parser.add_argument("--report", metavar="FILE", help="write every rejection as JSON lines")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="linkage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the search page and API with gunicorn")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    index = sub.add_parser("index", help="import feeds (Meeting Guide, HSDS, CSV, native JSON)")
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
    _add_target_options(index)
    index.set_defaults(func=cmd_index)

    refresh = sub.add_parser("refresh", help="import every feed listed in data/sources.toml")
    refresh.add_argument("--config", default=str(SOURCES_TOML), help="the feeds file (default data/sources.toml)")
    refresh.add_argument("--only", nargs="*", help="only these source names")
    _add_target_options(refresh)
    refresh.set_defaults(func=cmd_refresh)

    purge = sub.add_parser("purge", help="delete expired referrals (outcome counts stay)")
    purge.add_argument("--backend", choices=("sqlite", "elasticsearch", "opensearch"))
    purge.add_argument("--search-url")
    purge.set_defaults(func=cmd_purge)

    keys = sub.add_parser("keys", help="public embed keys for sites that embed the widget")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="issue a key for one or more origins")
    create.add_argument("--origin", action="append", required=True, help="e.g. https://clinic.example (repeatable)")
    create.add_argument("--name", required=True, help="who the key is for")
    keys_sub.add_parser("list", help="every key with its origins")
    revoke = keys_sub.add_parser("revoke", help="stop accepting a key")
    revoke.add_argument("key")
    for sub_parser in (create, keys_sub.choices["list"], revoke):
        sub_parser.add_argument("--backend", choices=("sqlite", "elasticsearch", "opensearch"))
        sub_parser.add_argument("--search-url")
    keys.set_defaults(func=cmd_keys)

    check = sub.add_parser("check-links", help="check listings' websites and meeting links; record dead ones")
    check.add_argument("--concurrency", type=_positive(int), default=links.DEFAULT_CONCURRENCY,
                       help=f"requests in flight at once (default {links.DEFAULT_CONCURRENCY})")
    check.add_argument("--per-host", type=_positive(int), default=links.DEFAULT_PER_HOST,
                       help=f"requests in flight to any one host (default {links.DEFAULT_PER_HOST})")
    check.add_argument("--timeout", type=_positive(float), default=links.DEFAULT_TIMEOUT_S,
                       help=f"seconds to wait on a server before calling the link unsure "
                       f"(default {links.DEFAULT_TIMEOUT_S:g})")
    check.add_argument("--limit", type=_positive(int), metavar="N",
                       help="check at most N links, those unchecked longest first (trial runs, small cron slots)")
    check.add_argument("--only-dead", action="store_true", help="list only dead links, not unsure ones")
    check.add_argument("--link-checks-path", help="the results file (default LINKAGE_LINK_CHECKS_PATH)")
    check.add_argument("--backend", choices=("sqlite", "elasticsearch", "opensearch"))
    check.add_argument("--search-url")
    check.add_argument("--sqlite-path", help="the index to read (default LINKAGE_SQLITE_PATH)")
    check.add_argument("--allow-private-addresses", action="store_true",
                       help="also request private and local addresses and ports other than 80/443 "
                       "(for testing against a local server)")
    check.set_defaults(func=cmd_check_links)
    return parser


def main(argv=None) -> int:
    """Entry point of the `linkage` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"linkage: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
