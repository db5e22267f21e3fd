"""The ten client languages' catalogues are complete and safe to format: every message of
both templates translated (no fuzzy, no empty plural form), the same placeholders as the
English, and a review state in the header comment. Read with Babel's own .po reader, and the
templates compared with a fresh extraction of the code, so a new string cannot slip in
untranslated."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from service.i18n import CLIENT_LANGUAGES
from tests.conftest import ROOT

TRANSLATIONS = ROOT / "service" / "translations"
DOMAINS = ("messages", "widget")
# %(name)s, %s, %d and {name}: what gettext's and the widget's formatting fill in.
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}")


def read(path):
    with path.open("rb") as po:
        return read_po(po)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", CLIENT_LANGUAGES)
def test_every_message_is_translated_with_its_placeholders(language, domain):
    template = read(TRANSLATIONS / f"{domain}.pot")
    catalogue = read(TRANSLATIONS / language / "LC_MESSAGES" / f"{domain}.po")
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        wanted.discard(key)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {key!r}")
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        # Every form carries the placeholders of the plural (or only) English form, bar a
        # count a language may spell out in its singular ("one result").
        expected = placeholders(ids[-1])
        for form in strings:
            got = placeholders(form)
            if got != expected and not (len(strings) > 1 and set(got) <= set(expected)):
                problems.append(f"placeholders {got} for {expected} in {key!r}")
    assert not wanted, f"{language}/{domain}: not in the catalogue: {sorted(wanted)[:5]}"
    assert not problems, f"{language}/{domain}: " + "; ".join(problems[:5])


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", CLIENT_LANGUAGES)
def test_each_catalogue_says_its_review_state(language, domain):
    catalogue = read(TRANSLATIONS / language / "LC_MESSAGES" / f"{domain}.po")
    lines = re.findall(r"^#\s*X-Linkage-Review:\s*(.+)$", catalogue.header_comment or "", re.M)
    assert len(lines) == 1, f"{language}/{domain}: no '# X-Linkage-Review:' line in the header comment"
    assert re.fullmatch(r"not reviewed|reviewed by .+, \d{4}-\d{2}-\d{2}", lines[0].strip())


@pytest.mark.parametrize(("domain", "config"), [("messages", "babel.cfg"), ("widget", "babel-widget.cfg")])
def test_the_templates_hold_what_the_code_marks(domain, config, tmp_path):
    fresh = tmp_path / f"{domain}.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", config, "-k", "t",
                    "-o", str(fresh), "--no-wrap", "."], cwd=ROOT, check=True, capture_output=True)
    marked = {m.id if isinstance(m.id, str) else m.id[0] for m in read(fresh) if m.id}
    held = {m.id if isinstance(m.id, str) else m.id[0] for m in read(TRANSLATIONS / f"{domain}.pot") if m.id}
    assert marked - held == set(), f"run `make translations`: {sorted(marked - held)[:5]}"
