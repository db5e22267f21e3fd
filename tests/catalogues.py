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


def app_with_catalogue(catalogue, language: str, tmp_path, po_text: str | None = None):
    """A bare Flask app whose Babel reads `catalogue` (a babel Catalog) as `language`, compiled
    into tmp_path ahead of our own translations, so a test does not depend on what was last
    compiled. `po_text` is written beside it, for the review state read from the .po."""
    from babel.messages.mofile import write_mo
    from flask import Flask

    from service.i18n import init_i18n

    target = tmp_path / language / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as handle:
        write_mo(handle, catalogue)
    if po_text is not None:
        (target / "messages.po").write_text(po_text, encoding="utf-8")
    app = Flask("service")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = f"{TRANSLATIONS};{tmp_path}"
    init_i18n(app)
    return app
