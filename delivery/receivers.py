"""What delivery does when integrations change: forget cached answers, release held mail."""

from __future__ import annotations

from dataclasses import replace

from django.db.models.signals import post_delete, post_save

from integrations.models import SmtpIntegration
from integrations.failures.errors import FailureClass
from integrations.health import mark_integration
from integrations.signals import SAVED, SENDERS, HeldMail, integration_changed
from integrations.verification import verify_login
from notifuse_smtp.caching import clear_all
from senders.models import Sender

from .lifecycle.transitions import release_held
from .lifecycle.outcomes import pending_recipients
from .models import Message
from .validation import envelope_address
from .webhooks import events as webhook_events


def release_held_mail(*, integration, reason: str, **_) -> HeldMail | None:
    """A change staff made (or a passing test) may be the fix held mail waits for.

    A saved change is checked first (connect, TLS, EHLO, AUTH, nothing sent): held mail goes
    only when the new settings log in, and the check's verdict is the integration's health.
    A passing test has checked it already; "release anyway" is staff overriding the check.
    """
    clear_all()
    held = Message.objects.held().of_integration(integration.pk).order_by("pk").first()
    if not (integration.is_active and integration.needs_attention) or held is None:
        return None
    if reason in (SAVED, SENDERS):
        error = verify_login(integration, _envelope_of(held))
        if error is not None:
            # The newest reason it is broken: whatever the step, these settings fail.
            mark_integration(integration, replace(error, failure_class=FailureClass.CONFIGURATION))
            return HeldMail(kept_because=error.summary, hint=error.hint)
    released = release_held(integration)
    if reason in (SAVED, SENDERS):
        mark_integration(integration, None)  # it logged in: healthy again
    return HeldMail(released=released)


def connect() -> None:
    webhook_events.connect()
    integration_changed.connect(release_held_mail, dispatch_uid="delivery.release_held_mail")
    for model in (SmtpIntegration, Sender):
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            uid = f"delivery.forget.{model.__name__}.{name}"
            signal.connect(clear_all, sender=model, dispatch_uid=uid)


def _envelope_of(message: Message) -> tuple[str, str] | None:
    """The held message's sender and first recipient still to reach, for the check."""
    pending = pending_recipients(message)
    if not pending:
        return None
    return envelope_address(message.from_email), envelope_address(pending[0])
