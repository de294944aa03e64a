"""Beat's sign of life: the sweeper stamps it on every run, /healthz reads its age."""

from __future__ import annotations

import time

from .redis_connection import redis_client

HEARTBEAT_KEY = "notifuse:sweeper:last-run"


def beat_heartbeat() -> None:
    """Record that beat ran (its first sweep is an interval away, so start-up counts too)."""
    redis_client().set(HEARTBEAT_KEY, time.time(), ex=86400)


def seconds_since_beat() -> float | None:
    value = redis_client().get(HEARTBEAT_KEY)
    return time.time() - float(value) if value else None
