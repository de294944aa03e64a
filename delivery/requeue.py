"""Putting failed messages back in the queue (admin action, portal button)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from . import wakeups
from .models import Message, Status


def requeue_failed(queryset) -> int:
    """Queue failed messages again with a fresh deadline and a fresh set of attempts; a
    worker sends them.

    Recipients refused for good are tried again too (staff retry once the mailbox exists);
    those that took the message are not. Left refused, a message every recipient refused
    had nobody left to send to.
    """
    now = timezone.now()
    failed = queryset.filter(status=Status.FAILED)
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


def release_waiting(integration) -> int:
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
    count = Message.objects.filter(
        integration_id=integration.pk, status=Status.QUEUED, next_attempt_at__gt=now
    ).update(next_attempt_at=now, updated_at=now)
    if count:
        wakeups.publish_on_commit(integration.pk)
    return count
