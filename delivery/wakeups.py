"""Wake-up calls to workers. Losing one loses nothing: the sweeper re-publishes due mail."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# A lost wake-up is re-published by the sweeper; past this the flag stops coalescing.
PENDING_TTL_SECONDS = 10
# A drain renews its announcement after every batch; one that died stops suppressing
# wake-ups after this long.
DRAINING_TTL_SECONDS = 5
# Most wake-ups one bulk send publishes per integration: workers that can share its batches.
BULK_FANOUT = 4
# After publishing, the background publisher gathers ids this long before the next round: a
# burst of send_email calls then costs a Redis round trip per window, not one per call,
# while a lone call (the publisher idle) is published at once.
GATHER_SECONDS = 0.02


def publish(integration_id: int, *, countdown: float | None = None) -> None:
    from .tasks import drain_integration

    try:
        drain_integration.apply_async((integration_id,), countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row is already safe
        logger.warning(
            "wake-up for integration %s not published (%s); the sweeper will pick it up",
            integration_id,
            exc.__class__.__name__,
        )


def publish_on_commit(integration_id: int) -> None:
    """After the transaction commits, wake a worker for this integration (off this thread)."""
    transaction.on_commit(lambda: _background.submit(integration_id))


class _BackgroundPublisher:
    """Publishes wake-ups from a daemon thread, so send_email does not wait for Redis.

    Ids submitted while it is busy are published once. Should the process end before it ran,
    nothing is lost: the sweeper wakes workers for every due message.
    """

    def __init__(self) -> None:
        self.pending: set[int] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.owner_pid: int | None = None

    def submit(self, integration_id: int) -> None:
        with self.lock:
            self.pending.add(integration_id)
            self.idle.clear()
            if self.owner_pid != os.getpid():  # first use, or first use after a fork
                self.owner_pid = os.getpid()
                threading.Thread(target=self._run, name="wakeups", daemon=True).start()
        self.wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every submitted wake-up was published."""
        return self.idle.wait(timeout)

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                ids, self.pending = self.pending, set()
            for integration_id in ids:
                publish_coalesced(integration_id)
            with self.lock:
                if not self.pending:
                    self.idle.set()
            time.sleep(GATHER_SECONDS)


_background = _BackgroundPublisher()
atexit.register(_background.flush)


def flush() -> bool:
    return _background.flush()


def publish_bulk_on_commit(integration_id: int, count: int) -> None:
    """Enough wake-ups for several workers to share a large send, one batch each at least."""
    wanted = min(BULK_FANOUT, max(1, -(-count // settings.DELIVERY_BATCH_SIZE)))

    def publish_all() -> None:
        for _ in range(wanted):
            publish(integration_id)

    transaction.on_commit(publish_all)


def publish_coalesced(integration_id: int) -> None:
    """Publish unless a wake-up is already waiting for a worker, or a drain is running.

    The pending flag is cleared by the worker before its first claim, so a message committed
    before that is seen by the claim, and one committed after it publishes a new wake-up.
    A running drain announces itself (`announce_draining`); it stops announcing, clears the
    flag and claims once more before it ends, so what was committed meanwhile is seen too.
    """
    try:
        with _redis().pipeline(transaction=False) as pipe:
            pipe.exists(_draining_key(integration_id))
            pipe.set(_pending_key(integration_id), 1, nx=True, ex=PENDING_TTL_SECONDS)
            draining, fresh = pipe.execute()
    except redis.RedisError:
        draining, fresh = False, True  # no coalescing without Redis, but no lost wake-up
    if fresh and not draining:
        publish(integration_id)


def clear_pending(integration_id: int) -> None:
    try:
        _redis().delete(_pending_key(integration_id))
    except redis.RedisError:
        pass


def announce_draining(integration_id: int) -> None:
    """Tell producers a drain is running for this integration (renewed after each batch)."""
    try:
        _redis().set(_draining_key(integration_id), 1, ex=DRAINING_TTL_SECONDS)
    except redis.RedisError:
        pass  # producers then publish as usual


def end_draining(integration_id: int) -> None:
    """Stop announcing; the caller must claim once more after this."""
    try:
        _redis().delete(_draining_key(integration_id), _pending_key(integration_id))
    except redis.RedisError:
        pass


def _pending_key(integration_id: int) -> str:
    return f"notifuse:wake-pending:{integration_id}"


def _draining_key(integration_id: int) -> str:
    return f"notifuse:draining:{integration_id}"


def _redis() -> redis.Redis:
    from notifuse_smtp.redis_connection import redis_client

    return redis_client()
