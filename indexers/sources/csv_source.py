"""CSV: a spreadsheet exported as CSV, and a TOML mapping that says which column is which field.

The mapping format is documented in `data/mappings/README.md`; `data/mappings/example.toml`
and `example.csv` show it whole. In short:

    [csv]        delimiter, encoding
    [defaults]   target field = value, for every row whose cell is empty
    [columns]    target field = "Column header", or a table {column, split, map};
                 sessions = {day, start, end, monthly, day_base, duration}

Targets are `service.domain.schemas.ListingSchema` fields (dotted for nested ones, such as
"location.postcode"). Rows with the same id merge into one listing with several sessions.
Every problem in a row becomes a `Problem` in that listing's `Record` (with `data=None`), so
the report names the line, the row's id and name cells and the column's header (the sheet's
own names, never the target's) and the rest of the sheet still loads; nothing in a
sheet makes the reader raise. A broken *mapping* does raise ValueError, naming the key.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from marshmallow import fields as mfields
from marshmallow import validate as mvalidate

from indexers.pipeline import STANCE_FIELDS
from indexers.records import Problem, ReadOptions, Record, plain_name, shorten
from service.domain import vocab
from service.domain.schemas import ID_UNSAFE, ListingSchema
from service.domain.schedule import hhmm
from service.domain.zones import known_zone

# csv's default limit is 128 KiB per cell; a spreadsheet cell may legitimately be bigger and
# a hostile one much bigger. Above this the row is reported, not the whole file lost.
FIELD_SIZE_LIMIT = 32 * 1024 * 1024

# Location targets that say where a listing is. Only these create a `location`; defaults
# (country, state, ...) fill in a location a row gives, never invent one for an online group.
PLACE_TARGETS = ("location.address", "location.locality", "location.state",
                 "location.postcode", "location.lat", "location.lon")

SESSION_KEYS = ("day", "start", "end", "monthly", "day_base", "duration")
COLUMN_OPTIONS = ("column", "split", "map")
CSV_KEYS = ("delimiter", "encoding")
TOP_LEVEL = ("csv", "defaults", "columns")
DAY_BASES = {
    "sunday0": ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
    "monday0": vocab.WEEKDAYS,
    "monday1": (None,) + vocab.WEEKDAYS,
}
RANGES = {"location.lat": 90.0, "location.lon": 180.0}
TRUE_WORDS = ("yes", "y", "true", "1")
FALSE_WORDS = ("no", "n", "false", "0")
MONTHLY_WORDS = {
    "first": "first", "1st": "first", "1": "first",
    "second": "second", "2nd": "second", "2": "second",
    "third": "third", "3rd": "third", "3": "third",
    "fourth": "fourth", "4th": "fourth", "4": "fourth",
    "last": "last",
}
WEEKDAY_NAMES = {"monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
                 "friday": "fri", "saturday": "sat", "sunday": "sun"}
WEEKDAY_ALIASES = {"weds": "wed"}
_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2})(?::(\d{2}))?)?(am|pm|a\.m\.|p\.m\.|a|p)?")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


# --- Target fields, read from the schema so the two never disagree ----------------------

@dataclass(frozen=True)
class Target:
    """A field a column or default may fill: its dotted name, kind and vocabulary."""

    name: str
    kind: str  # "str", "list", "bool" or "float"
    choices: tuple[str, ...] | None = None


def _choices(schema_field) -> tuple[str, ...] | None:
    for validator in schema_field.validators:
        if isinstance(validator, mvalidate.OneOf):
            return tuple(validator.choices)
    return None


def _target(name: str, schema_field) -> Target | None:
    if isinstance(schema_field, mfields.Boolean):
        return Target(name, "bool")
    if isinstance(schema_field, mfields.Number):
        return Target(name, "float")
    if isinstance(schema_field, mfields.List):
        if isinstance(schema_field.inner, mfields.String):
            return Target(name, "list", _choices(schema_field.inner))
        return None  # lists of tables (also_from) have no spreadsheet form
    if isinstance(schema_field, mfields.String):
        return Target(name, "str", _choices(schema_field))
    return None


def _targets() -> dict[str, Target]:
    found: dict[str, Target] = {}
    for name, schema_field in ListingSchema().fields.items():
        if name in ("id", "sessions"):
            continue  # both have their own column forms
        if isinstance(schema_field, mfields.Nested):
            for sub, sub_field in schema_field.schema.fields.items():
                if (target := _target(f"{name}.{sub}", sub_field)) is not None:
                    found[target.name] = target
        elif (target := _target(name, schema_field)) is not None:
            found[name] = target
    return found


TARGETS = _targets()
NESTED = tuple(sorted({name.split(".", 1)[0] for name in TARGETS if "." in name}))


# --- The compiled mapping ----------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One target filled from one column."""

    target: Target
    header: str
    split: str | None = None
    map: dict | None = None  # normalised cell text -> value (checked for the target)


