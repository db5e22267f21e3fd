"""`linkage purge`: delete expired referrals (their outcome counts stay)."""

from __future__ import annotations

import sys

from service import make_backend
from service.backends.contract import BackendUnavailable

from indexers.commands import add_backend_options, settings_for


def run(args) -> int:
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


def add_parser(sub) -> None:
    """The `linkage purge` command line."""
    purge = sub.add_parser("purge", help="delete expired referrals (outcome counts stay)")
    add_backend_options(purge)
    purge.set_defaults(func=run)
