"""Standard Webhooks signatures: `v1,` + base64 HMAC-SHA256 of "id.timestamp.body"."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_START = "whsec_"


def new_secret() -> str:
    return SECRET_START + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_START))


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header's value for one POST."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, event_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver does: any of the space-separated v1 signatures matches."""
    expected = sign(secret, event_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
