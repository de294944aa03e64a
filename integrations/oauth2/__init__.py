"""OAuth2 token providers, one module each, chosen through an explicit registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from integrations.models import SmtpIntegration

    from .base import TokenProvider

PROVIDERS = {
    "microsoft": "integrations.oauth2.microsoft.MicrosoftTokenProvider",
    "google": "integrations.oauth2.google.GoogleTokenProvider",
}


def provider_for(integration: SmtpIntegration) -> TokenProvider:
    return import_string(PROVIDERS[integration.oauth2_provider])(integration)
