"""`integration_changed`: how integrations tell the apps above them that something may be fixed.

Sent (after the change is saved) when staff save an integration or its senders (reason
"saved", "senders"), when a test through it passes ("test passed"), and when staff release
held mail without a check ("release anyway"), with `integration` and `reason`. Receivers may
return a `HeldMail`: what became of the mail the integration held (delivery checks the new
settings first, and releases it only when they log in). Integrations never import delivery;
delivery connects here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.dispatch import Signal
from django.urls import reverse
from django.utils.html import format_html

integration_changed = Signal()
SAVED, SENDERS, TEST_PASSED, RELEASE_ANYWAY = "saved", "senders", "test passed", "release anyway"


@dataclass
class HeldMail:
    """What a change did to the mail an integration held."""

    released: int = 0
    # Why it stays held: the new settings failed the check (summary and hint).
    kept_because: str = ""
    hint: str = ""


def announce_change(integration, reason: str) -> HeldMail:
    """Send `integration_changed`; return what receivers did with the held mail."""
    responses = integration_changed.send(
        sender=type(integration), integration=integration, reason=reason
    )
    news = [value for _, value in responses if isinstance(value, HeldMail)]
    return next((n for n in news if n.kept_because), None) or HeldMail(
        released=sum(n.released for n in news))


class AnnouncesChanges:
    """For admin pages that change an integration: announce it, and tell staff what moved."""

    def announce_change(self, request, integration, reason: str) -> None:
        news = announce_change(integration, reason)
        if news.released:
            self.message_user(
                request, f"{news.released} queued message(s) of {integration.name} waiting "
                "for their next try are tried again now.", messages.INFO,
            )
        if news.kept_because:
            release = reverse("admin:integrations_smtpintegration_release_held",
                              args=[integration.pk])
            self.message_user(request, format_html(
                "Held mail of {} stays held: the saved settings did not log in ({}). {} "
                "<a href=\"{}\">Release it anyway</a>.", integration.name, news.kept_because,
                news.hint, release), messages.WARNING)
