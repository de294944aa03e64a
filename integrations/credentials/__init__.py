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
        from integrations.failures.catalog import local_failure

        method = f"{integration.auth_type} {provider}".strip()
        raise local_failure("unsupported-auth", method=method)
    return import_string(path)(integration)
