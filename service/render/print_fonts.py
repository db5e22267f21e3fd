"""Compact copies of the Han fonts, for handout PDFs.

Noto Sans CJK is one 20 MB collection of 65,535 glyphs for five regions. WeasyPrint embeds a
subset of each font a PDF uses, but keeps every glyph number up to the highest it draws (its
subsets retain glyph ids), and the Han characters of a handout sit high in that range: a
Chinese handout carried about 150 KB of mostly empty glyph slots per weight, and subsetting
and compressing them was a third of its render. A copy of the region's face that holds only
the commonest characters of the script (GB 2312 level 1 for Simplified Chinese, Big5 level 1
for Traditional), every character of our catalogue for the language, and Latin and
punctuation numbers its glyphs from 0 to a few thousand: the same outlines, metrics and
layout tables (fontTools' subsetter copies them), a fraction of the work. handout.css names
the copy first and the full Noto font after it, so a rarer character (a name, a street) is
drawn from Noto as before, and every character prints as it did.

`linkage print-fonts` (run by `make install`) builds them into the
installation's share/linkage/print-fonts, never into the checkout, and rebuilds a copy when
its source font, its characters or this format change. `available` is what the PDF renderer
reads: copies whose source font is still the one they were made from. Without them (no Noto
CJK on the machine, or not built) handouts print from Noto directly, as before.

The copies are derived from Noto Sans CJK (SIL Open Font License 1.1, whose text and notices
they keep in their name table) and carry a name of their own, as the licence asks of
modified versions.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from service.i18n import TRANSLATIONS

PRINT_FONTS_DIR = Path(sys.prefix) / "share" / "linkage" / "print-fonts"
MANIFEST = "manifest.json"
# Bumped when what a copy holds or how it is made changes: older copies are then rebuilt.
FORMAT = 2

# Latin (with Latin-1 and Extended-A, for names and addresses), general punctuation,
# arrows, CJK symbols and punctuation, full-width forms.
_BASE_RANGES = ((0x20, 0x7F), (0xA0, 0x180), (0x2000, 0x2070), (0x2190, 0x2200), (0x3000, 0x3040),
                (0xFF00, 0xFFF0))


@dataclass(frozen=True)
class CompactFont:
    """One weight of one compact copy: its own family name, the Noto face it is cut from,
    and the characters it keeps (a legacy encoding's common level, and a catalogue's)."""

    family: str
    source_family: str
    bold: bool
    language: str  # the catalogue whose every character it holds
    codec: str  # the legacy encoding whose common level it holds
    first_code: int  # that level's first and last two-byte codes
    last_code: int

    @property
    def file_name(self) -> str:
        """The copy's file name, e.g. LinkageCJKSC-Bold.otf."""
        return self.family.replace(" ", "") + ("-Bold" if self.bold else "-Regular") + ".otf"

    @property
    def weight(self) -> int:
        """Its CSS font-weight."""
        return 700 if self.bold else 400


# HarfBuzz's default features for horizontal text, and fractions' (numbers set as 1/2).
# 'locl' stays, though most of its alternates are other regions' forms: some serve the
# region's own language (without it, tests/unit/test_print_fonts.py's pixels differ).
HORIZONTAL_FEATURES = ("abvm", "blwm", "calt", "ccmp", "clig", "curs", "dist", "dnom", "frac", "kern", "liga",
                       "locl", "mark", "mkmk", "numr", "rclt", "rlig", "rvrn")

# GB 2312's level 1 (3,755 hanzi, B0A1-D7F9) and Big5's (5,401, A440-C67E): each standard's
# commonest characters.
_GB2312_LEVEL_1 = dict(codec="gb2312", first_code=0xB0A1, last_code=0xD7F9)
_BIG5_LEVEL_1 = dict(codec="big5", first_code=0xA440, last_code=0xC67E)

