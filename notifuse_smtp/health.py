"""`/healthz`: database, Redis, broker and queue state as JSON; 503 when anything is wrong."""

from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from kombu import Connection

CHECK_TIMEOUT = 2.0


def healthz(request):
    checks = {
        "database": _check(_database),
        "redis": _check(_redis),
        "broker": _check(_broker),
    }
    queue = _check(_queue) if checks["database"]["ok"] else {"ok": False, "error": "database"}
    checks["queue"] = queue
    checks["beat"] = _check(_beat) if checks["redis"]["ok"] else {"ok": False, "error": "redis"}
    ok = all(check["ok"] for check in checks.values())
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if ok else "unavailable", "failing": failing, "checks": checks}
    return JsonResponse(body, status=200 if ok else 503)


def _check(probe) -> dict:
    started = time.monotonic()
    try:
        details = probe() or {}
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is the answer
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1), **details}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    client.ping()


def _broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)


class BeatLate(Exception):
    """The sweeper has not run for several of its intervals: beat is down."""


def _beat() -> dict:
    from .heartbeat import seconds_since_beat

    age = seconds_since_beat()
    if age is None or age > 3 * settings.DELIVERY_SWEEP_SECONDS + 30:
        raise BeatLate
    return {"last_sweep_seconds_ago": round(age, 1)}


def _queue() -> dict:
    from delivery.models import Message

    oldest = Message.objects.oldest_due_at()
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"oldest_due_seconds": round(age, 1)}
