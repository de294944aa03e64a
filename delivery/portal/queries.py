"""The portal's queries: a constant number per page, whatever the number of rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from delivery.choices import HELD
from delivery.models import Message, SendAttempt, Status
from delivery.search import search

from .forms import SCHEDULED
from integrations.models import SECRET_FIELDS, SmtpIntegration

# What the log's rows show; bodies and attachments (possibly megabytes each) stay in the table.
# The integration's mark says whether a queued row is held.
LOG_FIELDS = ("created_at", "status", "kind", "from_email", "to", "subject", "last_error",
              "integration", "integration__name", "integration__needs_attention_reason")


def now() -> datetime:
    """The current time (one place for tests and views to agree on)."""
    return timezone.now()


def integration_health(now: datetime) -> list[SmtpIntegration]:
    """Every integration, active first, with its 24-hour counts and health.

    Each count reads only its window through an index (when mail was sent, when it failed,
    when it was created) or the unfinished mail: a few queries whatever the table holds.
    """
    since = now - timedelta(hours=24)
    # The dashboard shows no secret: leave them encrypted in the table.
    integrations = list(
        SmtpIntegration.objects.defer(*SECRET_FIELDS).order_by("-is_active", "name")
    )
    sent = _per_integration(Message.objects.filter(sent_at__gte=since))
    # What a per-minute limit counts: the pace shown against it.
    minute = now - timedelta(seconds=settings.DELIVERY_RATE_MINUTE_SECONDS)
    sent_last_minute = _per_integration(Message.objects.filter(sent_at__gte=minute))
    # Failure events: failed_at stays when staff retry, so an outage is not forgotten.
    failed = _per_integration(Message.objects.filter(failed_at__gte=since))
    pending = _pending_per_integration()
    created = Message.objects.filter(created_at__gte=since)
    opened = _per_integration(created.filter(first_opened_at__isnull=False))
    clicked = _per_integration(created.filter(click_count__gt=0))
    for integration in integrations:
        pk = integration.pk
        integration.sent_24h, integration.failed_24h = sent.get(pk, 0), failed.get(pk, 0)
        queued = pending.get((pk, Status.QUEUED), 0)
        integration.queued = queued + pending.get((pk, Status.SENDING), 0)
        # Message.objects.held(), counted from what is read anyway: no query of its own.
        integration.held = queued if integration.needs_attention else 0
        integration.sent_last_minute = sent_last_minute.get(pk, 0)
        integration.opened_24h, integration.clicked_24h = opened.get(pk, 0), clicked.get(pk, 0)
        integration.failure_rate = failure_rate(integration.sent_24h, integration.failed_24h)
    return integrations


def _per_integration(messages: QuerySet[Message]) -> dict[int, int]:
    """How many of these messages each integration has, by integration id: one query.

    COUNT(*), not COUNT(id): the window indexes hold no id, and an index-only scan then
    answers without reading the rows.
    """
    return dict(messages.values("integration_id").annotate(total=Count("*"))
                .order_by().values_list("integration_id", "total"))


def _pending_per_integration() -> dict[tuple[int, str], int]:
    """How many queued and how many sending messages each integration has: one query."""
    rows = (Message.objects.pending().values("integration_id", "status")
            .annotate(total=Count("*")).order_by())
    return {(row["integration_id"], row["status"]): row["total"] for row in rows}


def failure_rate(sent: int, failed: int) -> float | None:
    """Failed / (sent + failed) in percent; None when nothing finished."""
    done = sent + failed
    return 100.0 * failed / done if done else None


def queue_state(now: datetime, integrations: list[SmtpIntegration]) -> dict:
    """Queue depth (queued + sending, scheduled mail apart), the held mail, and how long the
    longest-waiting message has waited: due and not yet taken, or held for a fix.

    `integrations` come from integration_health, whose counts are summed here.
    """
    scheduled = Message.objects.scheduled(now).count()
    depth = sum(integration.queued for integration in integrations) - scheduled
    held = sum(integration.held for integration in integrations)
    waiting_since = [moment for moment in (Message.objects.oldest_due_at(now),
                                           Message.objects.oldest_held_at(now)) if moment]
    seconds = (now - min(waiting_since)).total_seconds() if waiting_since else None
    return {"depth": depth, "scheduled": scheduled, "held": held,
            "oldest_due_seconds": seconds, "oldest_due_age": age(seconds)}


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
    """Messages filtered by status, kind, integration, dates and a search; newest first."""
    messages = (
        Message.objects.select_related("integration").only(*LOG_FIELDS)
        .order_by("-created_at", "-pk")
    )
    if params.get("status") == SCHEDULED:
        messages = messages.scheduled()
    elif params.get("status") == HELD:
        messages = messages.held()
    elif params.get("status"):
        messages = messages.filter(status=params["status"])
    if params.get("kind"):
        messages = messages.filter(kind=params["kind"])
    if params.get("integration"):
        messages = messages.filter(integration_id=params["integration"].pk)
    # Bounds on created_at itself (not on its date) so the index serves them.
    if params.get("date_from"):
        messages = messages.filter(created_at__gte=start_of(params["date_from"]))
    if params.get("date_to"):
        messages = messages.filter(
            created_at__lt=start_of(params["date_to"]) + timedelta(days=1))
    if params.get("q"):
        messages = search(messages, params["q"].strip())
    return messages


def start_of(day: date) -> datetime:
    """Midnight at the start of a day, in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


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
