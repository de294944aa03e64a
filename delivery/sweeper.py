"""The outbox sweeper (Celery beat): nothing stays stuck when a worker or the broker is lost."""

from __future__ import annotations

import logging
import time

from django.utils import timezone

from integrations.errors import FailureClass

from . import retry, wakeups
from .models import Message, SendAttempt, Stage, Status

logger = logging.getLogger(__name__)

INTERRUPTED = "interrupted"


HEARTBEAT_KEY = "notifuse:sweeper:last-run"


def sweep() -> dict[str, int]:
    """Requeue messages whose lease expired, then wake every integration with due mail."""
    returned = requeue_expired_leases()
    integration_ids = republish_due()
    heartbeat()
    return {"requeued": returned, "woken": len(integration_ids)}


def heartbeat() -> None:
    """Record that beat ran the sweeper: /healthz reports how long ago."""
    from notifuse_smtp.redis_connection import redis_client

    redis_client().set(HEARTBEAT_KEY, time.time(), ex=86400)


def announce_beat(**kwargs) -> None:
    """Beat's first sweep is an interval away; /healthz counts its start as a sign of life."""
    heartbeat()


def seconds_since_last_sweep() -> float | None:
    from notifuse_smtp.redis_connection import redis_client

    value = redis_client().get(HEARTBEAT_KEY)
    return time.time() - float(value) if value else None


def requeue_expired_leases() -> int:
    now = timezone.now()
    expired = Message.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
    returned = 0
    fields = ("pk", "integration_id", "attempt_count", "attempts_before_retry", "claim_token",
              "deadline")
    for message in expired.only(*fields):
        # Each claim counted an attempt: a message whose worker dies every time (one that
        # crashes or exhausts it) must run out of attempts like any other failure.
        held = _held(message)
        reason = retry.give_up_reason(retry.attempts_counted(message, held=held), now,
                                      message.deadline, held=held)
        interrupted = "Interrupted: the worker stopped before reporting (its lease expired)."
        if reason:
            changes = {"status": Status.FAILED, "last_error": f"{interrupted} ({reason})"}
        else:
            changes = {"status": Status.QUEUED, "next_attempt_at": now}
        taken = Message.objects.filter(
            pk=message.pk, status=Status.SENDING, claim_token=message.claim_token
        ).update(**changes, claim_token=None, lease_expires_at=None, updated_at=now)
        if taken:
            if reason:
                logger.warning("sweeper failed message %s: %s", message.pk, changes["last_error"])
            else:
                returned += 1
            SendAttempt.objects.create(
                message_id=message.pk,
                integration_id=message.integration_id,
                number=message.attempt_count,
                started_at=now,
                finished_at=now,
                stage=Stage.CONNECT,
                error=f"{interrupted} " + (
                    f"The message failed: {reason}." if reason else "The message is queued again."
                ),
                failure_class=INTERRUPTED,
            )
    if returned:
        logger.warning("sweeper returned %s messages with expired leases to the queue", returned)
    return returned


def _held(message: Message) -> bool:
    """Whether its last attempt was a configuration failure: such mail waits for staff to fix
    the integration and only its deadline ends it, however many times it was tried."""
    last = (SendAttempt.objects.filter(message_id=message.pk).order_by("-number", "-pk")
            .values_list("failure_class", flat=True).first())
    return last == FailureClass.CONFIGURATION


def republish_due() -> list[int]:
    due = Message.objects.filter(status=Status.QUEUED, next_attempt_at__lte=timezone.now())
    integration_ids = list(due.values_list("integration_id", flat=True).distinct().order_by())
    for integration_id in integration_ids:
        wakeups.publish(integration_id)
    return integration_ids
