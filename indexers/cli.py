"""The `linkage` command: serve the app, import feeds, refresh every configured feed, purge
expired referrals, manage embed keys, check links, check the Meeting Guide feed, build the
handouts' print fonts."""

from __future__ import annotations

import argparse
import sys

from service.settings import SettingsError

from indexers.commands import backup, check_feed, check_links, export, index, keys, print_fonts, purge, refresh, serve

# One module of indexers.commands per command, in the order `linkage --help` lists them.
COMMANDS = (serve, index, refresh, purge, keys, check_links, check_feed, backup, export, print_fonts)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="linkage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the `linkage` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"linkage: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
