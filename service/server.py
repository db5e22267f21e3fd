"""Serve the app with gunicorn from Python, so `linkage serve` needs no config file path."""

from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication


class LinkageServer(BaseApplication):
    """A gunicorn application that builds the Flask app in each worker (or once, preloaded)."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app()


def serve(host: str, port: int, workers: int | None = None, threads: int = 1) -> None:
    """Run gunicorn on host:port until interrupted."""
    workers = workers or int(os.environ.get("WEB_CONCURRENCY", "2"))
    LinkageServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "preload_app": True,
            "timeout": 30,
            "graceful_timeout": 20,
            "accesslog": "-",
            # Several servers may run on one machine (tests, benchmarks); none needs the control socket.
            "control_socket_disable": True,
        }
    ).run()
