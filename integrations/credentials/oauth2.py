"""OAuth2 over SMTP: AUTH XOAUTH2 with an access token from the shared cache."""

from __future__ import annotations

import base64
import json
import smtplib

from django.views.decorators.debug import sensitive_variables

from integrations.failures.errors import DeliveryError
from integrations.oauth2 import provider_for
from integrations.oauth2.cache import CachedToken, TokenCache

from .base import Credentials

# What a server answers an expired or revoked token with: 535 and no more specific reason
# (Exchange 5.7.3, Gmail 5.7.8 or 5.7.1 after its JSON challenge, RFC 4954's 5.7.8). Other
# refusals (535 5.7.139: SMTP AUTH disabled; 454: try later; a dropped connection) would
# refuse a new token too, so fetching one only costs a request on every retry.
STALE_TOKEN_REPLY = 535
STALE_TOKEN_ENHANCED_CODES = frozenset({"", "5.7.1", "5.7.3", "5.7.8"})


class OAuth2Credentials(Credentials):
    """Microsoft 365 or Google: the provider comes from the integration."""

    def __init__(self, integration) -> None:
        super().__init__(integration)
        self.provider = provider_for(integration)
        self.token: CachedToken | None = None
        self.retried = False
        self.challenge = ""

    def prepare(self, *, mailbox: str | None = None) -> None:
        self.token = self._cache(mailbox).get()

    @sensitive_variables()
    def authenticate(self, smtp: smtplib.SMTP, *, mailbox: str) -> None:
        assert self.token is not None, "prepare() first"
        self.challenge = ""
        raw = f"user={mailbox}\x01auth=Bearer {self.token.access_token}\x01\x01"

        def respond(challenge: bytes | None = None) -> str:
            if challenge is None:
                return raw
            # Gmail answers a refused token with 334 + base64 JSON; the empty line ends it.
            self.challenge = _describe_challenge(challenge)
            return ""

        try:
            smtp.auth("XOAUTH2", respond, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as exc:
            text = exc.smtp_error.decode("utf-8", "replace")
            if self.challenge:
                text = f"{text} [server said: {self.challenge}]"
            raise smtplib.SMTPAuthenticationError(exc.smtp_code, text.encode()) from None

    def refresh_after_rejection(self, mailbox: str, error: DeliveryError) -> bool:
        """Once per session: drop a refused token and fetch another. False when spent, or
        when the refusal is not one a stale token gets."""
        if self.retried or self.token is None or not could_be_a_stale_token(error):
            return False
        self.retried = True
        self.token = self._cache(mailbox).get(rejected=self.token.access_token)
        return True

    @sensitive_variables()
    def secrets(self) -> list[str]:
        values = self.provider.secrets()
        if self.token is not None:
            values.append(self.token.access_token)
        return values

    def _cache(self, mailbox: str | None) -> TokenCache:
        return TokenCache(self.provider, mailbox or self.integration.username)


def could_be_a_stale_token(error: DeliveryError) -> bool:
    return (error.smtp_code == STALE_TOKEN_REPLY
            and error.enhanced_code in STALE_TOKEN_ENHANCED_CODES)


def _describe_challenge(challenge: bytes) -> str:
    try:
        data = json.loads(challenge)
    except ValueError:
        try:
            data = json.loads(base64.b64decode(challenge))
        except ValueError:
            return "unreadable challenge"
    if not isinstance(data, dict):
        return "unreadable challenge"
    return ", ".join(f"{k}={data[k]}" for k in ("status", "schemes", "scope") if k in data)


