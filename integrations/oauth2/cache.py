"""Access tokens cached in Redis, shared by all workers, refreshed by one of them at a time.

The key holds the integration id and a hash of every credential (tenant, client, secret,
refresh token, mailbox), so edited credentials miss the cache without any hook. Values are
encrypted with the Fernet keys.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integrations.crypto import decrypt, encrypt
from integrations.failures.catalog import local_failure
from notifuse_smtp.redis_connection import redis_client

from .base import Token, TokenProvider

LOCK_TIMEOUT = 30  # seconds a fetch may hold the lock before another worker may try
LOCK_WAIT = 35


@dataclass(frozen=True)
class CachedToken:
    access_token: str
    expires_at: float
    from_cache: bool

    def __repr__(self) -> str:
        return f"CachedToken(expires_at={self.expires_at}, from_cache={self.from_cache})"


class TokenCache:
    def __init__(self, provider: TokenProvider, mailbox: str, client: redis.Redis | None = None):
        self.provider = provider
        self.client = client or redis_client()
        self.key = f"notifuse:token:{provider.integration.pk}:{provider.fingerprint(mailbox)}"
        self.mailbox = mailbox

    @sensitive_variables()
    def get(self, *, rejected: str | None = None) -> CachedToken:
        """A valid token: from the cache, or fetched once for all workers that need it.

        `rejected` is a token the server refused: it is dropped, and a different one returned.
        """
        cached = self._read()
        if cached and cached.access_token != rejected:
            return cached
        lock = self.client.lock(
            self.key + ":lock", timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_WAIT
        )
        if not lock.acquire():
            raise local_failure("token-lock-timeout")
        try:
            cached = self._read()  # another worker may have fetched while we waited
            if cached and cached.access_token != rejected:
                return cached
            return self._fetch_and_store()
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # expired while fetching: harmless, the value is stored

    def drop(self) -> None:
        self.client.delete(self.key)

    @sensitive_variables()
    def _fetch_and_store(self) -> CachedToken:
        token = self.provider.fetch()
        expires_at = time.time() + token.expires_in
        # Refresh a margin before expiry, but never keep a short-lived token less than half
        # its life (a margin larger than the lifetime would mean a fetch per message).
        ttl = int(max(token.expires_in - settings.OAUTH2_REFRESH_MARGIN_SECONDS,
                      token.expires_in / 2))
        value = encrypt(json.dumps({"access_token": token.access_token, "expires_at": expires_at}))
        if ttl > 0:
            self.client.set(self.key, value, ex=ttl)
        if token.new_refresh_token:
            self._store_rotated_refresh_token(token, value, ttl)
        return CachedToken(token.access_token, expires_at, from_cache=False)

    @sensitive_variables()
    def _store_rotated_refresh_token(self, token: Token, value: bytes, ttl: int) -> None:
        from integrations.models import SmtpIntegration

        integration = self.provider.integration
        if token.new_refresh_token == integration.refresh_token:
            return
        integration.refresh_token = token.new_refresh_token
        SmtpIntegration.objects.filter(pk=integration.pk).update(
            refresh_token=token.new_refresh_token
        )
        # The key follows the credentials: store the token under the new one too.
        self.key = f"notifuse:token:{integration.pk}:{self.provider.fingerprint(self.mailbox)}"
        if ttl > 0:
            self.client.set(self.key, value, ex=ttl)

    @sensitive_variables()
    def _read(self) -> CachedToken | None:
        raw = self.client.get(self.key)
        if raw is None:
            return None
        try:
            data = json.loads(decrypt(raw))
        except (InvalidToken, ValueError):
            return None  # written with a retired key: fetch a new one
        return CachedToken(data["access_token"], data["expires_at"], from_cache=True)


def drop_cached_tokens(integration_id: int | None = None) -> int:
    """Delete cached tokens (of one integration, or all); used by key rotation."""
    client = redis_client()
    pattern = f"notifuse:token:{integration_id if integration_id else '*'}:*"
    keys = [k for k in client.scan_iter(pattern) if not k.endswith(b":lock")]
    return client.delete(*keys) if keys else 0
