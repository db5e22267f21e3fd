"""Native JSON: the format of the demo data, one listing per object as the API dumps it.

Accepts a JSON array of listings or JSON Lines (one listing per line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator


class FeedError(ValueError):
    """The feed as a whole cannot be read (not JSON, wrong top-level shape)."""


def read_native(path: Path) -> Iterator[tuple[str, object]]:
    """(position, record) pairs: "record N" for an array, "line N" for JSON Lines."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path.name}: not UTF-8 (byte {exc.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FeedError(f"{path.name}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
        for number, record in enumerate(records, start=1):
            yield f"record {number}", record
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {number}", FeedError(f"invalid JSON: {exc.msg}")
