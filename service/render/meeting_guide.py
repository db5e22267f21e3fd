"""Feeds we publish: our groups re-exported in Meeting Guide format.

The export is rebuilt once per index (keyed by the index's build time), not per request:
a feed client polls it, and a city's worth of groups takes a moment to convert.
"""

from __future__ import annotations

import json
from datetime import datetime
from threading import Lock

_cache: dict = {}
_lock = Lock()


def meeting_guide_text(backend, now: datetime) -> str:
    """The Meeting Guide JSON array of every active group, as text."""
    from indexers.sources.meeting_guide import to_meeting_guide

    built = backend.info().get("built_at")
    with _lock:
        cached = _cache.get(id(backend))
        if cached and cached[0] == built and built is not None:
            return cached[1]
    meetings = []
    for listing in backend.listings():
        if listing.kind == "group" and listing.status != "inactive":
            meetings.extend(to_meeting_guide(listing, at=now))
    text = json.dumps(meetings, ensure_ascii=False, separators=(",", ":"))
    with _lock:
        _cache[id(backend)] = (built, text)
    return text
