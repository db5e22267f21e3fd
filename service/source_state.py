"""Each source's last import: written by `linkage index` beside its source cache, read by /metrics.

state.json maps a source's name to its last attempt: `last_attempt` and `last_result`
("ok" or "failed: ..."), and after a success `last_success`, `loaded` and `rejected`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

STATE_FILE = "state.json"


def read_state(directory: str | Path) -> dict:
    """The recorded state of each source in `directory`; {} before the first import.
    A damaged file raises ValueError."""
    path = Path(directory) / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_state(directory: str | Path, state: dict) -> None:
    """Replace the recorded state (written beside, then renamed: readers never see half a file)."""
    path = Path(directory) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{STATE_FILE}.{os.getpid()}")
    staging.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staging, path)
