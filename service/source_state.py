"""Each source's last import: written by `linkage index` beside its source cache, read by /metrics.

state.json maps a source's name to its last attempt: `last_attempt` and `last_result`
("ok" or "failed: ..."), and after a success `last_success`, `loaded` and `rejected`.
It is written beside, flushed to disk, then renamed (and the folder flushed), so a crash
leaves the old state or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

STATE_FILE = "state.json"


def read_state(directory: str | Path) -> dict:
    """The recorded state of each source in `directory`; {} before the first import.
    A damaged file (torn, not JSON, not a mapping of sources) raises ValueError."""
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return {}
    state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict) or not all(isinstance(entry, dict) for entry in state.values()):
        raise ValueError(f"{STATE_FILE} does not map each source to its last import")
    return state


def write_state(directory: str | Path, state: dict) -> None:
    """Replace the recorded state (readers never see half a file, a crash never leaves one)."""
    path = Path(directory) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, json.dumps(state, indent=1, sort_keys=True) + "\n")


def replace_file(path: Path, text: str) -> None:
    """Write `text` beside `path`, flush it to disk, rename it over `path`, flush the folder."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        with open(staging, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    flush_folder(path.parent)


def flush_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, so a rename in it survives a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
