"""The WSGI entry point for servers given a module path: `gunicorn service.wsgi:app`.

Settings come from the LINKAGE_* environment (see service/settings.py).
"""

from service import create_app

app = create_app()  # warmed before each fork by gunicorn_conf.pre_fork