COMPACT_FONTS = tuple(
    CompactFont(family, source, bold, language, **common)
    for family, source, language, common in (
        ("Linkage CJK SC", "Noto Sans CJK SC", "zh_Hans", _GB2312_LEVEL_1),
        ("Linkage CJK TC", "Noto Sans CJK TC", "zh_Hant", _BIG5_LEVEL_1),
    )
    for bold in (False, True)
)


def common_characters(font: CompactFont) -> set[int]:
    """The code points of the encoding's common level: each two-byte code from its first to
    its last that the codec decodes to one character (the others are holes in the table)."""
    found = set()
    for code in range(font.first_code, font.last_code + 1):
        try:
            text = code.to_bytes(2, "big").decode(font.codec)
        except UnicodeDecodeError:
            continue
        if len(text) == 1:
            found.add(ord(text))
    return found


def catalogue_characters(language: str) -> set[int]:
    """Every code point of the language's translations (messages.po), read with Babel."""
    from babel.messages.pofile import read_po

    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return set()
    with open(path, "rb") as handle:
        catalogue = read_po(handle, locale=language)
    found = set()
    for message in catalogue:
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for text in strings:
            found.update(ord(ch) for ch in text or "")
    return found


def locale_characters(language: str) -> set[int]:
    """Every code point of the words Babel prints handouts with in the language (CLDR): day,
    month and day-period names, and language names."""
    from babel import Locale

    locale = Locale.parse(language)
    words = list(locale.languages.values())
    for names in (locale.days, locale.months, locale.day_periods):
        for context in names.values():
            for width in context.values():
                words.extend(width.values())
    return {ord(ch) for word in words for ch in word}


def printed_first(font: CompactFont) -> set[int]:
    """What nearly every handout in the language prints: Latin and punctuation, our
    catalogue's characters and CLDR's. Their glyphs come first in the copy (see `build`)."""
    found = {code for start, stop in _BASE_RANGES for code in range(start, stop)}
    return found | catalogue_characters(font.language) | locale_characters(font.language)


def source_face(font: CompactFont) -> tuple[Path, int] | None:
    """The file and face index of the Noto face the copy is cut from, as fontconfig finds
    it; None when fontconfig's best match is another family (Noto CJK not installed)."""
    pattern = f"{font.source_family}:weight={'bold' if font.bold else 'regular'}"
    try:
        found = subprocess.run(["fc-match", "--format", "%{family}|%{file}|%{index}", pattern],
                               capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families, _, rest = found.partition("|")
    file_name, _, index = rest.rpartition("|")
    if font.source_family not in families.split(",") or not file_name or not index.isdigit():
        return None
    return Path(file_name), int(index)


def _digest(codes: set[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(codes))).encode()).hexdigest()


def _fingerprint(font: CompactFont, source: Path, index: int, chars: set[int], first: set[int]) -> dict:
    """What a built copy depends on: this format, its source (file, face, size, time), its
    characters, those it puts first and fontTools' version."""
    from fontTools import version as fonttools_version

    stat = source.stat()
    return {"format": FORMAT, "source": str(source), "index": index, "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "fonttools": fonttools_version,
            "characters": _digest(chars), "first": _digest(first)}


