"""Remove secrets from text before it reaches an attempt record, a log line or an exception."""

from __future__ import annotations

import base64
import re

REDACTED = "[redacted]"
# An XOAUTH2 initial response, raw or base64: the token travels inside it.
XOAUTH2_RAW = re.compile(r"auth=Bearer\s+\S+", re.IGNORECASE)
# A run of base64 long enough to hold "user=...auth=Bearer ...".
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
BEARER = re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Replace each known secret (and its base64 form) and any bearer token with a marker."""
    if not text:
        return text
    text = BASE64_RUN.sub(_redact_encoded_xoauth2, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
            encoded = base64.b64encode(secret.encode()).decode()
            text = text.replace(encoded, REDACTED)
    text = XOAUTH2_RAW.sub("auth=Bearer " + REDACTED, text)
    return BEARER.sub("Bearer " + REDACTED, text)


def _redact_encoded_xoauth2(match: re.Match) -> str:
    run = match.group(0)
    try:
        decoded = base64.b64decode(run + "=" * (-len(run) % 4))
    except ValueError:
        return run
    return REDACTED if b"auth=bearer" in decoded.lower() else run