@dataclass(frozen=True)
class Sessions:
    """Where a row's session is: one session per row."""

    day: str
    start: str
    end: str | None = None
    monthly: str | None = None
    day_base: str | None = None
    duration: int | None = None


@dataclass(frozen=True)
class Plan:
    """A validated mapping, ready to read with."""

    delimiter: str = ","
    encoding: str = "utf-8"
    id_header: str | None = None
    columns: tuple[Column, ...] = ()
    sessions: Sessions | None = None
    defaults: dict = field(default_factory=dict)

    def header_of(self, target: str) -> str:
        """The column header a target is read from, as the sheet's maintainer knows it
        (targets filled only by [defaults] keep their own name: that is the mapping's key)."""
        if target == "id" and self.id_header:
            return self.id_header
        for column in self.columns:
            if column.target.name == target:
                return column.header
        return target

    def feed_fields(self, sessions: int) -> dict[str, str]:
        """Linkage's field names -> column headers, for the report (see Record.feed_fields)."""
        fields = {column.target.name: column.header for column in self.columns}
        if self.id_header:
            fields["id"] = self.id_header
        places = [c.header for c in self.columns if c.target.name in PLACE_TARGETS[:4]]
        if places:
            # The geocoder's problems are about the address as a whole: the columns it is in.
            fields["location"] = " / ".join(dict.fromkeys(places))
        if self.sessions:
            fields["sessions"] = self.sessions.day
            for number in range(sessions):
                for key, name in (("day", "weekday"), ("start", "start"), ("end", "end"), ("monthly", "monthly")):
                    if getattr(self.sessions, key):
                        fields[f"sessions.{number}.{name}"] = getattr(self.sessions, key)
        return fields

    def headers(self) -> list[tuple[str, str]]:
        """(field, header) for every column the sheet must have."""
        wanted = [("id", self.id_header)] if self.id_header else []
        wanted += [(c.target.name, c.header) for c in self.columns]
        if self.sessions:
            for key, name in (("day", "weekday"), ("start", "start"), ("end", "end"), ("monthly", "monthly")):
                if getattr(self.sessions, key):
                    wanted.append((f"sessions.{name}", getattr(self.sessions, key)))
        return wanted


