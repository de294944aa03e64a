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
