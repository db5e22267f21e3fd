"""Feed readers, and choosing one: every reader yields `indexers.records.Record`s.

A SOURCE on the command line is a file, a directory (an HSDS tabular data package) or an
http(s) URL; `--format auto` looks at the content to choose the reader. A BMLT root server's
address (".../main_server", or its `client_interface/json/` query) is not downloaded as one
file: the BMLT reader asks the server page by page.
"""

from __future__ import annotations

import json
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from indexers.records import ReadOptions, Record
from indexers.sources.native import FeedError, decode, parse_json

FORMATS = ("auto", "meeting-guide", "bmlt", "hsds", "csv", "native")
# A feed bigger than this is refused rather than read into memory.
MAX_FEED_BYTES = 200 * 1024 * 1024
FETCH_TIMEOUT_S = 60
# All the pages of one BMLT root server together.
ROOT_SERVER_DEADLINE_S = 10 * FETCH_TIMEOUT_S


@dataclass(frozen=True)
class Feed:
    """A source's content: bytes for files and URLs, a path for directories. `url` is where
    the bytes came from; a BMLT root server's address has a url and no bytes (yet)."""

    name: str
    raw: bytes | None = None
    directory: Path | None = None
    url: str | None = None


def fetch(spec: str) -> Feed:
    """Read a file, directory or http(s) URL (bounded in size and time)."""
    if spec.startswith(("http://", "https://")):
        if is_bmlt_address(spec):
            # Reports name the server: every BMLT address ends the same way (main_server, json).
            return Feed(name=urllib.parse.urlsplit(spec).netloc or spec, url=spec)
        return Feed(name=spec.rstrip("/").rsplit("/", 1)[-1] or spec, raw=_download(spec), url=spec)
    path = Path(spec)
    if path.is_dir():
        return Feed(name=path.name, directory=path)
    try:
        if path.stat().st_size > MAX_FEED_BYTES:
            raise FeedError(f"{path.name}: larger than {MAX_FEED_BYTES // 2**20} MB")
        return Feed(name=path.name, raw=path.read_bytes())
    except OSError as exc:
        raise FeedError(f"{spec}: cannot read: {exc.strerror or exc}") from None


def is_bmlt_address(url: str) -> bool:
    """A BMLT root server (".../main_server") or its JSON client interface, which the BMLT
    reader queries itself (its tsml interface is a Meeting Guide feed, downloaded as usual)."""
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    return path.endswith("/main_server") or "/client_interface/json" in path


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "linkage-indexer"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
            raw = response.read(MAX_FEED_BYTES + 1)
    except OSError as exc:
        raise FeedError(f"{url}: could not fetch: {exc}") from None
    if len(raw) > MAX_FEED_BYTES:
        raise FeedError(f"{url}: larger than {MAX_FEED_BYTES // 2**20} MB")
    return raw


def detect(feed: Feed) -> str:
    """The format of a feed, from its shape (not its name alone)."""
    return _detected(feed)[0]


def _detected(feed: Feed) -> tuple[str, object]:
    """`detect`'s format, and the feed's JSON value when it had to parse the feed to tell
    (None otherwise): a reader given it need not parse a large feed a second time."""
    if feed.directory is not None:
        return "hsds", None
    if feed.raw is None and feed.url is not None:
        return "bmlt", None
    if feed.name.lower().endswith(".csv"):
        return "csv", None
    text = feed.raw.lstrip()[:1]
    if text not in (b"[", b"{"):
        return "native", None  # JSON Lines; the reader reports what it cannot parse
    try:
        data = parse_json(decode(feed.raw, feed.name), feed.name)
    except FeedError:
        return "native", None  # the reader reports the error with its position
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(data, dict) and ("contents" in data or "organization" in data or "service_at_locations" in data):
        return "hsds", data
    from indexers.sources.bmlt import looks_like_bmlt

    if looks_like_bmlt(data):
        return "bmlt", data
    if isinstance(data, dict) and isinstance(data.get("meetings"), list):
        return "meeting-guide", data
    if isinstance(first, dict):
        if "kind" in first and ("sessions" in first or "formats" in first):
            return "native", data
        if "day" in first or "time" in first or "conference_url" in first:
            return "meeting-guide", data
        if "service_at_locations" in first or "organization" in first:
            return "hsds", data
    return "native", data


