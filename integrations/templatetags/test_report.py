"""How a test run's steps read: which field fixes a failed step, and wording for a test.

Presentation only: the hints themselves come from the failure catalog.
"""

from __future__ import annotations

import re

from django import template
from django.urls import reverse

from integrations.diagnostics import Step
from integrations.models import AuthType, SmtpIntegration

register = template.Library()

# The field of the integration form that usually fixes a step, by step and auth type.
FIELD_FOR_STEP = {
    "dns": "host", "connect": "port", "tls": "use_tls", "ehlo": "ehlo_hostname",
    "mail": "senders-group",
}
FIELD_FOR_AUTH = {AuthType.BASIC: "password", AuthType.OAUTH2: "username",
                  AuthType.NONE: "auth_type"}
FIELD_FOR_TOKEN = {"microsoft": "client_secret", "google": "refresh_token"}
LABELS = {
    "host": "SMTP host", "port": "SMTP port", "use_tls": "Use TLS",
    "ehlo_hostname": "EHLO hostname", "senders-group": "Senders", "password": "SMTP password",
    "username": "SMTP username", "auth_type": "Auth type", "client_secret": "Client secret",
    "refresh_token": "Refresh token",
}
# A test sends no queued message, so nothing of it is retried.
RETRIED = re.compile(r"\b[Tt]he message will be retried( after a pause)?")


def field_to_fix(step: Step, integration: SmtpIntegration) -> str:
    """The id of the form element that usually fixes this step ("" when none does)."""
    if step.name == "auth":
        return FIELD_FOR_AUTH.get(integration.auth_type, "")
    if step.name == "token":
        return FIELD_FOR_TOKEN.get(integration.oauth2_provider, "client_secret")
    return FIELD_FOR_STEP.get(step.name, "")


@register.simple_tag
def fix_link(step: Step, integration: SmtpIntegration | None) -> dict | None:
    """Where to fix a failed step: the integration form, scrolled to the field."""
    if integration is None or step.status != "failed":
        return None
    name = field_to_fix(step, integration)
    if not name:
        return None
    url = reverse("admin:integrations_smtpintegration_change", args=[integration.pk])
    anchor = name if name.endswith("-group") else f"id_{name}"
    return {"url": f"{url}#{anchor}", "label": LABELS[name]}


@register.filter
def for_a_test(hint: str) -> str:
    """A hint worded for a test run, which has no message to retry."""
    def reworded(match: re.Match) -> str:
        text = "a real message would be retried; this test is not, so run it again later"
        return text[0].upper() + text[1:] if match[0][0].isupper() else text

    return RETRIED.sub(reworded, hint)
