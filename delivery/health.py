"""The delivery app's /healthz probes: how late the queue is, and whether beat is sweeping."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from notifuse_smtp import health
from notifuse_smtp.heartbeat import seconds_since_beat

from .models import Message


class BeatLate(Exception):
    """The sweeper has not run for several of its intervals: beat is down."""


def register_probes() -> None:
    health.register("queue", queue_age, needs=("database",))
    health.register("beat", beat_heartbeat, needs=("redis",))


def queue_age() -> dict:
    """How long the oldest due message has waited, and the oldest held one: held mail is not
    due (its next try is ahead), so the first figure alone never shows a broken integration."""
    now = timezone.now()
    return {"oldest_due_seconds": _age(Message.objects.oldest_due_at(now), now),
            "oldest_held_seconds": _age(Message.objects.oldest_held_at(now), now)}


def _age(moment, now) -> float:
    return round((now - moment).total_seconds(), 1) if moment else 0.0


def beat_heartbeat() -> dict:
    age = seconds_since_beat()
    if age is None or age > 3 * settings.DELIVERY_SWEEP_SECONDS + 30:
        raise BeatLate
    return {"last_sweep_seconds_ago": round(age, 1)}