def read(feed: Feed, fmt: str, options: ReadOptions, mapping: Path | None = None) -> Iterator[Record]:
    """Records of a feed in the given format (after `detect` for auto)."""
    parsed = None
    if fmt == "auto":
        fmt, parsed = _detected(feed)
    if fmt == "native":
        from indexers.sources.native import read_native

        return read_native(_bytes(feed), options, feed.name, parsed)
    if fmt == "meeting-guide":
        from indexers.sources.meeting_guide import read_meeting_guide

        return read_meeting_guide(_bytes(feed), options, feed.name, parsed)
    if fmt == "bmlt":
        return _read_bmlt(feed, options)
    if fmt == "hsds":
        from indexers.sources.hsds import read_hsds

        if feed.directory is not None:
            return read_hsds(feed.directory, options)
        return _read_hsds_bytes(feed, options)
    if fmt == "csv":
        from indexers.sources.csv_source import load_mapping, read_csv

        if mapping is None:
            raise FeedError(f"{feed.name}: a CSV feed needs --mapping FILE.toml (see data/mappings/)")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / feed.name
            path.write_bytes(_bytes(feed))
            return iter(list(read_csv(path, load_mapping(mapping), options)))
    raise FeedError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class Part:
    """A run of a feed's entries that reads on its own, in this process or another:
    `read_part` gives the records the whole feed's reader gives for these entries."""

    format: str
    options: ReadOptions
    source: str
    entries: list
    first_number: int  # the first entry's number in the whole feed ("record N")


def split(feed: Feed, fmt: str, options: ReadOptions, size: int) -> list[Part] | None:
    """The feed's entries in runs of `size`, for a format whose entries translate each on
    its own (Meeting Guide); None for the others, which are read whole (`read`). A feed
    that cannot be read at all raises FeedError here, as `read` would."""
    parsed = None
    if fmt == "auto":
        fmt, parsed = _detected(feed)
    if fmt != "meeting-guide":
        return None
    from indexers.sources.meeting_guide import meeting_guide_entries

    entries = meeting_guide_entries(_bytes(feed), options, feed.name, parsed)
    return [Part(fmt, options, feed.name, entries[start:start + size], start + 1)
            for start in range(0, len(entries), size)] or [Part(fmt, options, feed.name, [], 1)]


def read_part(part: Part) -> Iterator[Record]:
    """The records of a run of a feed's entries (see `split`)."""
    from indexers.sources.meeting_guide import read_meetings

    return read_meetings(part.entries, part.options, part.source, part.first_number)


def _bytes(feed: Feed) -> bytes:
    if feed.raw is None and feed.url is not None:
        return _download(feed.url)  # a BMLT-looking address read in another format
    if feed.raw is None:
        raise FeedError(f"{feed.name}: a directory can only be an HSDS data package")
    return feed.raw


def _read_bmlt(feed: Feed, options: ReadOptions) -> Iterator[Record]:
    """A saved GetSearchResults response; or, for a URL whose answer is not one (a root
    server's page), the root server asked page by page."""
    from indexers.sources.bmlt import fetch_root_server, read_bmlt, read_meetings

    if feed.raw is not None:
        try:
            data = json.loads(feed.raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            data = None
        if feed.url is None or data is not None:
            return read_bmlt(feed.raw, options, feed.name)  # reports what is wrong with it
    if feed.url is None:
        raise FeedError(f"{feed.name}: a directory can only be an HSDS data package")
    meetings, formats, default_closed = fetch_root_server(
        feed.url, max_bytes=MAX_FEED_BYTES, timeout_s=FETCH_TIMEOUT_S, deadline_s=ROOT_SERVER_DEADLINE_S)
    return read_meetings(meetings, formats, options, feed.name, default_closed)


def _read_hsds_bytes(feed: Feed, options: ReadOptions) -> Iterator[Record]:
    from indexers.sources.hsds import read_hsds

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (feed.name if feed.name.endswith(".json") else "feed.json")
        path.write_bytes(_bytes(feed))
        yield from list(read_hsds(path, options))
