"""What delivery does when integrations change: forget cached answers, release held mail."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from integrations.models import SmtpIntegration
from integrations.signals import integration_changed
from notifuse_smtp.caching import clear_all
from senders.models import Sender

from .lifecycle.transitions import release_held
from .webhooks import events as webhook_events


def release_held_mail(*, integration, **_) -> int:
    """A change staff made (or a passing test) may be the fix held mail waits for."""
    clear_all()
    return release_held(integration)


def connect() -> None:
    webhook_events.connect()
    integration_changed.connect(release_held_mail, dispatch_uid="delivery.release_held_mail")
    for model in (SmtpIntegration, Sender):
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            uid = f"delivery.forget.{model.__name__}.{name}"
            signal.connect(clear_all, sender=model, dispatch_uid=uid)
