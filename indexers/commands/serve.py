"""`linkage serve`: the search page and API under gunicorn."""

from __future__ import annotations

import os


def run(args) -> int:
    """Serve with gunicorn."""
    from service.server import serve

    serve(args.host, args.port, workers=args.workers)
    return 0


def add_parser(sub) -> None:
    """The `linkage serve` command line."""
    serve = sub.add_parser("serve", help="serve the search page and API with gunicorn")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=None)
    serve.set_defaults(func=run)
