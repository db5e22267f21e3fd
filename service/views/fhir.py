"""FHIR R4 resources, read-only: /fhir/HealthcareService, Location, Organization (issue 17;
being built)."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("fhir", __name__, url_prefix="/fhir",
                      description="Listings as FHIR R4 HealthcareService, Location and Organization.")
