"""API keys of the HTTP API: shown once, stored as a digest, scoped, limited and revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

# Keys look like "nfs_" + 8 hex characters (the prefix, stored plainly to find the row and
# to name the key in logs) + 43 random URL-safe characters.
KEY_START = "nfs_"
PREFIX_LENGTH = 8
# last_used_at is written at most this often per key: not a database write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class Scope(models.TextChoices):
    SEND = "send", "Send and cancel messages"
    READ = "read", "Read messages"
    SUPPRESSIONS = "suppressions", "Manage suppressions"


def digest(key: str) -> str:
    """SHA-256 of the key: keys are 256 random bits, so a slow password hash adds nothing."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    # Empty: any integration (any sender). Else the message must go through one of these.
    integrations = models.ManyToManyField(
        "integrations.SmtpIntegration", blank=True, related_name="+",
        help_text="Leave empty to allow every integration.",
    )
    senders = models.ManyToManyField(
        "senders.Sender", blank=True, related_name="+",
        help_text="Leave empty to allow every sender of the allowed integrations.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty: API_RATE_LIMIT_PER_MINUTE.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ("name", "pk")

    def __str__(self) -> str:
        return f"{self.name} ({KEY_START}{self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def set_new_key(self) -> str:
        """Give this (unsaved) row a fresh key; return it: it is never readable again."""
        self.prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        key = f"{KEY_START}{self.prefix}{secrets.token_urlsafe(32)}"
        self.key_digest = digest(key)
        return key

    @classmethod
    def issue(cls, *, name: str, scopes: list[str], **fields) -> tuple[ApiKey, str]:
        """Create a key; return the row and the key (shown once)."""
        api_key = cls(name=name, scopes=sorted(set(scopes)), **fields)
        key = api_key.set_new_key()
        api_key.save()
        return api_key, key

    @classmethod
    def find(cls, presented: str) -> ApiKey | None:
        """The key row `presented` belongs to (revoked ones too), or None."""
        if not presented.startswith(KEY_START) or not presented.isascii():
            return None
        prefix = presented[len(KEY_START) : len(KEY_START) + PREFIX_LENGTH]
        found = cls.objects.filter(prefix=prefix).first()
        if found is None or not hmac.compare_digest(found.key_digest, digest(presented)):
            return None
        return found

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=self.revoked_at)

    def note_use(self) -> None:
        """Record the time of use, at most once per LAST_USED_RESOLUTION."""
        now = timezone.now()
        if self.last_used_at and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        self.last_used_at = now
        ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)

    def allows_integration(self, integration_id: int) -> bool:
        allowed = self._allowed_ids("integrations")
        return not allowed or integration_id in allowed

    def allowed_integration_ids(self) -> frozenset[int]:
        return self._allowed_ids("integrations")

    def allowed_sender_addresses(self) -> frozenset[str]:
        return frozenset(email.lower() for email in self.senders.values_list("email", flat=True))

    def _allowed_ids(self, relation: str) -> frozenset[int]:
        cache = self.__dict__.setdefault("_allowed", {})
        if relation not in cache:
            cache[relation] = frozenset(getattr(self, relation).values_list("pk", flat=True))
        return cache[relation]
