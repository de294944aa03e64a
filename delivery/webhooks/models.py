"""Webhook endpoints, and every delivery of an event to one (stored before it is sent)."""

from __future__ import annotations

from django.db import models

from integrations.secrets import SecretTextField


class EventType(models.TextChoices):
    SENT = "message.sent", "Message sent"
    FAILED = "message.failed", "Message failed"
    BOUNCED = "message.bounced", "Message bounced"
    COMPLAINED = "message.complained", "Complaint (marked as spam)"
    OPENED = "message.opened", "Message opened"
    CLICKED = "message.clicked", "Link clicked"
    UNSUBSCRIBED = "recipient.unsubscribed", "Recipient unsubscribed"
    SUPPRESSED = "recipient.suppressed", "Recipient suppressed"


class WebhookEndpoint(models.Model):
    url = models.URLField("URL", max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types POSTed to this URL.")
    # Standard Webhooks form ("whsec_" + base64); encrypted at rest, shown once.
    secret = SecretTextField(editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ("url", "pk")

    def __str__(self) -> str:
        return self.description or self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    GAVE_UP = "gave_up", "Gave up"


class WebhookDelivery(models.Model):
    """One event for one endpoint: retried until a 2xx answer or WEBHOOK_MAX_ATTEMPTS."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    # The webhook-id header: the same on every try and replay, so receivers can de-duplicate.
    event_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    tries = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    # A worker holds the delivery while it POSTs: no two POST the same delivery at once.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ("-created_at", "-pk")
        permissions = [("replay_webhookdelivery", "Can replay webhook deliveries")]
        constraints = [models.UniqueConstraint(fields=("endpoint", "event_id"),
                                               name="webhook_delivery_event_once")]
        indexes = [models.Index(fields=("state", "due_at"), name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} to {self.endpoint_id}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ("delivery", "number")
