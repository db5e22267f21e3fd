"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from datetime import datetime

from flask_smorest import Blueprint

from service import render
from service.backends.contract import BackendUnavailable
from service.openapi import HealthSchema, ReadinessSchema
from service.render.handout import pdf_unavailable_reason
from service.views import document, services

blueprint = Blueprint("health", __name__, description="Liveness and readiness.")


@blueprint.get("/healthz")
@document(blueprint, HealthSchema)
def healthz():
    """The process is alive (says nothing about the index)."""
    return render.to_json({"status": "ok"})


@blueprint.get("/readyz")
@document(blueprint, ReadinessSchema, description="Ready: the index holds listings")
@blueprint.alt_response(503, schema=ReadinessSchema, description="Not ready: backend down or index empty")
def readyz():
    """The backend answers and holds an index with listings."""
    try:
        info = services().backend.info()
        count = services().backend.count()
    except BackendUnavailable as exc:
        return render.to_json({"status": "unavailable", "reason": str(exc)}, status=503)
    status = "ok" if count > 0 else "empty"
    warnings = []
    if count > 0 and info.get("health") in ("yellow", "red"):
        # Still answering, from fewer copies than configured: worth a page, not a restart.
        status = "degraded"
        warnings.append(f"the search cluster is {info['health']}: some shard copies are missing "
                        "(a node is down or recovering)")
    pdf_problem = pdf_unavailable_reason()
    if count > 0 and pdf_problem:
        # Searching works; handouts print from the browser, but no PDF can be made.
        status = "degraded"
        warnings.append(f"handout PDFs cannot be made: {pdf_problem}")
    age_seconds = None
    if info.get("built_at"):
        age_seconds = int((services().clock() - datetime.fromisoformat(info["built_at"])).total_seconds())
        limit_hours = services().settings.max_index_age_hours
        if age_seconds > limit_hours * 3600:
            warnings.append(f"the index is {age_seconds / 3600:.0f} hours old (over {limit_hours:g}): "
                            "are the feeds refreshing? (linkage refresh)")
    return render.to_json({"status": status, **info, "listing_count": count, "index_age_seconds": age_seconds,
                           "warnings": warnings}, status=200 if count > 0 else 503)
