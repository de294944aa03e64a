"""The Celery application: `celery -A notifuse_smtp worker` and `celery -A notifuse_smtp beat`."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init, setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifuse_smtp.settings")

app = Celery("notifuse_smtp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs) -> None:
    """Workers log through the project's LOGGING (format, level, redaction), not Celery's own."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@beat_init.connect
def announce_beat(**kwargs) -> None:
    """Beat's first sweep is an interval away; /healthz counts its start as a sign of life."""
    from .heartbeat import beat_heartbeat

    beat_heartbeat()