def load_mapping(path: Path) -> dict:
    """The mapping in a TOML file, checked; ValueError naming the key when it is wrong."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path.name}: not valid TOML: {exc}") from None
    compile_mapping(raw, path.name)
    return raw


def compile_mapping(raw: dict, origin: str = "mapping") -> Plan:
    """Check a mapping (the TOML's tables as a dict) and compile it; ValueError naming the key."""

    def fail(message: str):
        raise ValueError(f"{origin}: {message}")

    if not isinstance(raw, dict):
        fail("a mapping is a table with [csv], [defaults] and [columns]")
    for key in raw:
        if key not in TOP_LEVEL:
            fail(f"unknown table [{key}]{_hint(key, TOP_LEVEL)}; use {', '.join(TOP_LEVEL)}")
    settings = _table(raw.get("csv", {}), "[csv]", fail)
    for key in settings:
        if key not in CSV_KEYS:
            fail(f"[csv] unknown setting '{key}'{_hint(key, CSV_KEYS)}; use {', '.join(CSV_KEYS)}")
    delimiter = settings.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        fail("[csv] delimiter: must be one character (not a quote or a line break), e.g. \",\" or \"\\t\"")
    encoding = settings.get("encoding", "utf-8")
    if not isinstance(encoding, str) or not _ascii_compatible(encoding):
        fail(f"[csv] encoding: {encoding!r} is not a known ASCII-compatible encoding "
             "(use utf-8, utf-8-sig or cp1252)")

    defaults: dict = {}
    for key, value in _flatten(_table(raw.get("defaults", {}), "[defaults]", fail)).items():
        where = f"[defaults] '{key}'"
        if key in ("id", "sessions"):
            fail(f"{where}: cannot have a default (every row gives its own)")
        target = TARGETS.get(key) or fail(f"{where}: unknown target field{_hint(key, TARGETS)}")
        defaults[key] = _checked(target, value, where, fail)

    columns_raw = _flatten(_table(raw.get("columns", {}), "[columns]", fail))
    if not columns_raw:
        fail("[columns] is missing or empty: say which column gives which field")
    id_header = None
    sessions = None
    columns: list[Column] = []
    for key, spec in columns_raw.items():
        where = f"[columns] '{key}'"
        if key == "id":
            id_header = _column_spec(spec, where, ("column",), fail)["column"]
        elif key == "sessions":
            sessions = _sessions(spec, where, fail)
        else:
            target = TARGETS.get(key) or fail(f"{where}: unknown target field{_hint(key, TARGETS)}")
            options = _column_spec(spec, where, COLUMN_OPTIONS, fail)
            split = options.get("split")
            if split is not None:
                if target.kind != "list":
                    fail(f"{where}: split: only list fields take split ({key} holds one value)")
                if not isinstance(split, str) or not split:
                    fail(f"{where}: split: must be a non-empty string such as \";\"")
            columns.append(Column(target, options["column"], split,
                                  _value_map(target, options.get("map"), f"{where}: map", fail)))
    if "name" not in columns_raw:
        fail("[columns] 'name': required (which column holds the listing's name?)")
    if "kind" not in columns_raw and "kind" not in defaults:
        fail("'kind': give a column in [columns] or a value in [defaults] (group, service or helpline)")
    return Plan(delimiter, encoding, id_header, tuple(columns), sessions, defaults)


def _table(value, where: str, fail) -> dict:
    if not isinstance(value, dict):
        fail(f"{where}: must be a table")
    return value


def _flatten(table: dict) -> dict:
    """Unquoted dotted keys (location.lat = ...) arrive as nested tables; make them dotted."""
    flat: dict = {}
    for key, value in table.items():
        if key in NESTED and isinstance(value, dict) and "column" not in value:
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = value
    return flat


def _hint(key: str, known) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _ascii_compatible(encoding: str) -> bool:
    """Lines are split on bytes, so the encoding must write ASCII (quotes, commas, \\n) as ASCII."""
    try:
        codecs.lookup(encoding)
        return b'a,"\r\n'.decode(encoding) == 'a,"\r\n'
    except (LookupError, UnicodeDecodeError):
        return False


def _column_spec(spec, where: str, allowed: tuple[str, ...], fail) -> dict:
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        fail(f"{where}: must be a column header or a table with {', '.join(allowed)}")
    for key in spec:
        if key not in allowed:
            fail(f"{where}: unknown option '{key}'{_hint(key, allowed)}; use {', '.join(allowed)}")
    header = spec.get("column")
    if not isinstance(header, str) or not header.strip():
        fail(f"{where}: column: must be the column's header text")
    return {**spec, "column": header.strip()}


def _sessions(spec, where: str, fail) -> Sessions:
    if not isinstance(spec, dict):
        fail(f"{where}: must be a table such as {{ day = \"Day\", start = \"Start\", end = \"End\" }}")
    for key in spec:
        if key not in SESSION_KEYS:
            fail(f"{where}: unknown option '{key}'{_hint(key, SESSION_KEYS)}; use {', '.join(SESSION_KEYS)}")
    for key in ("day", "start"):
        if key not in spec:
            fail(f"{where}: {key}: required (the column holding each session's {key})")
    for key in ("day", "start", "end", "monthly"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
            fail(f"{where}: {key}: must be a column header")
    base = spec.get("day_base")
    if base is not None and base not in DAY_BASES:
        fail(f"{where}: day_base: must be one of {', '.join(DAY_BASES)}")
    duration = spec.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)
                                 or not 1 <= duration < 24 * 60):
        fail(f"{where}: duration: minutes, a whole number from 1 to 1439")
    strip = lambda key: spec[key].strip() if key in spec else None  # noqa: E731
    return Sessions(strip("day"), strip("start"), strip("end"), strip("monthly"), base, duration)


