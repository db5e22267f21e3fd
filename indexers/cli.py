"""The `linkage` command: serve the app, index listings."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from service import make_backend
from service.settings import Settings

from .load import read_sources


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
    }
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def cmd_index(args) -> int:
    """Validate sources, report rejections, load the good listings atomically."""
    from service.backends.base import BackendUnavailable
    from service.backends.engine import LoadFailed

    backend = make_backend(settings_for(args))
    if args.rollback:
        if not hasattr(backend, "rollback"):
            print("--rollback needs an engine backend (the SQLite file is replaced whole)", file=sys.stderr)
            return 2
        try:
            print(f"alias now points at {backend.rollback()}")
        except (LoadFailed, BackendUnavailable) as exc:
            print(f"rollback failed: {exc}", file=sys.stderr)
            return 1
        return 0
    if not args.sources:
        print("linkage index: give at least one PATH (or --rollback)", file=sys.stderr)
        return 2
    if args.if_missing:
        try:
            if backend.count() > 0:
                print("index present; nothing loaded (--if-missing)")
                return 0
        except BackendUnavailable:
            pass  # no index yet: load it
    result = read_sources([Path(p) for p in args.sources])
    for rejection in result.rejections:
        print(f"rejected: {rejection}", file=sys.stderr)
    loaded = 0
    if result.listings and not args.dry_run:
        try:
            report = backend.load(result.listings)
        except LoadFailed as exc:
            for listing_id, reason in exc.failures:
                print(f"rejected by the engine: {listing_id}: {reason}", file=sys.stderr)
            print(f"load refused: {exc}", file=sys.stderr)
            return 1
        except BackendUnavailable as exc:
            print(f"load failed: {exc}", file=sys.stderr)
            return 1
        for listing_id, reason in report.failures:
            print(f"rejected by the engine: {listing_id}: {reason}", file=sys.stderr)
        loaded = report.loaded
    print(
        f"read {result.read}, valid {len(result.listings)}, rejected records "
        f"{len({(r.source, r.position) for r in result.rejections})}, loaded {loaded}"
        + (" (dry run)" if args.dry_run else "")
    )
    return 0 if result.listings else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="linkage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the search page and API with gunicorn")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=None)
    serve.set_defaults(func=cmd_serve)
    index = sub.add_parser("index", help="validate and load listings (native JSON)")
    index.add_argument("sources", nargs="*", metavar="PATH")
    index.add_argument("--backend", choices=("sqlite", "elasticsearch", "opensearch"),
                       help="where to load (default LINKAGE_BACKEND, else sqlite)")
    index.add_argument("--search-url", help="engine URL (default LINKAGE_SEARCH_URL)")
    index.add_argument("--sqlite-path", help="the SQLite file to replace (default LINKAGE_SQLITE_PATH)")
    index.add_argument("--max-failed", help="refuse the swap when more than this share of documents "
                       "fail in the engine (default 0.01)")
    index.add_argument("--if-missing", action="store_true",
                       help="load only when the backend has no listings yet (first start of a deployment)")
    index.add_argument("--rollback", action="store_true",
                       help="point the engine alias back at the previous index")
    index.add_argument("--dry-run", action="store_true", help="validate and report, load nothing")
    index.set_defaults(func=cmd_index)
    return parser


def main(argv=None) -> int:
    """Entry point of the `linkage` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
