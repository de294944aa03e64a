"""`/healthz`: `{"status": "ok" | "fail"}` (200 / 503) for anyone; each probe's result, timing
and error class only with HEALTHZ_TOKEN or to logged-in staff.

This module probes what the project is built on (database, Redis, broker); apps register
their own probes from their `ready()` (`register("queue", probe, needs=("database",))`), so
nothing here imports them. Connections are kept per process, with short timeouts: a probe
polled every few seconds must neither open connections nor hang on a dead service.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from kombu import Connection

CHECK_TIMEOUT = 2.0

Probe = Callable[[], "dict | None"]


@dataclass(frozen=True)
class _Registered:
    probe: Probe
    needs: tuple[str, ...]


_probes: dict[str, _Registered] = {}


def register(name: str, probe: Probe, *, needs: tuple[str, ...] = ()) -> None:
    """Add a probe: it raises when unhealthy, or returns details; it runs only when the probes
    it needs (registered before it) passed."""
    _probes[name] = _Registered(probe, needs)


def run_probes() -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name, registered in _probes.items():
        failed = [need for need in registered.needs if not results.get(need, {}).get("ok")]
        results[name] = (
            {"ok": False, "error": "needs " + ", ".join(failed)} if failed
            else _check(registered.probe)
        )
    return results


def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_probes()
    ok = all(check["ok"] for check in checks.values())
    body: dict = {"status": "ok" if ok else "fail"}
    if may_see_details(request):
        body["failing"] = [name for name, check in checks.items() if not check["ok"]]
        body["checks"] = checks
    return JsonResponse(body, status=200 if ok else 503)


def may_see_details(request: HttpRequest) -> bool:
    """With `Authorization: Bearer <HEALTHZ_TOKEN>` (compared in constant time), or as staff."""
    token = settings.HEALTHZ_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        user = request.user
        return bool(user.is_active and user.is_staff)
    except DatabaseError:  # a session cookie, and the database is what is down
        return False


def _check(probe: Probe) -> dict:
    started = time.monotonic()
    try:
        details = probe() or {}
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is the answer
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1), **details}


def _database() -> None:
    with connection.cursor() as cursor:  # Django's own, kept (CONN_MAX_AGE)
        cursor.execute("SELECT 1")


@lru_cache(maxsize=1)
def _redis_for(url: str) -> redis.Redis:
    # Not the shared redis_client(): it waits as long as a command takes, a probe must not.
    return redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )


def _redis() -> None:
    _redis_for(settings.REDIS_URL).ping()


@lru_cache(maxsize=1)
def _broker_for(url: str) -> Connection:
    timeouts = {"socket_timeout": CHECK_TIMEOUT, "socket_connect_timeout": CHECK_TIMEOUT}
    return Connection(url, connect_timeout=CHECK_TIMEOUT, transport_options=timeouts)


_broker_lock = threading.Lock()  # a kombu connection is not shared between threads


def _broker() -> None:
    with _broker_lock:
        broker = _broker_for(settings.CELERY_BROKER_URL)
        try:
            broker.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT)
            # Connected once, ensure_connection returns at once: a Redis broker is asked
            # again on the kept connection; other transports notice a closed socket.
            client = getattr(broker.default_channel, "client", None)
            if client is not None:
                client.ping()
        except Exception:
            broker.close()  # the next probe connects afresh
            raise


register("database", _database)
register("redis", _redis)
register("broker", _broker)
