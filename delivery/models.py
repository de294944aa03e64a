"""Messages and their send attempts. The message row is the truth; the broker only wakes workers."""

from __future__ import annotations

import secrets
import time

from django.db import models
from django.db.models import F, Q

from .api_keys import ApiKey
from .choices import (
    FeedbackKind,
    Kind,
    Priority,
    Stage,
    Status,
    SuppressionReason,
    SuppressionScope,
)
from .conditions import MessageQuerySet
from .json_field import JSONField
from .webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# ApiKey and the webhook models are defined beside their code and registered here.
__all__ = [
    "ApiKey", "BounceMailbox", "BounceScore", "FeedbackEvent", "FeedbackKind", "Kind",
    "Message", "Priority", "SendAttempt", "Stage", "Status", "Suppression",
    "SuppressionReason", "SuppressionScope", "TrackingEvent",
    "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
]


def new_tracking_key() -> str:
    """A message's name in its tracking URLs: 32 hex digits, the second it was made (8) and
    96 random bits (24).

    The random bits make it unguessable. The second in front keeps the unique index's writes
    on its newest pages: a message row is written three times (queued, claimed, sent), each
    version adding an index entry, and fully random keys put each entry on a random page of
    the whole index (on 400,000 keys, about three times the cost of a time-ordered entry).
    """
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(12)}"


