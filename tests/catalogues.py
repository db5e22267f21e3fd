"""The translation catalogues as tests read them: a language's `.po` (its words are the
expected answers, being data a translator wrote, not code under test), provided the compiled
`.mo` the app serves is at least as new."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from service.i18n import TRANSLATIONS


def read_catalogue(code: str, domain: str):
    """The language's catalogue of `domain` ("messages" or "widget"); a skip naming the fix when
    its compiled .mo is missing or older (`make test` compiles them first)."""
    po = TRANSLATIONS / code / "LC_MESSAGES" / f"{domain}.po"
    mo = po.with_suffix(".mo")
    assert po.is_file(), f"{po.relative_to(TRANSLATIONS.parent.parent)} is missing"
    if not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime:
        pytest.skip(f"{mo.name} for {code} is missing or older than its .po: run `make catalogues`")
    with open(po, "rb") as handle:
        return read_po(handle)
