"""From delivery.signals to stored webhook deliveries, one per subscribed endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from delivery import signals
from notifuse_smtp.caching import RecentAnswers

from . import publishing
from .models import EventType, WebhookDelivery, WebhookEndpoint

# Every sent message asks which endpoints listen: remembered briefly, like routing answers.
_subscribers = RecentAnswers("ROUTE_CACHE_SECONDS")


def subscribers(event_type: str) -> list[int]:
    def read() -> list[int]:
        return [e.pk for e in WebhookEndpoint.objects.filter(is_active=True).only("events")
                if event_type in e.events]
    return _subscribers.get(event_type, read)


def record_event(event_type: str, data: dict | Callable[[], dict]) -> list[WebhookDelivery]:
    """Store one delivery per subscribed endpoint, then (after commit) have workers send them.

    `data` may be a function that builds it: every sent message reports, and mostly no
    endpoint listens, so the payload is built only for one that does.
    """
    endpoint_ids = subscribers(event_type)
    if not endpoint_ids:
        return []
    if callable(data):
        data = data()
    now = timezone.now()
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint_id=pk, event_id=event_id, event_type=event_type,
                        payload=payload, due_at=now)
        for pk in endpoint_ids
    )
    transaction.on_commit(lambda: [publishing.publish(d.pk) for d in deliveries])
    return deliveries


def _message(message) -> dict:
    return {"message_id": message.pk, "kind": message.kind, "integration_id":
            message.integration_id, "from_email": message.from_email, "to": list(message.to),
            "subject": message.subject, "idempotency_key": message.idempotency_key}


def _event_id(event) -> int | None:
    return getattr(event, "pk", None)


def on_sent(sender, message, recipients=(), **_) -> None:
    record_event(EventType.SENT, lambda: {**_message(message), "recipients": list(recipients)})


def on_failed(sender, message, reason="", **_) -> None:
    record_event(EventType.FAILED, lambda: {**_message(message), "reason": reason})


def on_bounced(sender, message, recipient="", bounce_type="", diagnostic="", event=None,
               **arguments) -> None:
    record_event(EventType.BOUNCED, {
        **_message(message), "recipient": recipient, "bounce_type": bounce_type,
        "enhanced_code": arguments.get("status", ""), "diagnostic": diagnostic,
        "event_id": _event_id(event)})


def on_complained(sender, message, recipient="", event=None, **_) -> None:
    record_event(EventType.COMPLAINED, {**_message(message), "recipient": recipient,
                                        "event_id": _event_id(event)})


def on_opened(sender, message, event=None, **_) -> None:
    record_event(EventType.OPENED, {**_message(message), "event_id": _event_id(event)})


def on_clicked(sender, message, url="", event=None, **_) -> None:
    record_event(EventType.CLICKED, {**_message(message), "url": url,
                                     "event_id": _event_id(event)})


def on_unsubscribed(sender, address="", message=None, scope="", **_) -> None:
    record_event(EventType.UNSUBSCRIBED, {
        "address": address, "scope": scope,
        "message_id": getattr(message, "pk", None)})


def on_suppressed(sender, address="", reason="", scope="", suppression=None, **_) -> None:
    record_event(EventType.SUPPRESSED, {
        "address": address, "reason": reason, "scope": scope,
        "suppression_id": getattr(suppression, "pk", None)})


RECEIVERS = {
    signals.message_sent: on_sent, signals.message_failed: on_failed,
    signals.message_bounced: on_bounced, signals.message_complained: on_complained,
    signals.message_opened: on_opened, signals.link_clicked: on_clicked,
    signals.recipient_unsubscribed: on_unsubscribed,
    signals.recipient_suppressed: on_suppressed,
}


def connect() -> None:
    for signal, receiver in RECEIVERS.items():
        signal.connect(receiver, dispatch_uid=f"delivery.webhooks.{receiver.__name__}")
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(_forget_subscribers, sender=WebhookEndpoint,
                       dispatch_uid=f"delivery.webhooks.forget.{name}")


def _forget_subscribers(**_) -> None:
    _subscribers.clear()