def _value_map(target: Target, table, where: str, fail) -> dict | None:
    if table is None:
        return None
    if not isinstance(table, dict) or not table:
        fail(f"{where}: must be a table of \"cell text\" = value")
    translated: dict = {}
    for cell, value in table.items():
        key = _cell_key(cell)
        if key in translated:
            fail(f"{where} '{cell}': given twice (cell text matches ignoring case and spaces)")
        translated[key] = _checked(target, value, f"{where} '{cell}'", fail, allow_empty=True)
    return translated


def _checked(target: Target, value, where: str, fail, allow_empty: bool = False):
    """A default or map value, checked and normalised for its target."""
    if target.kind == "list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            fail(f"{where}: {target.name} is a list: give text or a list of text")
        if not items and not allow_empty:
            fail(f"{where}: an empty list")
        return list(dict.fromkeys(_choice_or_fail(target, item, where, fail) for item in items))
    if target.kind == "bool":
        if isinstance(value, bool):
            return value
        parsed = _parse_bool(value) if isinstance(value, str) else None
        if parsed is None:
            fail(f"{where}: {target.name} is true or false")
        return parsed
    if target.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(f"{where}: {target.name} is a number")
        if abs(value) > RANGES.get(target.name, math.inf):
            fail(f"{where}: {target.name} must be between -{RANGES[target.name]:g} and {RANGES[target.name]:g}")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        fail(f"{where}: {target.name} is text (not empty)")
    text = _choice_or_fail(target, value, where, fail)
    if target.name == "timezone" and known_zone(text) is None:
        fail(f"{where}: {text!r} is not an IANA time zone such as Australia/Sydney")
    return text


def _choice_or_fail(target: Target, value: str, where: str, fail) -> str:
    if target.choices is None:
        return value.strip()
    choice = _vocab(value, target.choices)
    if choice is None:
        fail(f"{where}: {value!r} is not one of {', '.join(target.choices)}")
    return choice


# --- Cell values ---------------------------------------------------------------------------

def _cell_key(text: str) -> str:
    """How map keys and cells are compared: case-insensitive, spaces collapsed."""
    return " ".join(str(text).casefold().split())


def _vocab(value: str, choices: tuple[str, ...]) -> str | None:
    """A vocabulary value as written ("in_person") or loosely ("In person", "in-person")."""
    if value in choices:
        return value
    loose = re.sub(r"[\s\-]+", "_", value.strip().casefold())
    return loose if loose in choices else None


def _parse_bool(text: str) -> bool | None:
    word = text.strip().casefold()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def parse_weekday(text: str, day_base: str | None) -> tuple[str | None, str | None]:
    """("mon", None) from "Monday", "mon", "Tues", "1"...; (None, why) otherwise."""
    word = text.strip().casefold().rstrip(".")
    if word.isdigit():
        if day_base is None:
            return None, "a numbered weekday needs sessions.day_base in the mapping (sunday0, monday0 or monday1)"
        days = DAY_BASES[day_base]
        number = int(word)
        if number < len(days) and days[number]:
            return days[number], None
        return None, f"not a weekday number for day_base {day_base}"
    if word.endswith("days"):
        word = word[:-1]  # "Mondays"
    if word in WEEKDAY_ALIASES:
        return WEEKDAY_ALIASES[word], None
    matches = {short for full, short in WEEKDAY_NAMES.items() if len(word) >= 2 and full.startswith(word)}
    if len(matches) == 1:
        return matches.pop(), None
    return None, "unknown weekday"


def parse_time(text: str) -> tuple[str | None, str | None]:
    """("19:30", None) from "19:30", "7:30 PM", "7.30pm", "7pm", "1930", "noon"; (None, why) otherwise."""
    word = re.sub(r"\s+", "", text.casefold())
    if word in ("noon", "midday"):
        return "12:00", None
    if word == "midnight":
        return "00:00", None
    if re.fullmatch(r"\d{4}", word):
        word = f"{word[:2]}:{word[2:]}"
    match = _TIME.fullmatch(word)
    if not match:
        return None, "not a time like 19:00 or 7pm"
    hour, minute = int(match[1]), int(match[2] or 0)
    if match[3] not in (None, "00"):
        return None, "seconds in a meeting time"
    suffix = match[4]
    if suffix:
        if not 1 <= hour <= 12 or minute > 59:
            return None, "not a 12-hour time"
        hour = hour % 12 + (12 if suffix.startswith("p") else 0)
    else:
        if match[2] is None:
            return None, "a bare number: say 7pm or 19:00"
        if hour == 24 and minute == 0:
            hour = 0  # an end at 24:00 is midnight; an end before the start runs past midnight
        if hour > 23 or minute > 59:
            return None, "not a 24-hour time"
    return f"{hour:02d}:{minute:02d}", None


