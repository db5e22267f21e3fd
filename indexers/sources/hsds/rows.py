"""One row or object of an HSDS feed, and the values in it: where it came from, what was
wrong with its bytes, and its cells as clean text, numbers and dates."""

from __future__ import annotations

import html
import math
import re
from datetime import date

from indexers.records import Problem
from service.domain.text import CONTROL_CHARACTERS

# Row dictionaries carry where they came from and what was wrong with their bytes.
POSITION = "__position__"
ROW_PROBLEMS = "__problems__"


def has_any(row: dict, *columns: str) -> bool:
    """True when the row has a value in any of these columns."""
    return any(str(row.get(c) or "").strip() for c in columns)


def row_problems(row) -> tuple[Problem, ...]:
    """The problems of the row's bytes (none for JSON objects)."""
    return row.get(ROW_PROBLEMS, ()) if isinstance(row, dict) else ()


def row_prefix(row) -> str:
    """ "schedules.csv row 4: " for tabular rows, "" for JSON objects."""
    return f"{row[POSITION]}: " if isinstance(row, dict) and row.get(POSITION) else ""


_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A tag starts with a letter, "/" or "!": "children <5" is text, not markup.
_TAG = re.compile(r"<(?:[A-Za-z/!][^<>]*)>")
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d|/tr)\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# 211 exports mark records with tokens such as ###MON### (Miami); they are not for readers.
_EXPORT_MARKER = re.compile(r"###[A-Z0-9_]{1,12}###")


def as_text(value) -> str | None:
    """A scalar as trimmed text (None for empty, containers and booleans)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return str(value)
    if not isinstance(value, str):
        return None
    text = _SURROGATE.sub("\ufffd", value).strip()
    return text or None


def plain_text(value) -> str | None:
    """Text without markup, entities, control characters or export escapes; paragraphs kept."""
    text = as_text(value)
    if text is None:
        return None
    # Several exports (Open211 Miami among them) store newlines as the two characters "\n".
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text:
        text = _SCRIPT.sub(" ", text)
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    text = html.unescape(text) if "&" in text else text
    text = _EXPORT_MARKER.sub(" ", text)
    text = CONTROL_CHARACTERS.sub(" ", text).replace("\t", " ")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None


def one_line(value, limit: int) -> str | None:
    """One line of plain text, cut at `limit` characters."""
    text = plain_text(value)
    if text is None:
        return None
    return cut_text(re.sub(r"\s+", " ", text), limit)


def cut_text(text: str, limit: int) -> str:
    """Text within `limit` characters, cut at a word when one ends near the limit, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def as_object(value) -> dict:
    """The value when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def objects(value) -> list[dict]:
    """The JSON objects in a list (nothing when it is not a list)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def first_nonempty(*lists: list) -> list:
    """The first list with something in it, else an empty one."""
    return next((items for items in lists if items), [])


def dedupe(items: list) -> list:
    """The items without repeats, first occurrences in order."""
    return list(dict.fromkeys(items))


def as_date(value) -> str | None:
    """The YYYY-MM-DD part of a date or timestamp, when it is a real date."""
    text = as_text(value)
    if not text or not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


def as_number(value) -> float | None:
    """A finite number from a number or numeric text, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = as_text(value)
        if text is None:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None
