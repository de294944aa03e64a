"""POST one stored delivery, signed; record the try; schedule the next with backoff."""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import publishing, signing
from .models import DeliveryState, WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)
USER_AGENT = "notifuse-smtp-webhooks/1"


def deliver(delivery_id: int) -> str:
    """Try one due delivery once; return what became of it (or why nothing was tried)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "not due"
    started = timezone.now()
    code, error = _post(delivery)
    succeeded = code is not None and 200 <= code < 300
    number = delivery.tries + 1
    WebhookAttempt.objects.create(
        delivery=delivery, number=number, started_at=started, response_code=code,
        duration_ms=int((timezone.now() - started).total_seconds() * 1000),
        error=error, succeeded=succeeded)
    return _settle(delivery, number, code, error, succeeded)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    hold = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    claimed = WebhookDelivery.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        pk=delivery_id, state=DeliveryState.PENDING, due_at__lte=now,
    ).update(locked_until=hold)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the payload; the response code (None without one) and what went wrong."""
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "webhook-id": delivery.event_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.sign(endpoint.secret, delivery.event_id, timestamp, body),
    }
    try:
        # A new connection each time: a kept-alive one the receiver has just closed fails
        # the POST (which is not retried), a race a busy receiver loses often.
        response = requests.post(endpoint.url, data=body, headers=headers,
                                 timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:300]}"


def _settle(delivery: WebhookDelivery, number: int, code: int | None, error: str,
            succeeded: bool) -> str:
    now = timezone.now()
    changes: dict = {"tries": number, "last_response_code": code, "last_error": error,
                     "locked_until": None}
    if succeeded:
        changes.update(state=DeliveryState.DELIVERED, delivered_at=now)
    elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
        changes.update(state=DeliveryState.GAVE_UP)
        logger.warning("webhook %s to %s given up after %s tries: %s", delivery.event_id,
                       delivery.endpoint.url, number, error)
    else:
        wait = backoff_seconds(number)
        changes.update(due_at=now + timedelta(seconds=wait))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    if not succeeded and changes.get("due_at"):
        publishing.publish(delivery.pk, countdown=wait)
    return changes.get("state", DeliveryState.PENDING)


def backoff_seconds(tries: int) -> float:
    """Exponential from WEBHOOK_RETRY_BASE_SECONDS, capped, with ±20 % jitter."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (tries - 1)
    return min(settings.WEBHOOK_RETRY_MAX_SECONDS, base) * random.uniform(0.8, 1.2)


def sweep() -> int:
    """Publish deliveries due for a while and held by nobody: their wake-up was lost."""
    now = timezone.now()
    late = now - timedelta(seconds=settings.DELIVERY_SWEEP_SECONDS)
    stale = WebhookDelivery.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        state=DeliveryState.PENDING, due_at__lte=late,
    ).values_list("pk", flat=True)[:1000]
    for pk in stale:
        publishing.publish(pk)
    return len(stale)


def replay(deliveries) -> int:
    """Staff send deliveries again (same event id), whatever became of them."""
    pks = list(deliveries.values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=pks).update(
        state=DeliveryState.PENDING, due_at=timezone.now(), locked_until=None)
    for pk in pks:
        publishing.publish(pk)
    return len(pks)
