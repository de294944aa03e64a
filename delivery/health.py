"""The delivery app's /healthz probes: how late the queue is, and whether beat is sweeping."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from .models import Message, Status
from .sweeper import seconds_since_last_sweep


class BeatLate(Exception):
    """The sweeper has not run for several of its intervals: beat is down."""


def register_probes() -> None:
    from notifuse_smtp import health

    health.register("queue", queue_age, needs=("database",))
    health.register("beat", beat_heartbeat, needs=("redis",))


def queue_age() -> dict:
    oldest = (
        Message.objects.filter(status=Status.QUEUED, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"oldest_due_seconds": round(age, 1)}


def beat_heartbeat() -> dict:
    age = seconds_since_last_sweep()
    if age is None or age > 3 * settings.DELIVERY_SWEEP_SECONDS + 30:
        raise BeatLate
    return {"last_sweep_seconds_ago": round(age, 1)}
