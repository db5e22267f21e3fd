"""HTTP views: each wires params -> backend -> ranking -> render in a few lines."""

from flask import current_app


def services():
    """The app's injected services."""
    return current_app.extensions["linkage"]


def stale_before() -> str:
    """The date before which a listing's last check counts as stale (LINKAGE_STALE_AFTER_DAYS)."""
    from datetime import timedelta

    svc = services()
    return (svc.clock() - timedelta(days=int(svc.settings.stale_after_days))).date().isoformat()
