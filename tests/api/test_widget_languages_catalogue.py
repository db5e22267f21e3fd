"""The widget's message template is current: every string widget.js marks is in widget.pot and
in the English source catalogue (else: run the Makefile's `translations` target), and the
search page's strings are in messages.pot."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "service" / "translations"


def ids_of(path: Path) -> set[str]:
    """The message ids of a .po/.pot (a plural message by its singular)."""
    with open(path, "rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def extracted(method, path: str, keywords=None) -> set[str]:
    """What pybabel finds in one file (a plural message by its singular)."""
    found = extract_from_file(method, str(ROOT / path), keywords=keywords or DEFAULT_KEYWORDS)
    return {m[1] if isinstance(m[1], str) else m[1][0] for m in found}


def test_widget_pot_and_english_catalogue_hold_every_widget_string():
    # The keywords babel-widget.cfg names: t(message), tn(singular, plural, n), N_(message).
    keywords = parse_keywords(["t", "tn:1,2", "N_"])
    found = extracted("javascript", "service/static/widget.js", keywords)
    assert len(found) > 150
    assert found - ids_of(TRANSLATIONS / "widget.pot") == set()
    assert found - ids_of(TRANSLATIONS / "en" / "LC_MESSAGES" / "widget.po") == set()


def test_widget_counts_are_plural_messages():
    with open(TRANSLATIONS / "widget.pot", "rb") as handle:
        plurals = {m.id[0] for m in read_po(handle) if isinstance(m.id, tuple)}
    assert {"{n} option", "{n} option near {place}", "{n} character", "{n} SMS segment"} <= plurals


def test_messages_pot_holds_the_search_page_strings():
    found = extracted("jinja2", "service/templates/index.html") | extracted("python", "service/views/pages.py")
    assert "Language of this page" in found and "On now, ends %(time)s" in found
    assert found - ids_of(TRANSLATIONS / "messages.pot") == set()
