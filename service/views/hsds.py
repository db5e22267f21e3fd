"""The HSDS 3.0 API profile, read-only: /hsds/services, organizations, service_at_locations,
locations (issue 17; being built)."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("hsds", __name__, url_prefix="/hsds",
                      description="Listings as Open Referral HSDS 3.0 (read-only API profile).")
