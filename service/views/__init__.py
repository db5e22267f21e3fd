"""HTTP views: each wires params -> backend -> ranking -> render in a few lines."""

from flask import current_app


def services():
    """The app's injected services."""
    return current_app.extensions["linkage"]
