"""The portal's queries: a constant number per page, whatever the number of rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import CharField, Count, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from delivery.models import Message, SendAttempt, Status
from integrations.models import SECRET_FIELDS, SmtpIntegration

PENDING = (Status.QUEUED, Status.SENDING)
# What the log's rows show; bodies and attachments (possibly megabytes each) stay in the table.
LOG_FIELDS = ("created_at", "status", "kind", "to", "subject", "last_error",
              "integration", "integration__name")


def now() -> datetime:
    """The current time (one place for tests and views to agree on)."""
    return timezone.now()


def integration_health(now: datetime) -> list[SmtpIntegration]:
    """Every integration, active first, with its 24-hour counts and health: one query."""
    since = now - timedelta(hours=24)
    integrations = (
        # The dashboard shows no secret: leave them encrypted in the table.
        SmtpIntegration.objects.defer(*SECRET_FIELDS)
        .annotate(
            # Counted when the outcome happened: mail that fails after days of retrying
            # during an outage counts today. A failed row is not changed after it fails,
            # so its updated_at is the time it failed.
            sent_24h=Count("messages", filter=Q(messages__status=Status.SENT,
                                                messages__sent_at__gte=since)),
            failed_24h=Count("messages", filter=Q(messages__status=Status.FAILED,
                                                  messages__updated_at__gte=since)),
            queued=Count("messages", filter=Q(messages__status__in=PENDING)),
            # What a per-minute limit counts: the pace shown against it.
            sent_last_minute=Count("messages", filter=Q(
                messages__status=Status.SENT,
                messages__sent_at__gte=now - timedelta(
                    seconds=settings.DELIVERY_RATE_MINUTE_SECONDS))),
            opened_24h=Count("messages", filter=Q(messages__created_at__gte=since,
                                                  messages__first_opened_at__isnull=False)),
            clicked_24h=Count("messages", filter=Q(messages__created_at__gte=since,
                                                   messages__click_count__gt=0)),
        )
        .order_by("-is_active", "name")
    )
    result = list(integrations)
    for integration in result:
        integration.failure_rate = failure_rate(integration.sent_24h, integration.failed_24h)
    return result


def failure_rate(sent: int, failed: int) -> float | None:
    """Failed / (sent + failed) in percent; None when nothing finished."""
    done = sent + failed
    return 100.0 * failed / done if done else None


def queue_state(now: datetime) -> dict:
    """Queue depth (queued + sending) and the age of the oldest due queued message."""
    depth = Message.objects.pending().count()
    oldest = Message.objects.oldest_due_at(now)
    seconds = (now - oldest).total_seconds() if oldest else None
    return {"depth": depth, "oldest_due_seconds": seconds, "oldest_due_age": age(seconds)}


def age(seconds: float | None) -> str:
    """A short human age: "42 s", "7 min", "3 h 5 min", "2 d 4 h"; "—" for none."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


def message_log(params: dict) -> QuerySet[Message]:
    """Messages filtered by status, kind, integration, dates and a recipient/subject search."""
    messages = (
        Message.objects.select_related("integration").only(*LOG_FIELDS)
        .order_by("-created_at", "-pk")
    )
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
        # `to` is a JSON list: its text form holds every address, quoted. SQLite keeps
        # non-ASCII characters there as \\u escapes, so that form of the term is tried too.
        escaped = json.dumps(term)[1:-1]
        in_to = Q(to_text__icontains=term)
        if escaped != term:
            in_to |= Q(to_text__icontains=escaped)
        messages = messages.annotate(to_text=Cast("to", CharField())).filter(
            in_to | Q(subject__icontains=term)
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


def message_with_integration(pk: int) -> QuerySet[Message]:
    """One message with its integration's name and health, without the integration's secrets."""
    return Message.objects.select_related("integration").defer(
        *(f"integration__{name}" for name in SECRET_FIELDS)
    ).filter(pk=pk)
