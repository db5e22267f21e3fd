"""Native JSON: the format of the demo data, one listing per object as the API dumps it.

Accepts a JSON array of listings or JSON Lines (one listing per line).
"""

from __future__ import annotations

import json
from typing import Iterator

from indexers.records import Problem, ReadOptions, Record
from indexers.pipeline import STANCE_FIELDS


class FeedError(ValueError):
    """The feed as a whole cannot be read (not UTF-8, not JSON, wrong top-level shape)."""


def decode(raw: bytes, source: str) -> str:
    """Bytes as UTF-8 text (a BOM is dropped), or FeedError naming the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"{source}: not UTF-8 (byte {exc.start})") from None


def parse_json(text: str, source: str):
    """A whole feed's JSON value, or FeedError naming what is wrong: the line of a syntax
    error, or nesting too deep for the parser (thousands of brackets, which no feed needs;
    Python's parser would stop with a RecursionError)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"{source}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise FeedError(f"{source}: invalid JSON: nested too deeply") from None


def read_native(raw: bytes, options: ReadOptions, source: str, parsed=None) -> Iterator[Record]:
    """Records of a native feed: "record N" for an array, "line N" for JSON Lines. `parsed`:
    the feed's JSON value, when the caller has parsed `raw` already (to detect its format)."""
    text = decode(raw, source)
    allowed = frozenset(STANCE_FIELDS)
    if text.lstrip().startswith("["):
        entries = parsed if isinstance(parsed, list) else parse_json(text, source)
        numbered = ((f"record {n}", entry) for n, entry in enumerate(entries, start=1))
    else:
        numbered = _lines(text)
    for position, entry in numbered:
        if isinstance(entry, Problem):
            yield Record(source, position, None, (entry,))
        elif not isinstance(entry, dict):
            yield Record(source, position, None, (Problem("_record", "not a JSON object", entry),))
        else:
            # Native field names are the feed's own: nothing to translate for the report.
            yield Record(source, position, entry, defaults_allowed=allowed,
                         record_id=_text(entry.get("id")), record_name=_text(entry.get("name")))


def _text(value) -> str | None:
    """An id or name as the report shows it (numbers as digits; anything else is left out)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int)):
        return str(value)
    return None


def _lines(text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {number}", Problem("_record", f"invalid JSON: {exc.msg}", line)
        except RecursionError:
            yield f"line {number}", Problem("_record", "invalid JSON: nested too deeply", line)
