"""Remove secrets from text before it reaches an attempt record, a log line or an exception."""

from __future__ import annotations

import base64
import re

REDACTED = "[redacted]"
# An XOAUTH2 initial response, raw or base64: the token travels inside it.
XOAUTH2_RAW = re.compile(r"auth=Bearer\s+\S+", re.IGNORECASE)
BEARER = re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Replace each known secret (and its base64 form) and any bearer token with a marker."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
            encoded = base64.b64encode(secret.encode()).decode()
            text = text.replace(encoded, REDACTED)
    text = XOAUTH2_RAW.sub("auth=Bearer " + REDACTED, text)
    return BEARER.sub("Bearer " + REDACTED, text)