def _read_manifest(directory: Path) -> dict:
    try:
        return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build(font: CompactFont, source: Path, index: int, chars: set[int], target: Path,
          first: set[int] = frozenset()) -> None:
    """Write the compact copy of `source`'s face `index` holding `chars` to `target`
    (through a temporary file, so a reader never finds half a font), with the glyphs of
    `first` numbered first.

    Why first: WeasyPrint keeps every glyph number up to the highest a PDF draws, so a
    handout that draws only low numbers embeds a small font, quickly."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.reorderGlyphs import reorderGlyphs

    face = TTFont(source, fontNumber=index, lazy=True)
    options = subset.Options()
    # Every name record (copyright, licence and its URL among them) and an outlined .notdef.
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    # The features HarfBuzz applies to horizontal text (Pango's), not the vertical ones,
    # whose alternate glyphs a handout never draws.
    options.layout_features = list(HORIZONTAL_FEATURES)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=chars)
    subsetter.subset(face)
    _rename(face, font)
    # The glyphs `first` draws: its characters' and those its layout features substitute
    # for them (punctuation forms), as the subsetter finds them in a copy cut to `first`.
    copy = io.BytesIO()
    face.save(copy)
    cut = TTFont(copy)
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=first)
    cutter.subset(cut)
    drawn = set(cut.getGlyphOrder())
    order = face.getGlyphOrder()
    cmap = face.getBestCmap()
    # .notdef stays glyph 0; then the characters' own glyphs, in code point order; then the
    # substitutes; then the rest, each in the order the face had them.
    leading = list(dict.fromkeys([order[0], *(cmap[code] for code in sorted(first) if code in cmap),
                                  *(name for name in order if name in drawn)]))
    taken = set(leading)
    reorderGlyphs(face, leading + [name for name in order if name not in taken])
    partial = target.with_name(target.name + ".partial")
    face.save(partial)
    os.replace(partial, target)


def _rename(face, font: CompactFont) -> None:
    """Give the copy its own family, full and PostScript names (name IDs 1, 3, 4, 6, 16, 17)."""
    style = "Bold" if font.bold else "Regular"
    postscript = font.file_name.rsplit(".", 1)[0]
    names = {1: font.family, 3: f"{postscript};derived from {font.source_family}", 4: f"{font.family} {style}",
             6: postscript, 16: font.family, 17: style}
    table = face["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.setName(names[record.nameID], record.nameID, record.platformID, record.platEncID, record.langID)


def ensure_built(directory: Path = PRINT_FONTS_DIR, fonts: tuple[CompactFont, ...] = COMPACT_FONTS,
                 log=print) -> list[CompactFont]:
    """Build each copy that is missing or out of date in `directory`; the fonts it holds
    up to date afterwards. A font whose Noto source is not installed is skipped, saying so."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(directory)
    ready = []
    for font in fonts:
        face = source_face(font)
        if face is None:
            log(f"print fonts: {font.source_family} {'Bold' if font.bold else 'Regular'} not installed; "
                f"{font.language} handouts print from whatever font fontconfig offers")
            continue
        first = printed_first(font)
        chars = first | common_characters(font)  # what the copy holds
        wanted = _fingerprint(font, *face, chars, first)
        target = directory / font.file_name
        if manifest.get(font.file_name) != wanted or not target.is_file():
            log(f"print fonts: building {target.name} ({len(chars)} characters from {face[0].name} face {face[1]})")
            build(font, *face, chars, target, first)
            manifest[font.file_name] = wanted
            partial = directory / (MANIFEST + ".partial")
            partial.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(partial, directory / MANIFEST)
        ready.append(font)
    return ready


def available(directory: Path = PRINT_FONTS_DIR,
              fonts: tuple[CompactFont, ...] = COMPACT_FONTS) -> tuple[tuple[CompactFont, Path], ...]:
    """The built copies a renderer may use, with their paths: those of this format whose
    source font file is unchanged since (a font cut from an older Noto would mix two designs
    on one page). Cheap: reads the manifest and stats the sources."""
    manifest = _read_manifest(directory)
    found = []
    for font in fonts:
        entry = manifest.get(font.file_name)
        path = directory / font.file_name
        if not entry or entry.get("format") != FORMAT or not path.is_file():
            continue
        try:
            stat = Path(entry["source"]).stat()
        except (OSError, KeyError, TypeError):
            continue
        if (stat.st_size, stat.st_mtime_ns) == (entry.get("size"), entry.get("mtime_ns")):
            found.append((font, path))
    return tuple(found)


def font_face_rules(fonts, scheme: str) -> str:
    """@font-face rules for `fonts` ((font, path) pairs), each fetched as `scheme` + file name."""
    return "\n".join(
        f'@font-face {{ font-family: "{font.family}"; src: url({scheme}{path.name}); '
        f"font-weight: {font.weight}; font-style: normal; }}"
        for font, path in fonts)
