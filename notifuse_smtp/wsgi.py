"""WSGI entry point (`gunicorn notifuse_smtp.wsgi`): refuses to load with unsafe secrets."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifuse_smtp.settings")

from notifuse_smtp.checks import refuse_unsafe_start  # noqa: E402 - needs the settings module

# An exception (not SystemExit): gunicorn then stops with "Worker failed to boot" instead of
# starting the worker again and again.
refuse_unsafe_start()
application = get_wsgi_application()
