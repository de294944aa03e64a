"""The Celery application: `celery -A notifuse_smtp worker` and `celery -A notifuse_smtp beat`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifuse_smtp.settings")

app = Celery("notifuse_smtp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