def parse_monthly(text: str) -> str | None:
    """"first" from "1st", "First Saturday", "1"...; None when not a monthly rule."""
    words = _cell_key(text).split()
    return MONTHLY_WORDS.get(words[0]) if words else None


def _convert(column: Column, cell: str):
    """(value, None) or (None, Problem) for one non-empty cell; value None means absent."""
    target = column.target

    def problem(why: str, value=cell):
        return None, Problem(column.header, why, shorten(value))

    def translate(text: str):
        if column.map is not None:
            found = column.map.get(_cell_key(text), _MISSING)
            if found is not _MISSING:
                return found
        return text

    if target.kind == "list":
        parts = cell.split(column.split) if column.split else [cell]
        values: list[str] = []
        for part in (p.strip() for p in parts):
            if not part:
                continue
            translated = translate(part)
            for item in translated if isinstance(translated, list) else [translated]:
                choice = _vocab(item, target.choices) if target.choices else item
                if choice is None:
                    return problem(f"not one of {', '.join(target.choices)}", part)
                values.append(choice)
        return (list(dict.fromkeys(values)) or None), None
    value = translate(cell)
    if not isinstance(value, str):
        return value, None  # a map value, checked for this target when the mapping loaded
    if target.kind == "bool":
        parsed = _parse_bool(value)
        if parsed is None:
            return problem("not yes/no, true/false, y/n or 1/0")
        return parsed, None
    if target.kind == "float":
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            return problem("not a number")
        number = float(text)
        limit = RANGES.get(target.name, math.inf)
        if abs(number) > limit:
            return problem(f"out of range (-{limit:g} to {limit:g})")
        return number, None
    if target.choices:
        choice = _vocab(value, target.choices)
        if choice is None:
            return problem(f"not one of {', '.join(target.choices)}")
        return choice, None
    return value.strip(), None


_MISSING = object()


# --- Reading -------------------------------------------------------------------------------

@dataclass
class _Row:
    line: int
    values: dict
    session: dict | None
    problems: list[Problem]
    # The row's own id and name cells as written, for the report (None when absent).
    raw_id: str | None = None
    raw_name: str | None = None


@dataclass
class _Group:
    rows: list[_Row] = field(default_factory=list)


def read_csv(path: Path, mapping: dict, options: ReadOptions) -> Iterator[Record]:
    """Records of a CSV sheet read with a mapping (see `load_mapping`): one per listing id.

    The mapping is checked now (ValueError naming the key); the sheet's problems become
    Problems in the records, positioned "line N" (the header is line 1) or "lines N, M" for
    a listing merged from several rows.
    """
    plan = compile_mapping(mapping)
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
    return _read(Path(path), plan, options)


def _read(path: Path, plan: Plan, options: ReadOptions) -> Iterator[Record]:
    source = path.name
    lines, undecodable = _decode_lines(path.read_bytes(), plan.encoding)
    rows = _csv_rows(lines, plan.delimiter)
    header_row = None
    for first, last, cells, error in rows:
        if error or cells is None or any(c.strip() for c in cells):
            header_row = (first, last, cells, error)
            break
    if header_row is None:
        yield Record(source, "line 1", None, (Problem("_file", "empty: no header row"),))
        return
    first, last, cells, error = header_row
    problems = _line_problems(first, last, undecodable, plan.encoding)
    if error:
        problems.append(Problem("_row", f"header cannot be read as CSV: {error}"))
    if problems:
        yield Record(source, f"line {first}", None, tuple(problems))
        return
    header = [c.strip() for c in cells]
    header[0] = header[0].lstrip("\ufeff").strip()  # a BOM the encoding setting did not remove
    index, problems = _resolve(header, plan)
    if problems:
        yield Record(source, f"line {first}", None, tuple(problems))
        return

    groups: dict[object, _Group] = {}
    raw_ids: dict[str, tuple[str, int]] = {}  # id -> (the cell it came from, its first line)
    for first, last, cells, error in rows:
        if cells is not None and not error and not any(c.strip() for c in cells):
            continue  # blank lines and rows of empty cells
        row = _row(first, last, cells, error, header, index, plan, undecodable)
        key = _listing_id(row, cells or [], index, plan, options, raw_ids)
        groups.setdefault(key, _Group()).rows.append(row)
    for key, group in groups.items():
        yield _record(source, key, group, plan, options)


