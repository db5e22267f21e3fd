"""The compact Han fonts handout PDFs print with (service/render/print_fonts.py).

The oracles are outside the code under test: the standards' own counts of their common
levels; poppler's pdffonts (which fonts a PDF embeds) and pdftocairo (its pixels), comparing
a Chinese handout printed through the compact copies with the same handout printed from Noto
Sans CJK directly; fontTools reading the built files' character maps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from service.i18n import TRANSLATIONS, init_i18n
from service.render import handout as render
from service.render import print_fonts
from tests.conftest import ROOT
from tests.unit.test_handout_languages import _font_names
from tests.unit.test_handout_render import make_handout, poppler, renamed, varied

# A character in neither standard's common level nor any catalogue: it must come from Noto.
RARE = "\u9f98"  # 龘
BY_LANGUAGE = {font.language: font for font in print_fonts.COMPACT_FONTS if not font.bold}


@pytest.fixture(scope="module")
def built():
    """The compact copies in the installation's folder (`make test` builds them first; a
    direct pytest run builds what is missing, about a minute). Skipped where Noto Sans CJK is
    not installed, which `make install` installs (fonts-noto-cjk)."""
    if any(print_fonts.source_face(font) is None for font in print_fonts.COMPACT_FONTS):
        pytest.skip("Noto Sans CJK SC/TC not installed (Debian's fonts-noto-cjk, which `make install` installs)")
    print_fonts.ensure_built(log=lambda message: None)
    found = print_fonts.available()
    assert len(found) == len(print_fonts.COMPACT_FONTS), found
    return dict(found)


def test_the_common_levels_are_the_standards():
    """GB 2312 level 1 holds 3,755 hanzi, Big5 level 1 5,401 (each standard's own count)."""
    counts = {font.codec: print_fonts.common_characters(font) for font in BY_LANGUAGE.values()}
    assert {codec: len(chars) for codec, chars in counts.items()} == {"gb2312": 3755, "big5": 5401}
    for chars in counts.values():
        assert all(unicodedata.name(chr(code)).startswith("CJK UNIFIED IDEOGRAPH") for code in chars)
    assert ord("的") in counts["gb2312"] and ord("們") in counts["big5"]
    assert ord(RARE) not in counts["gb2312"] | counts["big5"]


def _pdf_fonts(pdf: bytes, tmp_path, name: str) -> list[str]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return _font_names(subprocess.run([poppler("pdffonts"), str(path)], check=True, capture_output=True,
                                      text=True).stdout)


def _pixels(pdf: bytes, tmp_path, name: str) -> list[bytes]:
    """Each page rasterised by poppler's cairo backend at 150 dpi, as PNG bytes."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run([poppler("pdftocairo"), "-png", "-r", "150", str(path), str(tmp_path / name)], check=True)
    return [page.read_bytes() for page in sorted(tmp_path.glob(f"{name}-*.png"))]


@pytest.mark.parametrize("language", sorted(BY_LANGUAGE))
def test_a_handout_prints_the_same_pixels_through_the_compact_copy(language, built, demo_listings, tmp_path):
    """The same page (with a rare character in a name, which the copy lacks) printed through
    the compact copies and from Noto directly: the same pixels on every page, the copy's
    fonts embedded (and Noto for the rare character), and a smaller file."""
    app = Flask("service")
    init_i18n(app)
    listings = varied(demo_listings, 3)
    listings[0] = renamed(listings[0], f"{listings[0].name} {RARE}")
    with app.app_context():
        handout = make_handout(listings, language=language, note=None)
        html = render._page_html(handout, render.voices(handout, True), print_on_load=False, link_stylesheet=False)
    compact_engine = render._PdfEngine()
    assert {font.family for font, _path in compact_engine.compact_fonts} >= {BY_LANGUAGE[language].family}
    compact = compact_engine.write_pdf(html, render.site_base(handout))
    empty = tmp_path / "no-print-fonts"
    empty.mkdir()
    direct = render._PdfEngine(empty).write_pdf(html, render.site_base(handout))

    family = BY_LANGUAGE[language].family.replace(" ", "-")
    noto = BY_LANGUAGE[language].source_family.replace(" ", "-")
    compact_fonts, direct_fonts = _pdf_fonts(compact, tmp_path, "compact"), _pdf_fonts(direct, tmp_path, "direct")
    # The name prints in bold: its rare character from Noto's bold.
    assert {family, f"{family}-Bold", f"{noto}-Bold"} <= set(compact_fonts), compact_fonts
    assert not [name for name in direct_fonts if name.startswith("Linkage")] and noto in direct_fonts
    assert _pixels(compact, tmp_path, "compact") == _pixels(direct, tmp_path, "direct")
    # Smaller even with a Noto subset for the one rare character beside the copies'.
    assert len(compact) < len(direct), (len(compact), len(direct))


@pytest.mark.parametrize("language", sorted(BY_LANGUAGE))
def test_every_character_of_the_catalogue_is_in_the_copy(language, built):
    """Each character a translator wrote (messages.po, read here with Babel) that Noto has is
    in both weights of the copy (fontTools reads their character maps): the handout's own
    words never fall back."""
    from fontTools.ttLib import TTFont

    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle, locale=language)
    texts = [text for message in catalogue if message.id
             for text in (message.string if isinstance(message.string, (list, tuple)) else (message.string,))]
    written = {ch for text in texts for ch in text or "" if not ch.isspace()}
    assert len(written) > 300
    for font in print_fonts.COMPACT_FONTS:
        if font.language != language:
            continue
        source, index = print_fonts.source_face(font)
        in_noto = set(TTFont(source, fontNumber=index, lazy=True).getBestCmap())
        in_copy = set(TTFont(built[font]).getBestCmap())
        missing = sorted(ch for ch in written if ord(ch) in in_noto and ord(ch) not in in_copy)
        assert not missing, f"{font.file_name} lacks {''.join(missing)}"


def test_a_copy_of_another_font_or_format_is_not_used(tmp_path):
    """`available` leaves out a copy whose source font changed since it was built (its size
    or time), one of another format, and one whose file is gone."""
    font = print_fonts.COMPACT_FONTS[0]
    source = tmp_path / "source.ttc"
    source.write_bytes(b"font")
    (tmp_path / font.file_name).write_bytes(b"copy")
    stat = source.stat()
    entry = {"format": print_fonts.FORMAT, "source": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def available_with(**changes):
        (tmp_path / print_fonts.MANIFEST).write_text(json.dumps({font.file_name: {**entry, **changes}}))
        return print_fonts.available(tmp_path, (font,))

    assert available_with() == ((font, tmp_path / font.file_name),)
    assert available_with(size=stat.st_size + 1) == ()
    assert available_with(mtime_ns=stat.st_mtime_ns - 1) == ()
    assert available_with(format=print_fonts.FORMAT + 1) == ()
    (tmp_path / font.file_name).unlink()
    assert available_with() == ()


def test_a_font_not_installed_is_skipped_saying_so(tmp_path):
    absent = print_fonts.CompactFont("Linkage Test", "No Such Family Anywhere", False, "zh_Hans", "gb2312",
                                     0xB0A1, 0xB0A2)
    said = []
    assert print_fonts.ensure_built(tmp_path, (absent,), log=said.append) == []
    assert said and "No Such Family Anywhere" in said[0] and "not installed" in said[0]
    assert not list(tmp_path.glob("*.otf"))


def test_the_pdf_fetcher_reads_print_fonts_only_from_their_folder(tmp_path):
    (tmp_path / "LinkageCJKSC-Regular.otf").write_bytes(b"OTTO")
    fetcher = render.pdf_url_fetcher(tmp_path)
    assert fetcher.fetch(render.PDF_FONT_SCHEME + "LinkageCJKSC-Regular.otf").read() == b"OTTO"
    for url in (render.PDF_FONT_SCHEME + "../handout.css", render.PDF_FONT_SCHEME + "/etc/passwd",
                render.PDF_FONT_SCHEME + "missing.otf", "linkage-static:LinkageCJKSC-Regular.otf"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    with pytest.raises(ValueError):
        render.pdf_url_fetcher().fetch(render.PDF_FONT_SCHEME + "LinkageCJKSC-Regular.otf")


def test_a_process_leaves_no_font_copies_behind(built, tmp_path):
    """WeasyPrint copies @font-face fonts into a temporary folder; a process warmed as the
    server warms (`warm_pdf_renderer`, which also freezes what it loaded out of the
    collector's sight) has it while it runs, keeps it when a worker forked from it lets its
    copy of the engine go, and leaves nothing behind at exit (its TMPDIR is an empty folder
    here, to look in)."""
    code = ("import os, tempfile\n"
            "from flask import Flask\n"
            "from service.i18n import init_i18n\n"
            "from service.render import handout\n"
            "app = Flask('service')\n"
            "init_i18n(app)\n"
            "handout.warm_pdf_renderer(app)\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"  # a worker forked after the warm-up, dropping its copy of the engine
            "    handout._made_pdf_engine.cache_clear()\n"
            "    import gc; gc.collect()\n"
            "    os._exit(0)\n"
            "os.waitpid(pid, 0)\n"
            "print(' '.join(os.listdir(tempfile.gettempdir())))\n")
    ran = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TMPDIR": str(tmp_path)}, cwd=ROOT,
                         check=True, capture_output=True, text=True)
    assert "weasyprint-" in ran.stdout
    assert list(tmp_path.iterdir()) == [], ran.stderr


def test_the_command_reports_the_fonts_ready(built, capsys):
    """`linkage print-fonts` (what `make install` runs) with the copies already built: nothing
    to do, and it says how many are ready and where."""
    from indexers.cli import main

    assert main(["print-fonts"]) == 0
    said = capsys.readouterr().out
    assert f"{len(print_fonts.COMPACT_FONTS)} of {len(print_fonts.COMPACT_FONTS)} ready" in said
    assert str(print_fonts.PRINT_FONTS_DIR) in said and "building" not in said
    assert main(["print-fonts", "--require"]) == 0


def test_the_command_fails_when_required_fonts_cannot_be_built(tmp_path, monkeypatch, capsys):
    """`linkage print-fonts --require` (the image build's) exits 1 naming the family that is
    not installed, and 0 without --require (a checkout without Noto CJK still installs)."""
    from indexers.cli import main

    absent = print_fonts.CompactFont("Linkage Test", "No Such Family Anywhere", False, "zh_Hans", "gb2312",
                                     0xB0A1, 0xB0A2)
    monkeypatch.setattr(print_fonts, "COMPACT_FONTS", (absent,))
    assert main(["print-fonts", "--directory", str(tmp_path)]) == 0
    assert main(["print-fonts", "--directory", str(tmp_path), "--require"]) == 1
    said = capsys.readouterr()
    assert "0 of 1 ready" in said.out
    assert "--require" in said.err and "No Such Family Anywhere" in said.err


@pytest.mark.parametrize("language", sorted(BY_LANGUAGE))
def test_what_handouts_print_comes_first_in_the_copy(language, built):
    """The glyphs of what nearly every handout prints (Latin, our catalogue's and CLDR's
    characters) are numbered before those of the rest of the common level (fontTools reads
    the built files), so a typical handout embeds only low glyph numbers."""
    from fontTools.ttLib import TTFont

    for font in print_fonts.COMPACT_FONTS:
        if font.language != language:
            continue
        face = TTFont(built[font])
        cmap, order = face.getBestCmap(), {name: gid for gid, name in enumerate(face.getGlyphOrder())}
        first = print_fonts.printed_first(font)
        rest = print_fonts.common_characters(font) - first
        first_ids = {order[cmap[code]] for code in first if code in cmap}
        rest_ids = {order[cmap[code]] for code in rest if code in cmap} - first_ids
        assert ord("週" if language == "zh_Hant" else "周") in first and len(first_ids) > 1000
        assert max(first_ids) < min(rest_ids), (font.file_name, max(first_ids), min(rest_ids))
