"""The `linkage` command: serve the app, index listings."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from service import make_backend
from service.settings import Settings

from .load import read_sources


def cmd_serve(args) -> int:
    """Serve with gunicorn."""
    from service.server import serve

    serve(args.host, args.port, workers=args.workers)
    return 0


def cmd_index(args) -> int:
    """Validate sources, report rejections, load the good listings atomically."""
    settings = Settings.from_env()
    if args.sqlite_path:
        settings = Settings.from_mapping({**settings.__dict__, "sqlite_path": args.sqlite_path})
    result = read_sources([Path(p) for p in args.sources])
    for rejection in result.rejections:
        print(f"rejected: {rejection}", file=sys.stderr)
    loaded = 0
    if result.listings and not args.dry_run:
        report = make_backend(settings).load(result.listings)
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
    index.add_argument("sources", nargs="+", metavar="PATH")
    index.add_argument("--sqlite-path", help="the SQLite file to replace (default LINKAGE_SQLITE_PATH)")
    index.add_argument("--dry-run", action="store_true", help="validate and report, load nothing")
    index.set_defaults(func=cmd_index)
    return parser


def main(argv=None) -> int:
    """Entry point of the `linkage` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
