"""The retry policy: when to try a failed message again, and when to give up."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings

from integrations.failures.errors import FailureClass

# The failure class of an attempt that met a provider's throttling: the whole integration
# paused, and the attempt does not count against the message.
THROTTLED = "throttled"
NOT_COUNTED = (FailureClass.CONFIGURATION, THROTTLED)


def backoff_seconds(attempt_number: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(n-1), capped."""
    ceiling = min(
        settings.DELIVERY_RETRY_MAX_SECONDS,
        settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** max(attempt_number - 1, 0),
    )
    return (rng or random).uniform(ceiling / 2, ceiling)


def give_up_reason(
    attempt_number: int, next_at: datetime, deadline: datetime, *, held: bool = False
) -> str:
    """Why no further attempt will be made, or '' when one may.

    Mail `held` by a configuration failure waits for staff to fix the integration: only its
    deadline ends it, however many times it was tried meanwhile.
    """
    if attempt_number >= settings.DELIVERY_MAX_ATTEMPTS and not held:
        return "gave up after 1 attempt" if attempt_number == 1 else (
            f"gave up after {attempt_number} attempts"
        )
    if next_at > deadline:
        return "gave up: the message's delivery deadline passed"
    return ""


def next_attempt_at(now: datetime, attempt_number: int) -> datetime:
    return now + timedelta(seconds=backoff_seconds(attempt_number))


def attempts_counted(message, *, held: bool = False) -> int:
    """The attempts since staff last retried `message` that count for its backoff and
    against DELIVERY_MAX_ATTEMPTS: not those that found the integration misconfigured or
    throttled.

    Mail held by a broken password for a day has made many attempts; once the password is
    fixed, its first temporary failure must neither end it nor put it an hour back. Held
    mail itself counts them all, so its tries grow further apart. A first attempt needs no
    look at the attempt log; a later failure costs one count of it, a send none.
    """
    attempts = message.attempts_since_retry
    if held or attempts <= 1:
        return attempts
    from delivery.models import SendAttempt

    not_counted = SendAttempt.objects.filter(
        message_id=message.pk, number__gt=message.attempts_before_retry,
        failure_class__in=NOT_COUNTED,
    ).count()
    return attempts - not_counted
