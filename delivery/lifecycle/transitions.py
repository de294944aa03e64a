"""Queue, give back, move, release, retry and expire: the transitions outside a send."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from delivery import wakeups
from delivery.failover import from_address_on
from delivery.models import Message, SendAttempt, Stage, Status
from delivery.signals import message_failed, send_after_commit
from delivery.unsaved import unsaved
from integrations.failures.errors import FailureClass
from integrations.models import SmtpIntegration

from . import backoff

logger = logging.getLogger("delivery.sweeper")
INTERRUPTED = "interrupted"
INTERRUPTED_TEXT = "Interrupted: the worker stopped before reporting (its lease expired)."
RELEASED = {"claim_token": None, "lease_expires_at": None}


class CannotCancel(Exception):
    """The message is in flight or finished: too late to cancel it."""


def new_message(*, send_at: datetime | None = None, **fields) -> Message:
    """An unsaved message, queued and due now (or at `send_at`), with its deadline."""
    due = max(timezone.now(), send_at) if send_at else timezone.now()
    return unsaved(
        Message,
        **fields,
        send_at=send_at,
        status=Status.QUEUED,
        next_attempt_at=due,
        deadline=due + timedelta(seconds=settings.DELIVERY_MAX_AGE),
    )


def cancel(message: Message, *, by: str) -> Message:
    """Cancel a queued (or scheduled) message no worker has claimed; raise CannotCancel.

    One conditional UPDATE: a worker's claim and this cannot both take the same row, so a
    cancelled message is never sent.
    """
    now = timezone.now()
    changes = {"status": Status.CANCELLED, "cancelled_at": now, "cancelled_by": by[:150]}
    if Message.objects.queued().filter(pk=message.pk).update(**changes, updated_at=now):
        for name, value in changes.items():
            setattr(message, name, value)
        return message
    current = Message.objects.filter(pk=message.pk).values_list("status", flat=True).first()
    raise CannotCancel(_why_not(message.pk, current))


def _why_not(pk: int, status: str | None) -> str:
    if status is None:
        return f"message {pk} does not exist"
    if status == Status.SENDING:
        return f"message {pk} is being sent right now and can no longer be cancelled"
    return f"message {pk} is {status}: only queued or scheduled messages can be cancelled"


def move_to(
    message: Message, target: SmtpIntegration, *, attempted: bool, changes: dict | None = None
) -> bool:
    """Hand a claimed message to another integration, due now; False if it has no sender."""
    from_email = from_address_on(target, message.from_email)
    if from_email is None:
        return False
    update = {
        **(changes or {}),
        **RELEASED,
        "status": Status.QUEUED,
        "integration_id": target.pk,
        "from_email": from_email,
        "next_attempt_at": timezone.now(),
    }
    if not attempted:
        update["attempt_count"] = F("attempt_count") - 1
    Message.objects.filter(pk=message.pk, claim_token=message.claim_token).update(
        **update, updated_at=timezone.now()
    )
    return True


def give_back(
    messages: list[Message], *, retry_at: datetime, failover_to: SmtpIntegration | None = None
) -> None:
    """Return claimed but untried messages to the queue, without counting an attempt.

    Those not pinned to their integration follow `failover_to` when there is one.
    """
    moved = {m.pk for m in messages
             if failover_to is not None and move_to(m, failover_to, attempted=False)}
    if moved:
        wakeups.publish_on_commit(failover_to.pk)
    # Only under the claim that took them: a message whose lease ran out may be another
    # worker's by now.
    Message.objects.filter(
        pk__in=[m.pk for m in messages if m.pk not in moved], status=Status.SENDING,
        claim_token__in={m.claim_token for m in messages},
    ).update(**RELEASED, status=Status.QUEUED, next_attempt_at=retry_at,
             attempt_count=F("attempt_count") - 1)


def release_held(integration: SmtpIntegration) -> int:
    """When the integration needs attention: make its queued mail due now and wake a worker;
    return how many waited.

    For when staff changed the integration or a test through it passed, which may be the fix:
    mail held by a broken password would otherwise wait for its next try, up to
    DELIVERY_RETRY_MAX_SECONDS away. A healthy integration's mail is backing off from its own
    temporary failures (greylisting, throttling), and is left to its schedule.
    """
    if not (integration.is_active and integration.needs_attention):
        return 0
    now = timezone.now()
    count = Message.objects.of_integration(integration.pk).waiting(now).update(
        next_attempt_at=now, updated_at=now
    )
    if count:
        wakeups.publish_on_commit(integration.pk)
    return count


def staff_retry(queryset) -> int:
    """Queue failed messages again with a fresh deadline and a fresh set of attempts; a
    worker sends them.

    Recipients refused for good are tried again too (staff retry once the mailbox exists);
    those that took the message are not. Left refused, a message every recipient refused
    had nobody left to send to.
    """
    now = timezone.now()
    failed = queryset.failed()
    integration_ids = set(failed.values_list("integration_id", flat=True))
    count = failed.update(
        status=Status.QUEUED,
        next_attempt_at=now,
        deadline=now + timedelta(seconds=settings.DELIVERY_MAX_AGE),
        attempts_before_retry=F("attempt_count"),
        refused_recipients={},
        updated_at=now,
    )
    for integration_id in integration_ids:
        wakeups.publish_on_commit(integration_id)
    return count


def expire_leases() -> int:
    """Return mail whose worker died (its lease expired) to the queue; fail what has used up
    its attempts or its deadline. Returns how many went back to the queue."""
    now = timezone.now()
    fields = ("pk", "integration_id", "attempt_count", "attempts_before_retry", "claim_token",
              "deadline")
    returned = sum(_expire(message, now) for message in
                   Message.objects.stale_leases(now).only(*fields))
    if returned:
        logger.warning("sweeper returned %s messages with expired leases to the queue", returned)
    return returned


def _expire(message: Message, now: datetime) -> bool:
    # Each claim counted an attempt: a message whose worker dies every time (one that
    # crashes or exhausts it) must run out of attempts like any other failure.
    held = _was_held(message)
    reason = backoff.give_up_reason(backoff.attempts_counted(message, held=held), now,
                                    message.deadline, held=held)
    if reason:
        changes = {"status": Status.FAILED, "failed_at": now,
                   "last_error": f"{INTERRUPTED_TEXT} ({reason})"}
    else:
        changes = {"status": Status.QUEUED, "next_attempt_at": now}
    taken = Message.objects.in_flight().filter(
        pk=message.pk, claim_token=message.claim_token
    ).update(**changes, **RELEASED, updated_at=now)
    if not taken:
        return False
    if reason:
        logger.warning("sweeper failed message %s: %s", message.pk, changes["last_error"])
        message.status, message.last_error = Status.FAILED, changes["last_error"]
        send_after_commit(message_failed, Message, message=message, reason=message.last_error)
    outcome = f"The message failed: {reason}." if reason else "The message is queued again."
    SendAttempt.objects.create(
        message_id=message.pk, integration_id=message.integration_id,
        number=message.attempt_count, started_at=now, finished_at=now, stage=Stage.CONNECT,
        error=f"{INTERRUPTED_TEXT} {outcome}", failure_class=INTERRUPTED,
    )
    return not reason


def _was_held(message: Message) -> bool:
    """Whether its last attempt was a configuration failure: such mail waits for staff to fix
    the integration and only its deadline ends it, however many times it was tried."""
    last = (SendAttempt.objects.filter(message_id=message.pk).order_by("-number", "-pk")
            .values_list("failure_class", flat=True).first())
    return last == FailureClass.CONFIGURATION
