"""The interface of an OAuth2 token provider, and the token it returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.views.decorators.debug import sensitive_variables

from integrations.failures.catalog import failure
from integrations.failures.errors import DeliveryError

if TYPE_CHECKING:
    from integrations.models import SmtpIntegration


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: float
    # A rotated refresh token the provider returned, to replace the stored one.
    new_refresh_token: str = ""

    def __repr__(self) -> str:  # never print the token itself
        return f"Token(expires_in={self.expires_in})"


class TokenProvider:
    """Fetches an access token for one integration from its identity provider."""

    name = ""

    def __init__(self, integration: SmtpIntegration) -> None:
        self.integration = integration

    def fetch(self) -> Token:
        """Ask the provider for a new access token; raise the catalog's DeliveryError for a
        refusal (integrations.failures.catalog.failure with the provider's token rule)."""
        raise NotImplementedError

    def credential_parts(self) -> tuple[str, ...]:
        """Everything that decides which token is valid; part of the cache key."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        raise NotImplementedError

    @sensitive_variables()
    def fingerprint(self, mailbox: str) -> str:
        parts = (self.name, *self.credential_parts(), mailbox)
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def is_retryable_status(status: int) -> bool:
    """A token service in trouble or throttling (5xx, 429) or a request that timed out (408):
    the same request may work later. Other 4xx need a change first."""
    return status >= 500 or status in (408, 429)


def transient_http(
    status: int | None, provider: str, endpoint: str = "token endpoint"
) -> DeliveryError:
    """The provider's token service is in trouble: the provider's own rule for it
    (microsoft.token.service-unavailable, google.token.service-unavailable)."""
    what = f"HTTP {status}" if status else "no answer"
    rule_id = f"{provider.lower()}.token.service-unavailable"
    return failure(rule_id, text=f"{provider} {endpoint}: {what}")
