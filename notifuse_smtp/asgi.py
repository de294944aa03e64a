"""ASGI entry point: refuses to load with unsafe secrets, like the WSGI one."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifuse_smtp.settings")

from notifuse_smtp.checks import refuse_unsafe_start  # noqa: E402 - needs the settings module

refuse_unsafe_start()
application = get_asgi_application()
