"""The Celery application: `celery -A notifuse_smtp worker` and `celery -A notifuse_smtp beat`."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init, setup_logging, worker_init

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


@worker_init.connect
@beat_init.connect
def refuse_unsafe_start_of_worker_or_beat(**kwargs) -> None:
    """Stop a worker or beat before it takes any work when its secrets are unsafe.

    Celery logs and ignores an exception raised by a signal handler (and by its own run of
    the system checks), but lets SystemExit through: the process exits 1 with the message.
    """
    from notifuse_smtp.checks import UnsafeToStart, refuse_unsafe_start

    try:
        refuse_unsafe_start()
    except UnsafeToStart as exc:
        raise SystemExit(f"notifuse-smtp refuses to start: {exc}") from None


@beat_init.connect
def announce_beat(**kwargs) -> None:
    """Beat's first sweep is an interval away; /healthz counts its start as a sign of life.

    Connected after the refusal above, so a beat with unsafe secrets never gets this far.
    """
    from .heartbeat import beat_heartbeat

    beat_heartbeat()
