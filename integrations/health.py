"""An integration's health: flagged by a configuration failure, paused by throttling."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .failures.errors import DeliveryError, FailureClass
from .models import SmtpIntegration

# How stale "last success" may get before a successful batch writes it again.
SUCCESS_REFRESH = timedelta(seconds=10)
HEALTHY = {"needs_attention_reason": "", "needs_attention_hint": "",
           "needs_attention_since": None}


def mark_integration(integration: SmtpIntegration, error: DeliveryError | None) -> None:
    """A configuration failure flags the integration; a success clears the flag.

    `integration` is kept in step with its row, so a healthy integration whose last success
    is recent is not written again for every batch. A flag another worker sets meanwhile is
    cleared by the next drain's first success, which reads the row afresh.
    """
    now = timezone.now()
    query = SmtpIntegration.objects.filter(pk=integration.pk)
    if error is None:
        last = integration.last_success_at
        if not integration.needs_attention and last and now - last < SUCCESS_REFRESH:
            return
        healthy = {"last_success_at": now, **HEALTHY}
        query.update(**healthy)
        _set(integration, healthy)
    elif error.failure_class is FailureClass.CONFIGURATION:
        query.filter(needs_attention_since__isnull=True).update(needs_attention_since=now)
        flagged = {"needs_attention_reason": error.summary, "needs_attention_hint": error.hint}
        query.update(**flagged)
        _set(integration, {**flagged, "needs_attention_since":
                           integration.needs_attention_since or now})


def mark_throttled(integration: SmtpIntegration, until: datetime, reason: str) -> None:
    """A provider's throttling reply: no message of the integration is tried before `until`.

    A later pause that ends sooner does not shorten one already set (two workers may hear
    different replies at the same moment).
    """
    changes = {"throttled_until": until, "throttled_reason": reason}
    query = SmtpIntegration.objects.filter(pk=integration.pk)
    query.filter(Q(throttled_until__isnull=True) | Q(throttled_until__lt=until)).update(**changes)
    if integration.throttled_until is None or integration.throttled_until < until:
        _set(integration, changes)


def record_test_result(integration: SmtpIntegration, ok: bool) -> None:
    """A test run's verdict; a passing one clears "needs attention" (the fix is in)."""
    changes: dict = {"last_test_at": timezone.now(), "last_test_ok": ok}
    if ok:
        changes.update(HEALTHY)
    SmtpIntegration.objects.filter(pk=integration.pk).update(**changes)
    _set(integration, changes)


def _set(instance, values: dict) -> None:
    for name, value in values.items():
        setattr(instance, name, value)
