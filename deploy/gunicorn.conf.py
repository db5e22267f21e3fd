"""gunicorn's production configuration for Linkage: `gunicorn -c deploy/gunicorn.conf.py`.

The settings and hooks live in service/gunicorn_conf.py, inside the package, so that
`linkage serve` and `make run` use the very same ones; this is the file deployments (the
image, Kubernetes, systemd) point gunicorn at. Read that module for what each one is and why.
"""

from service.gunicorn_conf import *  # noqa: F401,F403  (gunicorn reads this module's names)
