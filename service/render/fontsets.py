"""Keeping Pango's font choices for handout PDFs for the life of the process.

For each font description (family list, size, weight, style) in a language, Pango asks
fontconfig to match and sort every installed font into a fallback list (a fontset). Pango
keeps the 256 fontsets used last, and fontconfig's answers only as long as a fontset holds
them. The handouts of our eleven languages use about 200 such patterns, more fontsets than
that, so rendering a few languages pushes the others' out: the next handout in one of them
waited while fontconfig matched and sorted the ~300 fonts installed again for each of its
dozen fontsets (measured: 20-60 ms of a Chinese handout's first render after the warm-up,
none of the second's).

`keeping_fontsets()` holds a reference to each fontset laid out while it is open (the
warm-up's handouts in every language): the fontsets themselves may leave Pango's cache,
but the fontconfig answers they hold stay, and Pango gives them to the fontset it makes
next for the same pattern. A few hundred references, made once before workers fork.

WeasyPrint declares no Pango call for loading a fontset, so the few used here are declared
below (cffi, which WeasyPrint itself loads Pango with). Each layout is met through
WeasyPrint's `Layout.setup`, wrapped while the block runs; were that ever to change, the
block keeps nothing and the handouts are only as fast as before.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

log = logging.getLogger("linkage")

_DECLARATIONS = """
void *pango_layout_get_context (void *layout);
const void *pango_layout_get_font_description (void *layout);
void *pango_context_get_font_map (void *context);
void *pango_context_get_language (void *context);
void *pango_font_map_load_fontset (void *fontmap, void *context, const void *desc, void *language);
unsigned int pango_font_description_hash (const void *desc);
"""

# (the font map, the description's hash, the language) -> the fontset, referenced for good.
# Two descriptions sharing a hash would keep one fontset: only the other's speed would suffer.
_kept: dict[tuple[int, int, int], object] = {}


def kept_count() -> int:
    """How many fontsets this process holds."""
    return len(_kept)


@contextmanager
def keeping_fontsets():
    """Within the block, keep (for the life of the process) the fontset of every text layout
    WeasyPrint makes: one reference per font description and language."""
    try:
        import cffi
        from weasyprint.text import ffi as weasyprint_ffi
        from weasyprint.text import line_break

        ours = cffi.FFI()
        ours.cdef(_DECLARATIONS)
        pango = _dlopen_pango(ours)
        setup = line_break.Layout.setup
    except (ImportError, OSError, AttributeError) as exc:
        log.debug("not keeping Pango fontsets: %s", exc)
        yield
        return

    def keep(layout) -> None:
        address = int(weasyprint_ffi.ffi.cast("uintptr_t", layout.layout))
        pango_layout = ours.cast("void *", address)
        context = pango.pango_layout_get_context(pango_layout)
        description = pango.pango_layout_get_font_description(pango_layout)
        language = pango.pango_context_get_language(context)
        font_map = pango.pango_context_get_font_map(context)
        key = (int(ours.cast("uintptr_t", font_map)), pango.pango_font_description_hash(description),
               int(ours.cast("uintptr_t", language)))
        if key not in _kept:
            fontset = pango.pango_font_map_load_fontset(font_map, context, description, language)
            if fontset != ours.NULL:
                _kept[key] = fontset  # a reference Pango gave us, never released

    def setup_and_keep(self, style):
        setup(self, style)
        try:
            keep(self)
        except Exception as exc:  # noqa: BLE001 - a speed-up must never stop a render
            log.debug("not keeping a Pango fontset: %s", exc)

    line_break.Layout.setup = setup_and_keep
    try:
        yield
    finally:
        line_break.Layout.setup = setup


def _dlopen_pango(ours):
    """Pango's library under the names WeasyPrint tries (Debian's first)."""
    for name in ("libpango-1.0.so.0", "pango-1.0", "libpango-1.0-0"):
        try:
            return ours.dlopen(name)
        except OSError:
            continue
    raise OSError("Pango not found")
