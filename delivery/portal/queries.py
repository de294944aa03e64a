"""The portal's queries: a constant number per page, whatever the number of rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import CharField, Count, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from delivery.models import Message, SendAttempt, Status
from integrations.models import SmtpIntegration


def integration_health(now: datetime) -> list[SmtpIntegration]:
    """Every integration with its sent, failed and queued counts of the last 24 hours."""
    since = now - timedelta(hours=24)
    recent = Q(messages__created_at__gte=since)
    integrations = SmtpIntegration.objects.annotate(
        sent_24h=Count("messages", filter=recent & Q(messages__status=Status.SENT)),
        failed_24h=Count("messages", filter=recent & Q(messages__status=Status.FAILED)),
        queued=Count("messages", filter=Q(messages__status__in=[Status.QUEUED, Status.SENDING])),
        opened_24h=Count("messages", filter=recent & Q(messages__first_opened_at__isnull=False)),
        clicked_24h=Count("messages", filter=recent & Q(messages__click_count__gt=0)),
    ).order_by("-is_active", "name")
    result = list(integrations)
    for integration in result:
        done = integration.sent_24h + integration.failed_24h
        integration.failure_rate = (100.0 * integration.failed_24h / done) if done else None
    return result


def queue_state(now: datetime) -> dict:
    pending = Message.objects.filter(status__in=[Status.QUEUED, Status.SENDING])
    oldest = (
        Message.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    )
    return {
        "depth": pending.count(),
        "oldest_due_seconds": (now - oldest).total_seconds() if oldest else None,
    }


def message_log(params: dict) -> QuerySet[Message]:
    """Messages filtered by status, kind, integration, dates and a recipient/subject search."""
    messages = Message.objects.select_related("integration").order_by("-created_at", "-pk")
    for field in ("status", "kind"):
        if params.get(field):
            messages = messages.filter(**{field: params[field]})
    if params.get("integration"):
        messages = messages.filter(integration_id=params["integration"].pk)
    if params.get("date_from"):
        messages = messages.filter(created_at__date__gte=params["date_from"])
    if params.get("date_to"):
        messages = messages.filter(created_at__date__lte=params["date_to"])
    if params.get("q"):
        term = params["q"]
        messages = messages.annotate(to_text=Cast("to", CharField())).filter(
            Q(to_text__icontains=term) | Q(subject__icontains=term)
        )
    return messages


def with_attempt_counts(messages: list[Message]) -> list[Message]:
    """Attach attempt counts to one page of messages with one query (not a GROUP BY of all)."""
    counts = dict(
        SendAttempt.objects.filter(message_id__in=[m.pk for m in messages])
        .values("message_id").annotate(total=Count("id")).values_list("message_id", "total")
    )
    for message in messages:
        message.attempt_total = counts.get(message.pk, 0)
    return messages


def now() -> datetime:
    return timezone.now()