class Message(models.Model):
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRANSACTIONAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Higher is claimed first (delivery.choices.Priority); any whole number 0-100.
    priority = models.PositiveSmallIntegerField(default=Priority.HIGH)
    # Not sent before this time (a scheduled send); null: as soon as possible.
    send_at = models.DateTimeField(null=True, blank=True)
    integration = models.ForeignKey(
        "integrations.SmtpIntegration", on_delete=models.PROTECT, related_name="messages"
    )
    # The caller named the integration: it never fails over to another one.
    integration_pinned = models.BooleanField(default=False)
    from_email = models.CharField(max_length=500)
    to = JSONField(default=list)
    cc = JSONField(default=list, blank=True)
    bcc = JSONField(default=list, blank=True)
    reply_to = JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    headers = JSONField(default=dict, blank=True)
    # [{"filename", "mimetype", "content_b64"}] from the queued email backend.
    attachments = JSONField(default=list, blank=True)
    # Unique among the messages that have one (a partial index: most messages have none, and
    # every index a message row is in costs each send_email an update).
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    # Open and click tracking for this message (also switched off by TRACKING_ENABLED).
    track = models.BooleanField(default=True)
    # Where each tracked link of `html` leads, in link order (a click token signs the index):
    # found when the message is queued, so a click is one lookup and never parses HTML.
    # None when the message was queued untracked.
    tracked_urls = JSONField(null=True, blank=True, default=None)
    # What names the message in its open and click URLs: random, so no URL tells another
    # message's, and independent of SECRET_KEY, so knowing or rotating that key forges or
    # breaks none. A click finds the message by it (message_tracking_key_unique).
    tracking_key = models.CharField(max_length=32, default=new_tracking_key, editable=False)
    # Rendered before tracking keys existed: its sent mail carries tokens signed with
    # SECRET_KEY over its id, which are still read for it (and for no later message).
    signed_tracking_tokens = models.BooleanField(default=False, editable=False)
    # Marketing mail only: sent as List-Unsubscribe with one-click POST (RFC 8058).
    unsubscribe_url = models.URLField(max_length=2000, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    click_count = models.PositiveIntegerField(default=0)

    attempt_count = models.PositiveIntegerField(default=0)
    # attempt_count when staff last queued the message again: the attempt limit and the
    # backoff count only the attempts after it, while attempt numbers go on.
    attempts_before_retry = models.PositiveIntegerField(default=0)
    # Due messages are found through the partial index on (integration, next_attempt_at).
    next_attempt_at = models.DateTimeField()
    deadline = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    # Recipients already accepted by the server: a retry never sends to them again.
    delivered_to = JSONField(default=list, blank=True)
    refused_recipients = JSONField(default=dict, blank=True)
    # Recipients on the suppression list when the message was queued: {address: reason}.
    # They are never sent to; a message with nobody else ends as `suppressed`.
    suppressed_recipients = JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When it last failed for good. A staff retry keeps it, so the dashboard's failures of
    # the last 24 hours still count an outage whose mail was retried since.
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Who cancelled it: a staff username, or "app code" for delivery.api.cancel.
    cancelled_by = models.CharField(max_length=150, blank=True)

    objects = MessageQuerySet.as_manager()

    @property
    def attempts_since_retry(self) -> int:
        return self.attempt_count - self.attempts_before_retry

    @property
    def is_held(self) -> bool:
        """One row's answer to `Message.objects.held()`: queued on an integration that needs
        attention (load the integration with it: select_related)."""
        return self.status == Status.QUEUED and self.integration.needs_attention

    class Meta:
        ordering = ("-created_at",)
        # Retrying sends mail again, so it is granted on its own: the admin's message page is
        # view-only, and viewing the log must not imply resending from it.
        permissions = [("retry_message", "Can retry failed messages"),
                       ("cancel_message", "Can cancel queued messages")]
        indexes = [
            # Claiming reads it in the claim's own order (highest priority first, then the
            # longest due, then id), so a claim stops after its batch. Without id the planner
            # may sort every due row per claim, as it does when it thinks few are due (stats
            # not yet gathered on a fresh backlog): each batch then costs the whole backlog.
            models.Index(
                "integration", F("priority").desc(), "next_attempt_at", "id",
                condition=Q(status="queued"),
                name="message_due_in_claim_order",
            ),
            models.Index(fields=("status", "created_at"), name="message_status_created"),
            # The log's order and its keyset pages (created_at, then id for equal times).
            models.Index(fields=("created_at", "id"), name="message_created_id"),
            # The dashboard's 24-hour outcomes read only the window (index-only scans).
            models.Index(fields=("sent_at", "integration"), name="message_sent_window",
                         condition=Q(sent_at__isnull=False)),
            models.Index(fields=("failed_at", "integration"), name="message_failed_window",
                         condition=Q(failed_at__isnull=False)),
            models.Index(fields=("created_at", "integration"), name="message_opened_window",
                         condition=Q(first_opened_at__isnull=False)),
            models.Index(fields=("created_at", "integration"), name="message_clicked_window",
                         condition=Q(click_count__gt=0)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=("idempotency_key",),
                condition=Q(idempotency_key__isnull=False),
                name="message_idempotency_key_unique",
            ),
            # A constraint, not unique=True, which would add a LIKE index of no use here to
            # every message's INSERT.
            models.UniqueConstraint(fields=("tracking_key",), name="message_tracking_key_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject!r} to {', '.join(self.to)}"

    @property
    def all_recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


class SendAttempt(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts")
    integration = models.ForeignKey(
        "integrations.SmtpIntegration", on_delete=models.PROTECT, related_name="attempts"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    enhanced_code = models.CharField(max_length=16, blank=True)
    error = models.TextField(blank=True)
    hint = models.TextField(blank=True)
    # transient | permanent | configuration | interrupted; empty when it succeeded.
    failure_class = models.CharField(max_length=16, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ("message", "number", "pk")
        indexes = [models.Index(fields=("integration", "-started_at"), name="attempt_recent")]

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else f"{self.smtp_code or ''} {self.enhanced_code}"
        return f"attempt {self.number} of message {self.message_id}: {self.stage} {outcome}"


class TrackingEvent(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        CLICK = "click", "Click"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # Stored only with TRACKING_STORE_IP on.
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "pk")
        indexes = [models.Index(fields=("message", "kind"), name="event_message_kind")]


class FeedbackEvent(models.Model):
    """What came back about a sent message for one recipient: a bounce, a complaint, an
    unsubscribe (opens and clicks are TrackingEvents)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    recipient = models.CharField(max_length=320)
    kind = models.CharField(max_length=12, choices=FeedbackKind.choices)
    # Bounces: "hard" (the address does not exist) or "soft" (full, blocked, later).
    bounce_type = models.CharField(max_length=4, blank=True)
    enhanced_code = models.CharField("enhanced status code", max_length=16, blank=True)
    diagnostic = models.TextField(blank=True)
    # The report as it arrived (bytes decoded as UTF-8 with replacement), for staff to read.
    report = models.TextField(blank=True)
    # SHA-256 of the raw report: the same report read twice (a second poll, a second worker,
    # a mailbox whose UIDVALIDITY changed) is one event.
    report_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("created_at", "pk")
        indexes = [models.Index(fields=("kind", "created_at"), name="feedback_kind_created")]
        constraints = [
            models.UniqueConstraint(
                fields=("report_digest", "recipient", "kind"),
                condition=~Q(report_digest=""),
                name="feedback_report_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.bounce_type} for {self.recipient} (message {self.message_id})"


class Suppression(models.Model):
    """An address this service does not mail: marketing only, or all mail."""

    # Normalised (delivery.suppressions.normalize): lower case, the domain as its A-label.
    address = models.CharField(max_length=320, unique=True)
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    scope = models.CharField(max_length=10, choices=SuppressionScope.choices)
    # The cause: the event (bounce, complaint, unsubscribe) and its message, or a person.
    event = models.ForeignKey(FeedbackEvent, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    created_by = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        # Removing a suppression lets mail go to the address again: granted on its own.
        permissions = [("remove_suppression", "Can remove suppressed addresses")]

    def __str__(self) -> str:
        return f"{self.address} ({self.reason}, {self.scope})"


class BounceScore(models.Model):
    """Mailman's bounce score for an address: soft bounces add up, at most once a day."""

    address = models.CharField(max_length=320, unique=True)
    score = models.FloatField(default=0.0)
    last_bounce_on = models.DateField()


class BounceMailbox(models.Model):
    """Where polling an integration's bounce mailbox got to: nothing is read twice."""

    integration = models.OneToOneField("integrations.SmtpIntegration", on_delete=models.CASCADE,
                                       related_name="bounce_mailbox")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What the last poll found: {"reports": n, "events": n, "ignored": n, "unmatched": n}.
    last_counts = models.JSONField(default=dict, blank=True)
