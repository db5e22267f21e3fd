"""The IANA time zones Linkage accepts: one list for the listing schema and the feed readers."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones


@cache
def known_zones() -> frozenset[str]:
    """Every IANA zone name this machine knows (read once: listing the zones reads the disk)."""
    return frozenset(available_timezones())


def known_zone(name) -> str | None:
    """`name` when it is an IANA zone this machine knows ("Australia/Perth"), else None.

    Only exact names count: no trimming, no case folding, and paths such as "posix/..." or
    "right/..." that `ZoneInfo` would also open are not zones a listing may carry.
    """
    return name if isinstance(name, str) and name in known_zones() else None

