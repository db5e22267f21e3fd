"""HTTP views: each wires params -> backend -> ranking -> render in a few lines."""

from flask import current_app


def services():
    """The app's injected services."""
    return current_app.extensions["linkage"]


def stale_before(at) -> str:
    """The date before which a listing's last check counts as stale at the moment `at`
    (the search's `at`, so an answer depends only on its request)."""
    from datetime import timedelta

    return (at - timedelta(days=int(services().settings.stale_after_days))).date().isoformat()
