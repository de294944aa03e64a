"""Basic Auth (username and password), and no authentication for local relays."""

from __future__ import annotations

import smtplib

from .base import Credentials


class BasicCredentials(Credentials):
    def authenticate(self, smtp: smtplib.SMTP, *, mailbox: str) -> None:
        smtp.login(self.integration.username, self.integration.password)

    def secrets(self) -> list[str]:
        return [self.integration.password]


class NoCredentials(Credentials):
    def authenticate(self, smtp: smtplib.SMTP, *, mailbox: str) -> None:
        """A local relay that trusts the network: nothing to do."""