def _decode_lines(raw: bytes, encoding: str) -> tuple[list[str], dict[int, str]]:
    """Physical lines (split on bytes: \\r\\n, \\n or \\r) as text, and the lines that did not decode.

    A line that does not decode is kept, with U+FFFD for its bad bytes, so the CSV structure
    around it still parses; the rows touching it are reported.
    """
    lines: list[str] = []
    undecodable: dict[int, str] = {}
    for number, line in enumerate(raw.splitlines(keepends=True), start=1):
        try:
            lines.append(line.decode(encoding))
        except UnicodeDecodeError as exc:
            undecodable[number] = f"byte 0x{line[exc.start]:02X} at line {number}, byte {exc.start + 1}"
            lines.append(line.decode(encoding, errors="replace"))
    return lines, undecodable


def _csv_rows(lines: list[str], delimiter: str):
    """(first line, last line, cells or None, csv error or None) for every row."""
    reader = csv.reader(iter(lines), delimiter=delimiter)
    previous = 0
    while True:
        try:
            cells = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as exc:
            cells, error = None, str(exc)
        first, previous = previous + 1, reader.line_num
        yield first, max(first, previous), cells, error


def _line_problems(first: int, last: int, undecodable: dict[int, str], encoding: str) -> list[Problem]:
    return [Problem("_row", f"not valid {encoding}", undecodable[n])
            for n in range(first, last + 1) if n in undecodable]


def _resolve(header: list[str], plan: Plan) -> tuple[dict[str, int], list[Problem]]:
    """Each mapped header's index in the sheet (exact text first, then ignoring case and spaces)."""
    index: dict[str, int] = {}
    problems: list[Problem] = []
    loose = [_cell_key(h) for h in header]
    for target, wanted in plan.headers():
        if wanted in index:
            continue
        found = [i for i, h in enumerate(header) if h == wanted] or [
            i for i, h in enumerate(loose) if h == _cell_key(wanted)]
        if len(found) == 1:
            index[wanted] = found[0]
        elif found:
            problems.append(Problem(wanted, f"appears {len(found)} times in the header (mapped to {target})"))
        else:
            problems.append(Problem(wanted, f"not in the header (mapped to {target})"
                                            f"{_hint(wanted, [h for h in header if h])}"))
    return index, problems


def _row(first, last, cells, error, header, index, plan: Plan, undecodable) -> _Row:
    """One row's values (flat, by dotted target), its session and its problems."""
    problems = _line_problems(first, last, undecodable, plan.encoding)
    if error:
        problems.append(Problem("_row", f"cannot be read as CSV: {error}"))
        return _Row(first, {}, None, problems)
    extra = [c for c in cells[len(header):] if c.strip()]
    if len(cells) < len(header) or extra:
        spans = f"; the row runs over lines {first}-{last}: an unclosed quote?" if last > first else ""
        problems.append(Problem("_row", f"{len(cells)} cells but the header has {len(header)}{spans}",
                                shorten(plan.delimiter.join(cells))))
    if problems:
        return _Row(first, {}, None, problems)  # cells may be shifted or garbled: trust none
    cell = lambda wanted: cells[index[wanted]].strip()  # noqa: E731
    values: dict = {}
    filled: set[str] = set()
    for column in plan.columns:
        text = cell(column.header)
        if not text:
            continue  # an empty cell says nothing: absent, not ""
        filled.add(column.target.name)
        value, problem = _convert(column, text)
        if problem:
            problems.append(problem)
        elif value is not None:
            # Names are plain text, by the rule every reader shares.
            values[column.target.name] = plain_name(value) if column.target.name == "name" else value
    if ("location.lat" in filled) != ("location.lon" in filled):
        given = "location.lat" if "location.lat" in filled else "location.lon"
        column = next(c for c in plan.columns if c.target.name == given)
        problems.append(Problem(column.header, "latitude and longitude come together (or leave both empty)",
                                shorten(cell(column.header))))
    session = _session(plan.sessions, cell, problems) if plan.sessions else None
    raw_id = cell(plan.id_header) if plan.id_header else ""
    raw_name = next((cell(c.header) for c in plan.columns if c.target.name == "name"), "")
    return _Row(first, values, session, problems, raw_id or None, raw_name or None)


