"""Basic Auth (username and password), and no authentication for local relays."""

from __future__ import annotations

import base64
import smtplib

from django.views.decorators.debug import sensitive_variables

from .base import Credentials


class BasicCredentials(Credentials):
    @sensitive_variables()
    def authenticate(self, smtp: smtplib.SMTP, *, mailbox: str) -> None:
        username, password = self.integration.username, self.integration.password
        if username.isascii() and password.isascii():
            smtp.login(username, password)
        else:
            login_plain_utf8(smtp, username, password)

    @sensitive_variables()
    def secrets(self) -> list[str]:
        return [self.integration.password]


class NoCredentials(Credentials):
    def authenticate(self, smtp: smtplib.SMTP, *, mailbox: str) -> None:
        """A local relay that trusts the network: nothing to do."""


@sensitive_variables()
def login_plain_utf8(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN with the credentials in UTF-8, as RFC 4616 defines it.

    smtplib encodes credentials as ASCII: a password such as "Grüße-2024" raised
    UnicodeEncodeError (a 500 on Test integration, a crashed batch in the worker) before
    the server was even asked.
    """
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError(
            "The username or password contains non-ASCII characters, which only AUTH PLAIN "
            "carries, and the server does not offer AUTH PLAIN."
        )
    response = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {response}")
    if code not in (235, 503):  # 503: already authenticated, as smtplib.login accepts
        raise smtplib.SMTPAuthenticationError(code, reply)
