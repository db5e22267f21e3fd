"""One module per `linkage` command: each adds its parser (`add_parser`) and runs it (`run`).

The commands read and write through the service's own stores and settings; nothing in
`service` imports them.
"""

from __future__ import annotations

from dataclasses import replace

from service.settings import Settings

BACKENDS = ("sqlite", "elasticsearch", "opensearch")


def settings_for(args) -> Settings:
    """Environment settings with the command line's overrides."""
    settings = Settings.from_env()
    overrides = {
        "backend": getattr(args, "backend", None),
        "sqlite_path": getattr(args, "sqlite_path", None),
        "search_url": getattr(args, "search_url", None),
        "max_failed_ratio": getattr(args, "max_failed", None),
        "geocoder": getattr(args, "geocoder", None),
        "link_checks_path": getattr(args, "link_checks_path", None),
    }
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def add_backend_options(parser) -> None:
    """--backend and --search-url, for the commands that read or write a store."""
    parser.add_argument("--backend", choices=BACKENDS, help="the store (default LINKAGE_BACKEND, else sqlite)")
    parser.add_argument("--search-url", help="engine URL (default LINKAGE_SEARCH_URL)")