def _session(spec: Sessions, cell, problems: list[Problem]) -> dict | None:
    texts = {key: cell(getattr(spec, key)) if getattr(spec, key) else ""
             for key in ("day", "start", "end", "monthly")}
    if not any(texts.values()):
        return None  # a row without a session (a service, or a helpline)
    found_problems = len(problems)

    def bad(key: str, why: str):
        # Named by the column's header: the sheet's maintainer knows no other name.
        problems.append(Problem(getattr(spec, key), why, shorten(texts[key]) if texts[key] else None))

    weekday = start = end = monthly = None
    if not texts["day"]:
        problems.append(Problem(spec.day, "missing: a session needs its weekday"))
    else:
        weekday, why = parse_weekday(texts["day"], spec.day_base)
        if why:
            bad("day", why)
    if not texts["start"]:
        problems.append(Problem(spec.start, "missing: a session needs its start time"))
    else:
        start, why = parse_time(texts["start"])
        if why:
            bad("start", why)
    if texts["end"]:
        end, why = parse_time(texts["end"])
        if why:
            bad("end", why)
    elif start and spec.duration:
        end = hhmm((int(start[:2]) * 60 + int(start[3:]) + spec.duration) % (24 * 60))
    elif start and spec.end:
        problems.append(Problem(spec.end, "missing (sessions.duration in the mapping can supply one)"))
    elif start:
        # No column to name: the mapping has none, and that is where the fix goes.
        problems.append(Problem("sessions.end", "no end column in the mapping (sessions.end, or "
                                                "sessions.duration to supply one)"))
    if texts["monthly"]:
        monthly = parse_monthly(texts["monthly"])
        if monthly is None:
            bad("monthly", "not first, second, third, fourth or last")
    if len(problems) > found_problems:
        return None
    session = {"weekday": weekday, "start": start, "end": end}
    if monthly:
        session["monthly"] = monthly
    return session


