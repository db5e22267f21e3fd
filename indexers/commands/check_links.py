"""`linkage check-links`: check listings' web links and record the results the pages read."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections import Counter

from service import link_checks, make_backend
from service.backends.contract import BackendUnavailable

from indexers import links
from indexers.commands import add_backend_options, settings_for


def run(args) -> int:
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
        previous = link_checks.load_checks(settings.link_checks_path)
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
        link_checks.save_checks(settings.link_checks_path, merged)
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
            if link_checks.confirmed_dead(record):
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


def add_parser(sub) -> None:
    """The `linkage check-links` command line."""
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
    add_backend_options(check)
    check.add_argument("--sqlite-path", help="the index to read (default LINKAGE_SQLITE_PATH)")
    check.add_argument("--allow-private-addresses", action="store_true",
                       help="also request private and local addresses and ports other than 80/443 "
                       "(for testing against a local server)")
    check.set_defaults(func=run)
