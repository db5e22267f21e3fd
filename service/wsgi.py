"""The WSGI entry point for servers given a module path: `gunicorn service.wsgi:app`.

Settings come from the LINKAGE_* environment (see service/settings.py).
"""

from . import create_app, warm_up

app = create_app()
warm_up(app)  # with preload_app, in the master: workers fork from a warm app
