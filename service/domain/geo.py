"""Geometry on the Earth's surface, shared by every stage that measures distance."""

from __future__ import annotations

import math

# geopy's mean Earth radius, so our distances agree with geopy.distance.great_circle.
EARTH_RADIUS_KM = 6371.009

def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
