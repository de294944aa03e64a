"""`integration_changed`: how integrations tell the apps above them that something may be fixed.

Sent (after the change is saved) when staff save an integration or its senders, and when a
test through it passes, with `integration` and `reason`. Receivers return a number: how many
queued messages the change set moving (delivery releases mail held by a broken setting).
Integrations never import delivery; delivery connects here.
"""

from __future__ import annotations

from django.contrib import messages
from django.dispatch import Signal

integration_changed = Signal()


def announce_change(integration, reason: str) -> int:
    """Send `integration_changed`; return the sum of what receivers say they moved."""
    responses = integration_changed.send(
        sender=type(integration), integration=integration, reason=reason
    )
    return sum(value for _, value in responses if isinstance(value, int))


class AnnouncesChanges:
    """For admin pages that change an integration: announce it, and tell staff what moved."""

    def announce_change(self, request, integration, reason: str) -> None:
        released = announce_change(integration, reason)
        if released:
            self.message_user(
                request, f"{released} queued message(s) of {integration.name} waiting for "
                "their next try are tried again now.", messages.INFO,
            )
