"""The arrows between the stages point one way: indexers -> service, never back, and the
backends answer before scoring runs, so no backend imports the search stage.

Every import is read from the source (function-local ones too), so a hidden import fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def offenders(folder: str, forbidden: str) -> dict[str, list[str]]:
    """Files under `folder` that import `forbidden` or anything inside it."""
    hits = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        bad = sorted(m for m in imported_modules(path) if m == forbidden or m.startswith(forbidden + "."))
        if bad:
            hits[str(path.relative_to(ROOT))] = bad
    return hits


def test_the_reader_finds_hidden_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from indexers.links import x\n    import indexers.cli\n")
    assert imported_modules(sample) == {"indexers.links", "indexers.links.x", "indexers.cli"}


@pytest.mark.parametrize("folder, forbidden", [
    ("service", "indexers"),          # the service never reaches back into the importers
    ("service/backends", "service.search"),  # scoring and reasons run after the backend
    ("service/domain", "service.backends"),  # the domain knows no store
    ("service/domain", "service.search"),
    ("service/domain", "flask"),
])
def test_arrows_point_one_way(folder, forbidden):
    assert offenders(folder, forbidden) == {}