def _listing_id(row: _Row, cells: list[str], index, plan: Plan, options: ReadOptions, raw_ids) -> object:
    """The listing id a row belongs to, or ("line", N) for a row that has none (and problems)."""
    if plan.id_header:
        position = index[plan.id_header]
        text = cells[position].strip() if position < len(cells) else ""
        if not text:
            if not row.problems:  # an unreadable row has said what is wrong already
                row.problems.append(Problem(plan.id_header, "missing: every row needs its listing's id"))
            return ("line", row.line)
        cleaned = ID_UNSAFE.sub("-", text).strip("-")[:120]
        if not cleaned:
            row.problems.append(Problem(plan.id_header, "no letters or digits to make an id from", shorten(text)))
            return ("line", row.line)
        listing_id = f"{options.id_prefix}:{cleaned}"
        earlier = raw_ids.setdefault(listing_id, (text, row.line))
        if earlier[0] != text:
            # "AA 12" and "AA/12" both clean to "AA-12": merging them would join two meetings.
            row.problems.append(Problem(plan.id_header, f"becomes {listing_id} like '{shorten(earlier[0])}' on line "
                                              f"{earlier[1]}; make the ids differ in letters or digits",
                                        shorten(text)))
            return ("line", row.line)
        return listing_id
    # No id column: the id must still be the same on every import, or each refresh would
    # drop and re-add every listing (and break links to them), so it cannot be the row
    # number. It is a hash of what identifies a meeting - its name, where, its weekday and
    # start - normalised so spacing and case do not matter. Without ids rows cannot be told
    # apart as "the same meeting", so each row is its own listing (identical rows merge);
    # renaming a meeting or moving its time gives it a new id. Hence: prefer an id column.
    if row.problems:
        return ("line", row.line)  # its values are not trustworthy enough to identify it
    values, session = row.values, row.session or {}
    parts = [values.get(k, "") for k in ("name", "location.address", "location.locality",
                                          "location.postcode")]
    parts += [session.get("weekday", ""), session.get("start", "")]
    digest = hashlib.sha256("\x1f".join(_cell_key(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{options.id_prefix}:{digest[:16]}"


def _record(source: str, key, group: _Group, plan: Plan, options: ReadOptions) -> Record:
    """A group of rows as one listing's record."""
    lines = [row.line for row in group.rows]
    several = len(lines) > 1
    position = f"lines {', '.join(map(str, lines))}" if several else f"line {lines[0]}"

    def at(problem: Problem, line: int) -> Problem:
        # A merged listing's position names all its lines; each problem names its own.
        return Problem(problem.field, f"line {line}: {problem.problem}", problem.value) if several else problem

    problems = [at(p, row.line) for row in group.rows for p in row.problems]
    merged: dict = {}
    origin: dict[str, int] = {}
    sessions: list[dict] = []
    for row in group.rows:
        for target, value in row.values.items():
            if target not in merged:
                merged[target], origin[target] = value, row.line
            elif not _same(merged[target], value):
                problems.append(at(Problem(plan.header_of(target), f"differs from line {origin[target]} "
                                                   f"({shorten(_shown(merged[target]))})", _shown(value)), row.line))
        if row.session and row.session not in sessions:
            sessions.append(row.session)
    # The report finds the listing by its own id and name cells (the first row's, when merged).
    named = {"record_id": next((row.raw_id for row in group.rows if row.raw_id), None),
             "record_name": next((row.raw_name for row in group.rows if row.raw_name), None),
             "feed_fields": plan.feed_fields(len(sessions))}
    if problems:
        return Record(source, position, None, tuple(problems), **named)
    data, warnings = _listing(key, merged, sessions, plan, options)
    allowed = frozenset(name for name in STANCE_FIELDS if name not in data)
    return Record(source, position, data, tuple(warnings), allowed, **named)


def _same(a, b) -> bool:
    return set(a) == set(b) if isinstance(a, list) and isinstance(b, list) else a == b


def _shown(value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _listing(listing_id: str, merged: dict, sessions: list[dict], plan: Plan,
             options: ReadOptions) -> tuple[dict, list[Problem]]:
    """Cells, then the mapping's defaults, then the command line's options, as a native listing."""
    warnings: list[Problem] = []
    given = dict(merged)
    has_place = any(name in given for name in PLACE_TARGETS)
    for name, value in plan.defaults.items():
        if name.startswith("location.") and not has_place:
            continue
        given.setdefault(name, list(value) if isinstance(value, list) else value)
    if options.program and "program" not in given:
        given["program"] = options.program
    if has_place:
        given.setdefault("location.country", options.country)
        postcode = given.get("location.postcode")
        if given["location.country"] == "AU" and postcode and re.fullmatch(r"\d{3}", postcode):
            given["location.postcode"] = "0" + postcode  # spreadsheets drop the 0 of 0800
        if given.get("location.lat") == 0 and given.get("location.lon") == 0:
            warnings.append(Problem(plan.header_of("location.lat"), "0, 0 is a spreadsheet's blank, not a "
                                                                    "place: left for the geocoder", "0, 0"))
            del given["location.lat"], given["location.lon"]
    if "timezone" not in given:
        state = str(given.get("location.state", "")).upper()
        zone = options.timezone or (vocab.STATES.get(state) if given.get("location.country") == "AU" else None)
        if zone:
            given["timezone"] = zone

    data: dict = {"id": listing_id}
    nested: dict[str, dict] = {}
    for name, value in given.items():
        if "." in name:
            head, sub = name.split(".", 1)
            nested.setdefault(head, {})[sub] = value
        else:
            data[name] = value
    if has_place:
        location = nested.get("location", {})
        location.setdefault("lat", None)  # the pipeline geocodes from the address
        location.setdefault("lon", None)
        data["location"] = location
    for head in ("contact", "first_visit"):
        if head in nested:
            data[head] = nested[head]
    data["source"] = {**options.source_block(), **nested.get("source", {})}
    data["sessions"] = sessions
    return data, warnings


__all__ = ["load_mapping", "read_csv", "compile_mapping", "parse_weekday", "parse_time", "parse_monthly"]
