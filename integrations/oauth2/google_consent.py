"""The Gmail authorisation helper: consent URL, pasted code, refresh token — no curl step."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integrations.failures.catalog import failure
from integrations.failures.errors import DeliveryError

from .google import post_token_request

SCOPE = "https://mail.google.com/"
DEFAULT_REDIRECT_URI = "http://localhost"


class ConsentError(ValueError):
    """The pasted code could not be turned into a refresh token; the message says why."""


def consent_url(client_id: str, redirect_uri: str = DEFAULT_REDIRECT_URI) -> str:
    query = urlencode({
        "client_id": client_id.strip(),
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "response_type": "code",
        "access_type": "offline",
        "prompt": "consent",
    })
    return f"{settings.GOOGLE_AUTH_URL}?{query}"


def extract_code(pasted: str) -> str:
    """Accept the bare code or the whole redirected URL; `%2F` and friends are decoded."""
    pasted = (pasted or "").strip()
    if not pasted:
        raise ConsentError("Paste the code, or the whole address Google redirected to.")
    if "code=" in pasted:
        query = urlsplit(pasted).query or pasted.split("?", 1)[-1]
        values = parse_qs(query).get("code")
        if not values:
            raise ConsentError("The pasted address has no code= parameter.")
        if "error=" in pasted:
            raise ConsentError("Google redirected with an error: authorise again.")
        return values[0]
    return unquote(pasted)


# The pasted code and Google's answer (the refresh token) stay out of error reports.
@sensitive_variables("pasted", "code", "payload", "refresh_token")
def exchange_code(integration, pasted: str, redirect_uri: str = DEFAULT_REDIRECT_URI) -> str:
    """Exchange the code for a refresh token and store it (encrypted); return a summary."""
    code = extract_code(pasted)
    if not integration.client_id or not integration.client_secret:
        raise ConsentError("Save the Client ID and Client Secret first.")
    try:
        payload = post_token_request({
            "grant_type": "authorization_code",
            "code": code,
            "client_id": integration.client_id.strip(),
            "client_secret": integration.client_secret,
            "redirect_uri": redirect_uri,
        })
    except DeliveryError as error:
        raise ConsentError(f"{error.text}. {error.hint}") from None
    refresh_token = payload.get("refresh_token")
    if not refresh_token:
        error = failure("google.token.no-refresh-token")
        raise ConsentError(f"{error.text}. {error.hint}")
    integration.refresh_token = refresh_token
    integration.save(update_fields=["refresh_token", "updated_at"])
    return "A new refresh token was stored (encrypted)."
