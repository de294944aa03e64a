"""The interface every way of authenticating an SMTP session implements."""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.failures.errors import DeliveryError
    from integrations.models import SmtpIntegration


class Credentials:
    """Authenticates an open, TLS-protected SMTP session for one integration."""

    def __init__(self, integration: SmtpIntegration) -> None:
        self.integration = integration

    def prepare(self, *, mailbox: str | None = None) -> None:
        """Obtain what AUTH needs before connecting (an OAuth2 token); raises DeliveryError."""

    def refresh_after_rejection(self, mailbox: str, error: DeliveryError) -> bool:
        """After AUTH failed with `error`: get fresh credentials for one more try; False when
        there are none, or when fresh ones would not change the answer."""
        return False

    def authenticate(self, smtp: smtplib.SMTP, *, mailbox: str) -> None:
        """Run AUTH on `smtp`; smtplib errors propagate to the session, which classifies them."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Values that must never appear in an attempt, a log line or an exception."""
        return []


def refuse_auth_in_clear(smtp: smtplib.SMTP, integration: SmtpIntegration) -> None:
    """No password or token crosses an unencrypted connection unless staff allowed it for
    this integration (a relay on this machine); raises the catalog's local.plaintext-auth."""
    if integration.auth_type == "none" or integration.allow_plaintext_auth:
        return
    if not isinstance(smtp.sock, ssl.SSLSocket):
        from integrations.failures.catalog import local_failure

        raise local_failure("plaintext-auth")
