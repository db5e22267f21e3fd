"""`linkage backup DIR` and `linkage restore DIR`: the referral store, embed keys and listings
index copied out (SQLite's online backup API, or an engine snapshot) and put back."""

from __future__ import annotations

import sys

from service import make_backend, stores_on_engine
from service.backends.contract import BackendUnavailable
from service.backends.engine.backend import EngineError
from service.backup import BackupError, backup_engine, backup_sqlite, restore_engine, restore_sqlite

from indexers.commands import add_backend_options, settings_for


def _prefix(settings) -> str:
    """The state indices' prefix, as the app names them (`linkage` for `linkage-listings`)."""
    return settings.index.removesuffix("-listings") or "linkage"


def run_backup(args) -> int:
    """Back up the referral store, embed keys and listings index into DIR."""
    settings = settings_for(args)
    backend = make_backend(settings)
    try:
        if stores_on_engine(backend):
            name = backup_engine(backend.transport, settings.index, _prefix(settings), args.directory)
            print(f"snapshot {name} written to {args.directory}")
        else:
            manifest = backup_sqlite(settings.referrals_path, settings.sqlite_path, args.directory)
            print(f"backed up {', '.join(manifest['files'])} to {args.directory}")
    except (BackupError, BackendUnavailable, EngineError) as exc:
        print(f"linkage backup: {exc}", file=sys.stderr)
        return 1
    return 0


def run_restore(args) -> int:
    """Put a backup made by `linkage backup` back."""
    settings = settings_for(args)
    backend = make_backend(settings)
    try:
        if stores_on_engine(backend):
            name = restore_engine(backend.transport, settings.index, _prefix(settings), args.directory,
                                  args.snapshot)
            print(f"restored snapshot {name} from {args.directory}")
        else:
            restored = restore_sqlite(args.directory, settings.referrals_path, settings.sqlite_path)
            print(f"restored {', '.join(restored)}")
    except (BackupError, BackendUnavailable, EngineError) as exc:
        print(f"linkage restore: {exc}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub) -> None:
    """The `linkage backup` and `linkage restore` command lines."""
    backup = sub.add_parser("backup", help="copy referrals, embed keys and the index into DIR")
    backup.add_argument("directory", metavar="DIR",
                        help="a new directory (SQLite), or a directory in the engine's path.repo")
    add_backend_options(backup)
    backup.set_defaults(func=run_backup)
    restore = sub.add_parser("restore", help="put back a backup made by `linkage backup`")
    restore.add_argument("directory", metavar="DIR", help="the directory `linkage backup` wrote")
    restore.add_argument("--snapshot", help="engine: the snapshot to restore (default the newest)")
    add_backend_options(restore)
    restore.set_defaults(func=run_restore)
