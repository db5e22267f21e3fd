"""`linkage print-fonts`: build the compact Han fonts handout PDFs print with
(`service.render.print_fonts`); `make install` runs it."""

from __future__ import annotations

import sys
from pathlib import Path


def run(args) -> int:
    """Build the copies that are missing or out of date. 0 even where Noto CJK is not
    installed (handouts then print from whatever fontconfig offers, and it says so), unless
    `--require`: 1 then, as an image built without the fonts is a packaging mistake."""
    from service.render import print_fonts

    directory = Path(args.directory) if args.directory else print_fonts.PRINT_FONTS_DIR
    fonts = print_fonts.COMPACT_FONTS
    ready = print_fonts.ensure_built(directory, fonts)
    print(f"print fonts: {len(ready)} of {len(fonts)} ready in {directory}")
    if args.require and len(ready) < len(fonts):
        missing = ", ".join(sorted({font.source_family for font in fonts if font not in ready}))
        print(f"print fonts: --require: not built, their source is not installed: {missing}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub) -> None:
    """The `linkage print-fonts` command line."""
    command = sub.add_parser("print-fonts", help="build the compact Han fonts handout PDFs print with")
    command.add_argument("--directory", help="where to build them (default: the installation's share/linkage/print-fonts, "
                                             "where the PDF renderer looks)")
    command.add_argument("--require", action="store_true",
                         help="exit 1 unless every copy is ready (an image build, where Noto Sans CJK must be installed)")
    command.set_defaults(func=run)
