"""Record: what each try came to (its attempt row) moves the message to its next state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections, router
from django.utils import timezone

from integrations.failures.catalog import explain_refusal
from integrations.failures.errors import DeliveryError, FailureClass
from integrations.models import SmtpIntegration

from delivery.inserts import insert_many
from delivery.models import Message, SendAttempt, Status
from delivery.signals import message_failed, message_sent, send_each_after_commit
from delivery.unsaved import unsaved

from . import backoff
from .transitions import move_to

logger = logging.getLogger("delivery.attempts")


@dataclass
class Outcome:
    """What one try of one message came to; `error` is None when the server took it."""

    message: Message
    started_at: datetime
    stage: str
    error: DeliveryError | None = None
    refused: dict = field(default_factory=dict)
    accepted: list[str] = field(default_factory=list)
    # Failover target when the integration needs attention and the message may move.
    moved_to: SmtpIntegration | None = None
    finished_at: datetime | None = None
    # Something the session did on the way that staff should see (a replaced token).
    note: str = ""
    # A throttling reply paused the integration until then: the message waits with it.
    paused_until: datetime | None = None


def record_outcomes(
    outcomes: list[Outcome], integration: SmtpIntegration | None = None
) -> list[SendAttempt]:
    """Write a batch's attempts in one insert and its plain successes in one update;
    move every other message on (failed, or queued for a retry).

    `integration` (the one that tried them) picks its provider's reading of a refusal.
    """
    now = timezone.now()
    attempts = [_attempt(outcome, now, integration) for outcome in outcomes]
    insert_many(attempts)
    plain_successes = []
    for outcome in outcomes:
        if outcome.error is None and not outcome.refused:
            plain_successes.append(outcome.message)
        else:
            _apply(outcome, _next_state(outcome, now, integration), now)
    if plain_successes:
        _mark_sent(plain_successes, now)
    _announce(outcomes)
    if logger.isEnabledFor(logging.INFO):
        for attempt in attempts:
            _log(attempt)
    return attempts


def _attempt(
    outcome: Outcome, now: datetime, integration: SmtpIntegration | None = None
) -> SendAttempt:
    message, error = outcome.message, outcome.error
    attempt = unsaved(
        SendAttempt,
        message=message,
        integration_id=message.integration_id,
        number=message.attempt_count,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at or now,
        stage=error.stage if error else outcome.stage,
        smtp_code=error.smtp_code if error else None,
        enhanced_code=error.enhanced_code if error else "",
        error=_error_text(outcome),
        hint=error.hint if error else _refusals_hint(outcome.refused, integration),
        failure_class=_failure_class(outcome),
        succeeded=error is None,
    )
    if outcome.note:
        attempt.error = " ".join(part for part in (outcome.note, attempt.error) if part)
    if outcome.moved_to is not None:
        attempt.error += f" [moved to integration {outcome.moved_to.name!r}]"
    return attempt


def _error_text(outcome: Outcome) -> str:
    error = outcome.error
    if error is None:
        return _refusals_text(outcome.refused)
    if outcome.refused and error.stage != "rcpt":
        # Some recipients were refused before DATA failed: the attempt tells both.
        return f"{error.text} ({_refusals_text(outcome.refused)})"
    return error.text


def _failure_class(outcome: Outcome) -> str:
    if outcome.error is None:
        return ""
    return backoff.THROTTLED if outcome.paused_until else str(outcome.error.failure_class)


_MARK_SENT_SQL = (
    f"UPDATE {Message._meta.db_table} SET status = %s, sent_at = %s, updated_at = %s, "
    "last_error = '', claim_token = NULL, lease_expires_at = NULL "
    "WHERE id = ANY(%s) AND claim_token = ANY(%s)"
)


def _mark_sent(messages: list[Message], now: datetime) -> None:
    changes = {"status": Status.SENT, "sent_at": now, "last_error": "",
               "claim_token": None, "lease_expires_at": None}
    ids, tokens = [m.pk for m in messages], list({m.claim_token for m in messages})
    connection = connections[router.db_for_write(Message)]
    if connection.vendor == "postgresql":
        # The ORM compiles this UPDATE afresh for every batch, at about the cost of the
        # batch's SMTP work when mail arrives a few messages at a time.
        with connection.cursor() as cursor:
            cursor.execute(_MARK_SENT_SQL, [Status.SENT, now, now, ids, tokens])
            updated = cursor.rowcount
    else:
        updated = Message.objects.filter(pk__in=ids, claim_token__in=tokens).update(
            **changes, updated_at=now
        )
    if updated < len(messages):
        logger.warning("%s sent message(s) lost their lease before the outcome was saved",
                       len(messages) - updated)
    for message in messages:
        _set(message, changes)


def _announce(outcomes: list[Outcome]) -> None:
    """message_sent and message_failed for app code, once the outcomes are committed."""
    announcements = []
    for outcome in outcomes:
        message = outcome.message
        if message.status == Status.SENT:
            announcements.append((message_sent, {"message": message,
                                                 "recipients": list(outcome.accepted)}))
        elif message.status == Status.FAILED:
            announcements.append((message_failed, {"message": message,
                                                   "reason": message.last_error}))
    send_each_after_commit(Message, announcements)


def _apply(outcome: Outcome, changes: dict, now: datetime) -> None:
    message = outcome.message
    if outcome.moved_to is not None and changes["status"] == Status.QUEUED:
        if move_to(message, outcome.moved_to, attempted=True, changes=changes):
            return
    updated = Message.objects.filter(pk=message.pk, claim_token=message.claim_token).update(
        **changes, updated_at=now
    )
    if not updated:
        logger.warning("message %s: lease lost before its outcome was saved", message.pk)
    _set(message, changes)


def _next_state(
    outcome: Outcome, now: datetime, integration: SmtpIntegration | None = None
) -> dict:
    message, error = outcome.message, outcome.error
    delivered = [*message.delivered_to, *outcome.accepted]
    for_good = {addr: refusal for addr, refusal in outcome.refused.items()
                if _refused_for_good(*refusal, integration)}
    refused = {**message.refused_recipients,
               **{addr: [code, text] for addr, (code, text) in for_good.items()}}
    base = {
        "delivered_to": delivered,
        "refused_recipients": refused,
        "claim_token": None,
        "lease_expires_at": None,
    }
    if error is None and len(for_good) == len(outcome.refused):
        return {**base, "status": Status.SENT, "sent_at": now, "last_error": ""}
    if outcome.paused_until is not None:  # a throttling reply is never final, whatever 5xx
        return {**base, **_paused(outcome.paused_until, message.deadline, error.summary)}
    if error is not None and error.failure_class is FailureClass.PERMANENT:
        return {**base, "status": Status.FAILED, "failed_at": now, "last_error": error.summary}
    summary = error.summary if error else _refusals_text(outcome.refused)
    held = error is not None and error.failure_class is FailureClass.CONFIGURATION
    counted = backoff.attempts_counted(message, held=held)
    next_at = backoff.next_attempt_at(now, counted)
    reason = backoff.give_up_reason(counted, next_at, message.deadline, held=held)
    if reason:
        return {**base, "status": Status.FAILED, "failed_at": now,
                "last_error": f"{summary} ({reason})"}
    return {**base, "status": Status.QUEUED, "next_attempt_at": next_at, "last_error": summary}


def _paused(until: datetime, deadline: datetime, summary: str) -> dict:
    """Throttled: queued again for when the pause ends, the try not counted against it."""
    reason = backoff.give_up_reason(0, until, deadline)
    if reason:
        return {"status": Status.FAILED, "last_error": f"{summary} ({reason})"}
    return {"status": Status.QUEUED, "next_attempt_at": until, "last_error": summary}


def pending_recipients(message: Message) -> list[str]:
    """Envelope recipients still to be tried: not yet accepted, not permanently refused, not
    suppressed when the message was queued."""
    done = {a.lower() for a in [*message.delivered_to, *message.refused_recipients,
                                *message.suppressed_recipients]}
    return [a for a in message.all_recipients if a.lower() not in done]


def _set(instance, values: dict) -> None:
    for name, value in values.items():
        setattr(instance, name, value)


def _refused_for_good(code: int, text: str, integration: SmtpIntegration | None) -> bool:
    """Final only when the catalog calls the reply permanent (not every 5xx is: 552 at RCPT
    means too many recipients, 5.4.5 a daily limit)."""
    return explain_refusal(code, text, integration).failure_class is FailureClass.PERMANENT


def _refusals_hint(refused: dict, integration: SmtpIntegration | None) -> str:
    """What to do about the recipients a delivered message did not reach (the first that
    the catalog has advice for)."""
    hints = (explain_refusal(code, text, integration).hint for code, text in refused.values())
    return next((hint for hint in hints if hint), "")


def _refusals_text(refused: dict) -> str:
    return "; ".join(f"{addr} refused: {code} {text}" for addr, (code, text) in refused.items())


def _log(attempt: SendAttempt) -> None:
    fields = {
        "message_id": attempt.message_id,
        "integration_id": attempt.integration_id,
        "attempt": attempt.number,
        "stage": attempt.stage,
        "code": attempt.smtp_code,
        "enhanced_code": attempt.enhanced_code,
        "outcome": "sent" if attempt.succeeded else attempt.failure_class,
        "duration_ms": round((attempt.finished_at - attempt.started_at).total_seconds() * 1000),
    }
    text = " ".join(f"{k}={'' if v is None else v}" for k, v in fields.items())
    logger.info("attempt %s", text, extra=fields)
