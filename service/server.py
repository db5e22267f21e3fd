"""Serve the app with gunicorn from Python: the production settings (service/gunicorn_conf.py,
which deploy/gunicorn.conf.py also gives gunicorn), with the address and workers overridden."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class LinkageServer(BaseApplication):
    """A gunicorn application that builds the Flask app in each worker (or once, preloaded)."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        from service import gunicorn_conf

        for key, value in vars(gunicorn_conf).items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        from service import create_app

        return create_app()  # warmed before each fork by gunicorn_conf.pre_fork


def serve(host: str, port: int, workers: int | None = None) -> None:
    """Run gunicorn on host:port until interrupted (workers: WEB_CONCURRENCY, or from the CPUs)."""
    LinkageServer({"bind": f"{host}:{port}", "workers": workers}).run()
