"""Builders for the objects most tests need: an integration pointing at a test server."""

from __future__ import annotations

import itertools

from integrations.models import SmtpIntegration
from senders.models import Sender

_names = itertools.count(1)


def make_integration(server=None, *, sender: str | None = "app@example.com", **fields):
    """An active integration for `server` (an SmtpTestServer) with one default sender."""
    defaults = {
        "name": f"integration-{next(_names)}",
        "host": server.host if server else "127.0.0.1",
        "port": server.port if server else 2525,
        "use_tls": bool(server and server.tls != "none"),
        # A test server without TLS is a relay on this machine: AUTH may go in clear.
        "allow_plaintext_auth": bool(server and server.tls == "none"),
        "auth_type": "basic" if server and server.credentials else "none",
        "use_for_transactional": True,
        "use_for_marketing": True,
    }
    if server and server.credentials:
        username, password = next(iter(server.credentials.items()))
        defaults.update(username=username, password=password)
    integration = SmtpIntegration.objects.create(**{**defaults, **fields})
    if sender:
        Sender.objects.create(integration=integration, email=sender, name="App", is_default=True)
    return integration


def drain_until_settled(integration, message, rounds: int = 10):
    """Drain, making any scheduled retry due at once, until the message is sent or failed."""
    from django.utils import timezone

    from delivery import engine
    from delivery.models import Message, Status

    for _ in range(rounds):
        engine.drain(integration.pk)
        message.refresh_from_db()
        if message.status in (Status.SENT, Status.FAILED):
            break
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    return message
