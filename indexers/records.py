"""What every feed reader produces: records in the native listing shape, or problems.

Readers (Meeting Guide, HSDS, CSV, native) only translate. They yield one `Record` per
feed entry: `data` is a dict in the shape `service.domain.schemas.ListingSchema` loads (the
shape of `data/demo/listings.json`), except that it may leave out what later steps fill
in — the program's stance fields (approach, goals, ...; see `service.domain.programs`) and the
location's coordinates (geocoded from its address). A reader that cannot translate an
entry yields it with `data=None` and the problems, so the report names it and the run
goes on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Mapping

# Offending values are shown in reports, cut short: a 1 MB string helps nobody.
MAX_SHOWN_VALUE = 80
# Markup escaped more than this many times over is left as the text it then is: no tag
# survives a pass, so what remains can only show as text, never as a tag.
MAX_MARKUP_PASSES = 5


def shorten(value) -> str | None:
    """A value as a report shows it: text, at most MAX_SHOWN_VALUE characters, no control characters."""
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    return text if len(text) <= MAX_SHOWN_VALUE else text[:MAX_SHOWN_VALUE] + "…"


class _TextExtractor(HTMLParser):
    """Text of an HTML fragment: tags dropped, entities decoded, script/style bodies dropped
    (they are code, not text), block ends as line breaks."""

    _BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
    _SKIPPED = {"script", "style"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIPPED:
            self.skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in self._BREAKS:  # <br/>: a break, and nothing to skip until a closing tag
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def strip_markup(text: str) -> str:
    """Text without HTML: tags dropped (script and style with their content), comments
    dropped, entities decoded, block ends ("</p>", "<br>") as line breaks.

    Repeated until nothing changes, so markup a feed escaped ("&lt;b&gt;Name&lt;/b&gt;")
    is not left behind as a tag once its entities are decoded. Text that only looks a
    little like markup ("Ages <18", "AA & Al-Anon") is kept as it is.
    """
    for _ in range(MAX_MARKUP_PASSES):
        if "<" not in text and "&" not in text:
            break
        extractor = _TextExtractor()
        try:
            extractor.feed(text)
            extractor.close()
            stripped = "".join(extractor.parts)
        except Exception:  # noqa: BLE001 - hostile markup must not stop a run; fall back
            stripped = re.sub(r"<[^>]*>", "", text)
        if stripped == text:
            break
        text = stripped
    return text


def plain_name(value):
    """A feed's name as plain text: markup stripped (`strip_markup`), runs of whitespace as
    one space, trimmed. Every reader's names go through this (and the pipeline applies it
    again to whatever a reader hands over), so no name is ever shown as literal tags.
    Values that are not text are returned unchanged, for the schema to report."""
    if not isinstance(value, str):
        return value
    return " ".join(strip_markup(value).split())


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field of a record."""

    field: str
    problem: str
    value: object = None


@dataclass(frozen=True)
class Record:
    """One entry of a feed: where it was, what it says (native shape), what is wrong with it.

    A report locates the entry the way the feed's maintainer can find it: by `position`
    (record number, table and row, line), and by the feed's own identifier and name
    (`record_id`, `record_name`: a Meeting Guide slug, a BMLT id_bigint, an HSDS service id).
    `feed_fields` names fields as the feed names them: native dotted field (or a prefix of
    one) -> the feed's field, so a problem the schema finds in `location.lat` is reported
    as `latitude`. Problems a reader finds itself already use the feed's names.
    """

    source: str
    position: str
    data: dict | None
    problems: tuple[Problem, ...] = ()
    # Fields the source said nothing about, which the program's stance may fill in.
    defaults_allowed: frozenset[str] = frozenset()
    record_id: str | None = None
    record_name: str | None = None
    feed_fields: Mapping[str, str] = field(default_factory=dict)

    def feed_field(self, native: str) -> str:
        """`native` as the feed names it: the longest mapped prefix of the dotted name, with
        the rest kept ("sessions.0.start" -> "time" when "sessions.0.start" or "sessions"
        ... is mapped); unmapped names are returned as they are."""
        parts = native.split(".")
        for cut in range(len(parts), 0, -1):
            mapped = self.feed_fields.get(".".join(parts[:cut]))
            if mapped is not None:
                rest = parts[cut:]
                return ".".join([mapped, *rest]) if rest else mapped
        return native


@dataclass(frozen=True)
class ReadOptions:
    """What the command line (or data/sources.toml) tells every reader."""

    source_name: str
    program: str | None = None
    timezone: str | None = None
    country: str = "AU"
    source_url: str | None = None
    licence: str | None = None
    extra: dict = field(default_factory=dict)

    # Worked out once: readers ask for it for every record (the options never change; a
    # cached_property writes the instance's __dict__, which a frozen dataclass allows).
    @functools.cached_property
    def id_prefix(self) -> str:
        """The `source:` part of listing ids: the source name, lower case, safe characters."""
        # Ids must start with a letter or digit (see ListingSchema.id).
        slug = re.sub(r"[^a-z0-9_.-]+", "-", self.source_name.casefold()).strip("-_.")
        return slug or "feed"

    def source_block(self) -> dict:
        """The listing's `source` field for records from this feed."""
        return {"name": self.source_name, "url": self.source_url, "licence": self.licence}
