"""`linkage print-fonts`: build the compact Han fonts handout PDFs print with
(`service.render.print_fonts`); `make install` runs it."""

from __future__ import annotations

from pathlib import Path


def run(args) -> int:
    """Build the copies that are missing or out of date; 0 even where Noto CJK is not
    installed (handouts then print from whatever fontconfig offers, and it says so)."""
    from service.render import print_fonts

    directory = Path(args.directory) if args.directory else print_fonts.PRINT_FONTS_DIR
    ready = print_fonts.ensure_built(directory)
    print(f"print fonts: {len(ready)} of {len(print_fonts.COMPACT_FONTS)} ready in {directory}")
    return 0


def add_parser(sub) -> None:
    """The `linkage print-fonts` command line."""
    command = sub.add_parser("print-fonts", help="build the compact Han fonts handout PDFs print with")
    command.add_argument("--directory", help="where to build them (default: the installation's share/linkage/print-fonts, "
                                             "where the PDF renderer looks)")
    command.set_defaults(func=run)
