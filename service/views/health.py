"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint

from .. import render
from ..backends.base import BackendUnavailable
from . import services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """The process is alive (says nothing about the index)."""
    return render.to_json({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    """The backend answers and holds an index with listings."""
    try:
        info = services().backend.info()
        count = services().backend.count()
    except BackendUnavailable as exc:
        return render.to_json({"status": "unavailable", "reason": str(exc)}, status=503)
    status = "ok" if count > 0 else "empty"
    return render.to_json({"status": status, **info, "listing_count": count},
                          status=200 if count > 0 else 503)
