"""OAuth2 over SMTP: AUTH XOAUTH2 with an access token from the shared cache."""

from __future__ import annotations

import base64
import json
import smtplib

from integrations.oauth2 import provider_for
from integrations.oauth2.cache import CachedToken, TokenCache

from .base import Credentials


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

    def refresh_after_rejection(self, mailbox: str) -> bool:
        """Once per session: drop a rejected token and fetch another. False when spent."""
        if self.retried or self.token is None:
            return False
        self.retried = True
        self.token = self._cache(mailbox).get(rejected=self.token.access_token)
        return True

    def secrets(self) -> list[str]:
        values = self.provider.secrets()
        if self.token is not None:
            values.append(self.token.access_token)
        return values

    def _cache(self, mailbox: str | None) -> TokenCache:
        return TokenCache(self.provider, mailbox or self.integration.username)


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


