"""Which credentials class serves which auth type and provider (an explicit registry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from integrations.models import SmtpIntegration

    from .base import Credentials

# (auth_type, oauth2_provider) -> dotted path, imported only when used.
CREDENTIALS = {
    ("basic", ""): "integrations.credentials.basic.BasicCredentials",
    ("none", ""): "integrations.credentials.basic.NoCredentials",
    ("oauth2", "microsoft"): "integrations.credentials.oauth2.OAuth2Credentials",
    ("oauth2", "google"): "integrations.credentials.oauth2.OAuth2Credentials",
}


def credentials_for(integration: SmtpIntegration) -> Credentials:
    provider = integration.oauth2_provider if integration.auth_type == "oauth2" else ""
    path = CREDENTIALS.get((integration.auth_type, provider))
    if path is None:
        from integrations.failures.errors import DeliveryError, FailureClass

        raise DeliveryError(
            stage="auth",
            failure_class=FailureClass.CONFIGURATION,
            text=f"No credentials support for {integration.auth_type} {provider}".strip(),
            hint="Choose a supported authentication type and provider for this integration.",
        )
    return import_string(path)(integration)
