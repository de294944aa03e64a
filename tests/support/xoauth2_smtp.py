"""aiosmtpd's SMTP protocol with AUTH XOAUTH2 as Gmail and Microsoft 365 speak it (tests)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from .chunking_smtp import ChunkingSMTP

# What Gmail sends as a 334 challenge when it refuses a token, before its 535.
GMAIL_XOAUTH2_ERROR = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
XOAUTH2_REFUSALS = {
    "gmail": "535 5.7.8 Username and Password not accepted. BadCredentials - gsmtp",
    "microsoft": "535 5.7.3 Authentication unsuccessful [TEST.PROD.OUTLOOK.COM]",
}


class XOAuth2SMTP(ChunkingSMTP):
    """aiosmtpd's SMTP protocol plus AUTH XOAUTH2 as Gmail and Microsoft 365 speak it (and
    BDAT, offered when the test server says so)."""

    def __init__(self, owner: Any, **kwargs: Any) -> None:
        self.owner = owner
        super().__init__(owner._handler, **kwargs)

    async def auth_XOAUTH2(self, _: SMTP, args: list[str]) -> AuthResult:
        """AUTH XOAUTH2 [initial response]: check the bearer token with the validator."""
        raw = await self._xoauth2_response(args)
        if raw is None:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        if raw is MISSING:  # the client aborted; aiosmtpd already replied
            return AuthResult(success=False, handled=True)
        user, token = parse_xoauth2(raw)
        self.owner._record(self.owner.auth_attempts, ("XOAUTH2", user))
        validator = self.owner.xoauth2_validator
        if validator is not None and validator(user, token):
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        style = self.owner.xoauth2_style
        if style == "gmail":
            # Gmail answers a bad token with a JSON error as a 334 challenge, waits for the
            # client's empty line, and only then sends its 535.
            error = json.dumps(GMAIL_XOAUTH2_ERROR, separators=(",", ":"))
            if await self.challenge_auth(error) is MISSING:
                return AuthResult(success=False, handled=True)
        refusal = self.owner.xoauth2_refusal or XOAUTH2_REFUSALS[style]
        return AuthResult(success=False, handled=False, message=refusal)

    async def _xoauth2_response(self, args: list[str]) -> bytes | object | None:
        """The decoded XOAUTH2 string (asked for if not inline); MISSING if aborted, None if bad."""
        if len(args) < 2:
            return await self.challenge_auth("")
        try:
            return base64.b64decode(args[1], validate=True)
        except binascii.Error:
            return None


def parse_xoauth2(raw: bytes) -> tuple[str, str]:
    """Split "user=U\\x01auth=Bearer T\\x01\\x01" into (U, T)."""
    fields = dict(
        part.split("=", 1) for part in raw.decode(errors="replace").split("\x01") if "=" in part
    )
    auth = fields.get("auth", "")
    token = auth.split(" ", 1)[1] if auth.lower().startswith("bearer ") else auth
    return fields.get("user", ""), token
