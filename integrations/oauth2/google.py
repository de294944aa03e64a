"""Google (Gmail): access tokens from a stored refresh token."""

from __future__ import annotations

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integrations.failures.catalog import failure, first_rule

from .base import Token, TokenProvider, is_retryable_status, transient_http

TOKEN_TIMEOUT = 15.0


class GoogleTokenProvider(TokenProvider):
    name = "google"

    @sensitive_variables()
    def credential_parts(self) -> tuple[str, ...]:
        i = self.integration
        return (settings.GOOGLE_TOKEN_URL, i.client_id, i.client_secret, i.refresh_token)

    @sensitive_variables()
    def secrets(self) -> list[str]:
        return [self.integration.client_secret, self.integration.refresh_token]

    @sensitive_variables()
    def fetch(self) -> Token:
        i = self.integration
        payload = post_token_request({
            "grant_type": "refresh_token",
            "client_id": i.client_id.strip(),
            "client_secret": i.client_secret,
            "refresh_token": i.refresh_token.strip(),
        })
        return Token(
            payload["access_token"],
            float(payload.get("expires_in", 3599)),
            new_refresh_token=payload.get("refresh_token", ""),
        )


@sensitive_variables()
def post_token_request(data: dict) -> dict:
    """POST to Google's token endpoint; return the JSON answer or raise DeliveryError."""
    try:
        response = requests.post(settings.GOOGLE_TOKEN_URL, data=data, timeout=TOKEN_TIMEOUT)
    except requests.RequestException:
        raise transient_http(None, "Google") from None
    if is_retryable_status(response.status_code):
        raise transient_http(response.status_code, "Google")
    try:
        payload = response.json()
    except ValueError:
        raise _not_json(response.status_code) from None
    if response.ok and payload.get("access_token"):
        return payload
    error = str(payload.get("error") or f"HTTP {response.status_code}")
    description = str(payload.get("error_description") or "")[:200]
    text = f"Google token endpoint: {error}" + (f" ({description})" if description else "")
    # What the error means is the catalog's (integrations/providers/google.py).
    raise failure(first_rule(f"google.token.{error}", "google.token.other-refusal").id, text=text)


def _not_json(status: int):
    """An answer that is not OAuth2 JSON: a 4xx page means the URL is not Google's token
    endpoint (it will not change by itself); anything else may be a passing proxy page."""
    if status < 400:
        return transient_http(status, "Google")
    return failure(
        "google.token.not-oauth2",
        text=f"Google token endpoint: HTTP {status} with a web page, not an OAuth2 answer, "
        f"from {settings.GOOGLE_TOKEN_URL}",
    )
