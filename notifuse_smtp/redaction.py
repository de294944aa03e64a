"""Remove secrets from text before it reaches an attempt record, a log line or an exception."""

from __future__ import annotations

import base64
import binascii
import re

from django.views.decorators.debug import sensitive_variables

REDACTED = "[redacted]"
# An XOAUTH2 initial response, raw or base64: the token travels inside it.
XOAUTH2_RAW = re.compile(r"auth=Bearer\s+\S+", re.IGNORECASE)
# A run of base64 long enough to hold an AUTH string: XOAUTH2's "user=...auth=Bearer ...",
# AUTH PLAIN's "\0user\0password", or a password alone (AUTH LOGIN sends it by itself).
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")
BEARER = re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
# AUTH PLAIN's message (RFC 4616): [authzid] NUL authcid NUL passwd.
AUTH_PLAIN = re.compile(rb"[^\0]*\0[^\0]+\0[^\0]+")
# Shorter secrets are not looked for: they would blank out ordinary words.
MIN_SECRET_LENGTH = 4


@sensitive_variables()
def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Replace each known secret (raw, in base64, or inside a base64 AUTH string) and any
    bearer token, XOAUTH2 string or AUTH PLAIN string with a marker."""
    if not text:
        return text
    known = [secret.encode() for secret in secrets if len(secret or "") >= MIN_SECRET_LENGTH]
    text = BASE64_RUN.sub(lambda match: _redact_encoded(match.group(0), known), text)
    for secret in known:
        text = text.replace(secret.decode(), REDACTED)
        text = text.replace(base64.b64encode(secret).decode(), REDACTED)
    text = XOAUTH2_RAW.sub("auth=Bearer " + REDACTED, text)
    return BEARER.sub("Bearer " + REDACTED, text)


@sensitive_variables()
def _redact_encoded(run: str, known: list[bytes]) -> str:
    """The run, or the marker when it decodes to a secret or an AUTH string.

    The run may start inside someone else's base64 (a reply glued to it), so each of the
    four alignments is decoded.
    """
    for start in range(4):
        part = run[start:].rstrip("=")
        if len(part) < 8:
            break
        try:
            decoded = base64.b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        if _is_secret(decoded, known):
            return REDACTED
    return run


@sensitive_variables()
def _is_secret(decoded: bytes, known: list[bytes]) -> bool:
    if b"auth=bearer" in decoded.lower() or any(secret in decoded for secret in known):
        return True
    return _looks_like_auth_plain(decoded)


def _looks_like_auth_plain(decoded: bytes) -> bool:
    """Two NULs between printable UTF-8 text: what AUTH PLAIN sends, not what random
    base64-looking words decode to."""
    if not AUTH_PLAIN.fullmatch(decoded):
        return False
    try:
        return decoded.replace(b"\0", b"").decode("utf-8").isprintable()
    except UnicodeDecodeError:
        return False
