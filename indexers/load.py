"""Reading native listing files without the rest of an import (tests, quick checks)."""

from __future__ import annotations

from pathlib import Path

from indexers import sources
from indexers.pipeline import Prepared, prepare
from indexers.records import ReadOptions


def read_sources(paths: list[Path], geocoder=None) -> Prepared:
    """Validate native JSON files into listings, with every rejection (no loading)."""
    combined = Prepared()
    for path in paths:
        feed = sources.fetch(str(path))
        part = prepare(sources.read(feed, "native", ReadOptions(source_name=path.stem)), geocoder)
        combined.read += part.read
        combined.listings.extend(part.listings)
        combined.rejections.extend(part.rejections)
    return combined
