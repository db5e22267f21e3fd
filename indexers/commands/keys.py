"""`linkage keys`: create, list and revoke the public keys of sites that embed the widget."""

from __future__ import annotations

import sys

from service import make_backend

from indexers.commands import add_backend_options, settings_for


def run(args) -> int:
    """Create, list or revoke public embed keys."""
    from service import make_key_store
    from service.embed.keys import clean_origin, new_key

    settings = settings_for(args)
    store = make_key_store(settings, make_backend(settings))
    if args.action == "create":
        try:
            origins = sorted({clean_origin(o) for o in args.origin})
        except ValueError as exc:
            print(f"linkage keys create: {exc}", file=sys.stderr)
            return 2
        key = new_key()
        store.add_key(key, args.name, origins)
        print(key)
        base = settings.public_base()
        print(f"embed: <script src=\"{base}/widget.js\" defer></script>\n"
              f"       <linkage-search api=\"{base}\" key=\"{key}\"></linkage-search>",
              file=sys.stderr)
        return 0
    if args.action == "list":
        for entry in store.list_keys():
            print(f"{entry['key']}  {entry['name']}  {' '.join(entry['origins'])}")
        return 0
    if not store.revoke_key(args.key):
        print(f"no such key: {args.key}", file=sys.stderr)
        return 1
    print(f"revoked {args.key} (other workers stop accepting it within a minute)")
    return 0


def add_parser(sub) -> None:
    """The `linkage keys` command line."""
    keys = sub.add_parser("keys", help="public embed keys for sites that embed the widget")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="issue a key for one or more origins")
    create.add_argument("--origin", action="append", required=True, help="e.g. https://clinic.example (repeatable)")
    create.add_argument("--name", required=True, help="who the key is for")
    keys_sub.add_parser("list", help="every key with its origins")
    revoke = keys_sub.add_parser("revoke", help="stop accepting a key")
    revoke.add_argument("key")
    for sub_parser in (create, keys_sub.choices["list"], revoke):
        add_backend_options(sub_parser)
    keys.set_defaults(func=run)
