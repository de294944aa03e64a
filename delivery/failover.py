"""Failover: mail routed by sender or usage flag moves off an integration that needs attention."""

from __future__ import annotations

from email.utils import getaddresses

from integrations.models import SmtpIntegration

from .models import Message
from .routing import candidates_for


def alternative_for(message: Message) -> SmtpIntegration | None:
    """A healthy active integration flagged for the message's kind, unless the caller pinned one."""
    if message.integration_pinned:
        return None
    return (
        candidates_for(message.kind)
        .exclude(pk=message.integration_id)
        .filter(needs_attention_since__isnull=True)
        .first()
    )


def from_address_on(integration: SmtpIntegration, from_email: str) -> str | None:
    """Keep From when the new integration owns it; else its default sender; None if it has none."""
    address = getaddresses([from_email])[0][1]
    if integration.senders.filter(email__iexact=address).exists():
        return from_email
    default = integration.senders.order_by("-is_default", "pk").first()
    return default.formatted if default else None
