"""The wake-up protocol: how queued mail reaches a worker without a task per message.

The database row is the truth; a wake-up (a `delivery.tasks.drain_integration` task,
published by name) only tells a worker to drain an integration. Losing one loses nothing:
the sweeper re-publishes every integration with due mail. The ordering rules:

1. A producer commits its message first, then publishes (`publish_on_commit`), through a
   background thread, coalesced: at most one wake-up waits per integration (the pending
   flag), and none is published while a drain of that integration announces itself.
2. A drain clears the pending flag before its first claim (`DrainTurn.start`): mail
   committed before that is seen by the claim, mail committed after it publishes anew.
3. A drain announces itself (renewed after each batch, expiring if it dies). When a claim
   finds nothing it stops announcing, then claims once more (`DrainTurn.next_batch`): mail
   committed while it announced (which published nothing) is claimed by that last look, or
   was committed after the announcement ended and published its own wake-up.
4. A drain that halts (a failed login, a full rate window) claims no more: mail committed
   during it gets a wake-up (`DrainTurn.hand_on_after_halt`); what the drain gave back waits
   for its retry time, or a broken integration would be drained one failed login after
   another. Drains halted for the same moment (a turn in a rate limit, the end of a pause)
   share one wake-up for it (`publish_at`).

    producer                    Redis flags                 drain (worker)
    commit ─> publish? ──(pending unset, not draining)──>   task
                                 clear pending  <────────── start
                                 announce       <────────── claim … send … renew
                                 end announce   <────────── claim found nothing
                                                            claim once more, then end
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import redis
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifuse_smtp.redis_connection import redis_client

from .models import Message

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
# The grain of the moments halted drains schedule their wake-up for (`wake_time`).
WAKE_GRAIN_MS = 10


DRAIN_TASK = "delivery.tasks.drain_integration"


def publish(integration_id: int, *, countdown: float | None = None) -> None:
    try:
        # By name: the tasks module imports the engine, which imports this one.
        current_app.send_task(DRAIN_TASK, (integration_id,), countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row is already safe
        logger.warning(
            "wake-up for integration %s not published (%s); the sweeper will pick it up",
            integration_id,
            exc.__class__.__name__,
        )


def wake_time(when: datetime) -> datetime:
    """`when` rounded up to WAKE_GRAIN_MS: drains that wait for the same turn in a rate limit
    or the end of the same pause then want the very same moment, and one wake-up serves all."""
    grain = timedelta(milliseconds=WAKE_GRAIN_MS)
    return when + (datetime.min.replace(tzinfo=when.tzinfo) - when) % grain


def publish_at(integration_id: int, when: datetime) -> None:
    """A wake-up at `when` (a `wake_time`), unless one for that very moment is still to come.

    Each drain halted by a limit or a pause gives its mail back for then and would otherwise
    publish a wake-up of its own: each of those drains halts and publishes again, so the
    wake-ups of one integration would multiply while its backlog lasts. The mark expires at
    `when`: a drain that halts after it for the same moment publishes anew.
    """
    delay = max((when - timezone.now()).total_seconds(), 0.0)
    key = f"notifuse:wake-at:{integration_id}:{round(when.timestamp() * 1000)}"
    try:
        fresh = _redis().set(key, 1, nx=True, px=max(round(delay * 1000), 1))
    except redis.RedisError:
        fresh = True  # no coalescing without Redis, but no lost wake-up
    if fresh:
        publish(integration_id, countdown=delay)


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
    return redis_client()


class DrainTurn:
    """One drain's side of the protocol (rules 2 to 4 above) around its `claim` function."""

    def __init__(self, integration_id: int, claim: Callable[[], list]) -> None:
        self.integration_id = integration_id
        self.claim = claim
        # When the drain first announced itself: mail created since is this drain's to hand on.
        self.started = None

    def start(self) -> None:
        """Rule 2: before the first claim."""
        clear_pending(self.integration_id)

    def announce(self) -> None:
        """Rule 3: while announced, producers publish nothing for this integration."""
        if self.started is None:
            self.started = timezone.now()
        announce_draining(self.integration_id)

    def next_batch(self) -> list:
        """Rule 3: an empty claim ends the announcement and is followed by one more look."""
        batch = self.claim()
        if batch:
            return batch
        end_draining(self.integration_id)
        batch = self.claim()
        if batch:
            announce_draining(self.integration_id)
        return batch

    def hand_on_after_halt(self) -> None:
        """Rule 4: only mail committed during this drain gets a wake-up."""
        end_draining(self.integration_id)
        due = (Message.objects.due().of_integration(self.integration_id)
               .filter(created_at__gte=self.started))
        if due.exists():
            publish_coalesced(self.integration_id)

    def end(self) -> None:
        end_draining(self.integration_id)
