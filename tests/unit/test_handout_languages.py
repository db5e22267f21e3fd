"""The bilingual handout's PDF in each of the ten client languages: pdftotext finds the
catalogue's own words (its msgstr, read with babel.messages.pofile) beside the English, in
fonts that shape the script (Debian's Noto, named per script in handout.css).

The catalogues are compiled here into a temporary directory from the .po files, so the test
reads what a translator wrote, whatever `make install` last compiled. A language whose
messages.po does not exist yet is skipped with that reason; once it exists, its words must
be in the PDF.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from service.i18n import CLIENT_LANGUAGES, TRANSLATIONS, init_i18n
from service.render import handout as render
from tests.catalogues import app_with_catalogue
from tests.unit.test_handout_render import make_handout, poppler, varied

# Handout words every PDF prints (the goal box and headings, a label of each option).
PRINTED = ("Options to try", "One goal for the next seven days", "Why it fits:", "Source:")
REVIEW = "Translation not yet reviewed by a qualified translator."
# The font family Pango must have used for the script (pdffonts names the embedded fonts).
# Chinese prints from the compact copies of Noto Sans CJK where `linkage print-fonts` built
# them (as `make test` does; tests/unit/test_print_fonts.py), else from Noto itself.
FONTS = {"ar": ("NotoSansArabic",), "hi": ("NotoSansDevanagari",), "pa": ("NotoSansGurmukhi",),
         "zh_Hans": ("LinkageCJKSC", "NotoSansCJKSC"), "zh_Hant": ("LinkageCJKTC", "NotoSansCJKTC")}
# Scripts with no italics of their own: their explainers stand upright, so no slanted copy of
# the script's font is embedded (the English explainer beside them stays in Noto Sans Italic).
UPRIGHT = ("ar", "hi", "pa", "zh_Hans", "zh_Hant")


def _bare(text: str, language: str = "") -> str:
    """Text as compared: pdftotext breaks lines anywhere (between Han characters too) and wraps
    right-to-left runs in embedding controls, so both go. Two known limits of poppler's
    mapping from shaped glyphs back to text are allowed for, and only for their script: in
    Devanagari and Gurmukhi a pre-base vowel sign (ि, ਿ) can be lost, so vowel signs and other
    marks are left out of the comparison; in Arabic a lam-alef ligature comes back with its
    letters swapped, so lam and the alefs are left out (and a colon or full stop, neutrals that
    pdftotext may put at either end of a right-to-left run). Every other letter must be there, in
    logical order."""
    text = re.sub(r"[\s\u202a-\u202e\u2066-\u2069]+", "", unicodedata.normalize("NFC", text))
    if language in ("hi", "pa"):
        text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Mc"))
    if language == "ar":
        text = re.sub("[لاأإآ:.]", "", text)
    return text


def _font_names(pdffonts: str) -> list[str]:
    """The embedded fonts' names in pdffonts' listing, without the subset tag (ABCDEF+)."""
    rows = pdffonts.splitlines()[2:]
    return [row.split()[0].split("+", 1)[-1] for row in rows if row.strip()]


def _catalogue(language: str):
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        pytest.skip(f"no catalogue for {language} yet ({path.relative_to(TRANSLATIONS.parent.parent)} missing)")
    with open(path, "rb") as handle:
        return read_po(handle, locale=language), path.read_text(encoding="utf-8")


def _pdf_text(pdf: bytes, tmp_path) -> tuple[str, str]:
    path = tmp_path / "handout.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([poppler("pdftotext"), "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    fonts = subprocess.run([poppler("pdffonts"), str(path)], check=True, capture_output=True, text=True).stdout
    return text, fonts


@pytest.mark.parametrize("language", CLIENT_LANGUAGES)
def test_pdf_prints_the_clients_language_beside_english(language, demo_listings, tmp_path):
    catalogue, po_text = _catalogue(language)
    expected = {}
    for message_id in PRINTED:
        message = catalogue.get(message_id)
        assert message is not None and message.string, f"{language}: {message_id!r} is not translated"
        expected[message_id] = message.string
    app = app_with_catalogue(catalogue, language, tmp_path, po_text)
    with app.app_context():
        handout = make_handout(varied(demo_listings, 3), language=language, note=None)
        text, fonts = _pdf_text(render.handout_pdf(handout), tmp_path)
    bare = _bare(text, language)
    for english, translated in expected.items():
        assert _bare(translated, language) in bare, f"{language}: {translated!r} (for {english!r}) not in the PDF text"
        assert _bare(english, language) in bare, f"{language}: the English {english!r} is not beside it"
    # The translation comes first: the client's heading before the English one (for a
    # left-to-right page; pdftotext reads a right-to-left page's columns in its own order).
    if language != "ar":
        assert bare.index(_bare(expected["Options to try"], language)) < bare.index(_bare("Options to try", language))
    if "X-Linkage-Review: not reviewed" in po_text:
        assert _bare(REVIEW, language) in bare
        reviewed_words = catalogue.get(REVIEW)
        if reviewed_words is not None and reviewed_words.string:
            assert _bare(reviewed_words.string, language) in bare
    if language in FONTS:
        assert any(font in fonts.replace("-", "") for font in FONTS[language]), \
            f"{language}: no {' or '.join(FONTS[language])} font embedded:\n{fonts}"
    names = _font_names(fonts)
    # Every glyph from Noto, the fonts the page names for each script and for Latin (Latin
    # within Arabic is DejaVu's on purpose: see handout.css and the test below).
    if language != "ar":
        assert not [name for name in names if "DejaVu" in name], f"{language}: a fallback font embedded:\n{fonts}"
    if language in UPRIGHT:
        slanted = [name for name in names if ("Oblique" in name or "Italic" in name) and name != "Noto-Sans-Italic"]
        assert not slanted, f"{language}: a slanted copy of the script's font embedded:\n{fonts}"
        assert "Noto-Sans-Italic" in names, f"{language}: the English explainer is not in italics:\n{fonts}"


def test_arabic_pdf_text_is_in_logical_order(demo_listings, tmp_path):
    """pdftotext reads the Arabic back in logical (typing) order: the msgstr as written, not
    reversed, and made of Arabic letters (shaped forms map back to the base letters)."""
    catalogue, po_text = _catalogue("ar")
    words = catalogue.get("Options to try").string
    assert re.search(r"[\u0600-\u06FF]", words)
    app = app_with_catalogue(catalogue, "ar", tmp_path, po_text)
    with app.app_context():
        text, _fonts = _pdf_text(render.handout_pdf(make_handout(varied(demo_listings, 1), language="ar",
                                                                  note=None)), tmp_path)
    assert _bare(words, "ar") in _bare(text, "ar")
    assert _bare(words[::-1], "ar") not in _bare(text, "ar")
    # The English beside it copies out with its brackets the right way round (a glyph used
    # mirrored in the Arabic would map back to the other bracket).
    english = [line for line in text.splitlines() if "(" in line or ")" in line
               if not re.search(r"[\u0600-\u06FF]", line)]
    assert english and all(re.fullmatch(r"[^()]*(\([^()]*\)[^()]*)*", line) for line in english), english


def test_an_english_handout_stays_english_alone(demo_listings, tmp_path):
    app = Flask("service")
    init_i18n(app)
    with app.app_context():
        handout = make_handout(varied(demo_listings, 2), note=None)
        html = render.handout_html(handout)
        text = render.handout_text(handout)
    assert '<html lang="en" dir="ltr">' in html and ' lang="en" dir="ltr">' not in html.split("<body", 1)[1]
    assert text.count("Options to try") == 1 and REVIEW not in html


# --- The API: the language is part of the referral, the SMS is counted -----------------

def _referral(client, **extra):
    return client.post("/v1/referrals", json={"listing_ids": ["demo:g0002", "demo:g0003"], **extra})


@pytest.mark.parametrize(("given", "stored"), [("zh-TW", "zh_Hant"), ("zh-CN", "zh_Hans"), ("zh", "zh_Hans"),
                                                ("tl", "fil"), ("vi-VN", "vi"), ("ar", "ar"), ("en-AU", "en")])
def test_referral_stores_the_catalogue_name_of_a_browser_tag(client, given, stored):
    created = _referral(client, language=given)
    assert created.status_code == 201, created.get_json()
    shown = client.get(f"/v1/referrals/{created.get_json()['code']}").get_json()
    assert shown["language"] == stored


@pytest.mark.parametrize("given", ["fr", "xx-YY", "", "arabic", 7])
def test_referral_refuses_a_language_without_a_catalogue(client, given):
    refused = _referral(client, language=given)
    body = refused.get_json()["error"]
    assert refused.status_code == 400 and body["parameter"] == "language", body
    assert body["message"].startswith("language: ")


def test_referral_answers_with_its_text_message_counted(client):
    created = _referral(client).get_json()
    text = client.get(f"/r/{created['code']}.txt").get_data(as_text=True)
    # Counted here from the text itself: the handout's words ("—", "…") are outside GSM-7, so
    # the message is UCS-2, one UTF-16 code unit a character (no emoji), 67 a segment past 70.
    units = len(text.encode("utf-16-le")) // 2
    expected = {"encoding": "UCS-2", "characters": units, "segments": 1 if units <= 70 else -(-units // 67)}
    assert re.search(r"[—…–]", text)
    assert (created["sms"], created["sms_length"]) == (text, expected)
    again = client.get(f"/v1/referrals/{created['code']}").get_json()
    assert (again["sms"], again["sms_length"]) == (text, expected)
