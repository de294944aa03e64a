"""Microsoft 365: client-credentials tokens from Entra ID through msal."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integrations.failures.catalog import failure, first_rule

from .base import Token, TokenProvider, is_retryable_status, transient_http

SCOPE = "https://outlook.office365.com/.default"
PUBLIC_AUTHORITY_HOST = "login.microsoftonline.com"
AADSTS = re.compile(r"AADSTS(\d+)")
# How msal reports a 4xx answer to tenant discovery (the OpenID configuration request).
DISCOVERY_STATUS = re.compile(r"HTTP status: (\d{3})\b")
TOKEN_TIMEOUT = 15.0

# One msal application per credential set per process: its constructor fetches the
# OpenID configuration over HTTP.
_applications: dict[str, msal.ConfidentialClientApplication] = {}
_applications_lock = threading.Lock()


class MicrosoftTokenProvider(TokenProvider):
    name = "microsoft"

    @sensitive_variables()
    def credential_parts(self) -> tuple[str, ...]:
        i = self.integration
        return (settings.MICROSOFT_AUTHORITY_HOST, i.tenant_id, i.client_id, i.client_secret)

    @sensitive_variables()
    def secrets(self) -> list[str]:
        return [self.integration.client_secret]

    @sensitive_variables()
    def fetch(self) -> Token:
        try:
            application = self._application()
            # Our Redis cache decides when to refresh; msal's own cache must not answer.
            application.token_cache = msal.TokenCache()
            result = application.acquire_token_for_client(scopes=[SCOPE])
        except requests.RequestException:
            raise transient_http(None, "Microsoft") from None
        except msal.exceptions.MsalServiceError as exc:
            # msal raises this (not an error dict) for an HTTP 5xx from the OpenID
            # configuration or token endpoint: Entra is having trouble, so retry later.
            raise transient_http(_http_status(exc), "Microsoft") from None
        except ValueError as exc:
            raise self._unreadable_answer(exc) from None
        if "access_token" in result:
            return Token(result["access_token"], float(result.get("expires_in", 3599)))
        raise self._error(result)

    @sensitive_variables()
    def _application(self) -> msal.ConfidentialClientApplication:
        i = self.integration
        authority = f"{settings.MICROSOFT_AUTHORITY_HOST.rstrip('/')}/{i.tenant_id.strip()}"
        key = hashlib.sha256(
            "\x00".join((authority, i.client_id, i.client_secret)).encode()
        ).hexdigest()
        with _applications_lock:
            application = _applications.get(key)
            if application is None:
                application = msal.ConfidentialClientApplication(
                    i.client_id.strip(),
                    client_credential=i.client_secret,
                    authority=authority,
                    timeout=TOKEN_TIMEOUT,
                    # Off for any host but the public one: msal would otherwise ask
                    # login.microsoftonline.com about the host.
                    instance_discovery=_is_public(settings.MICROSOFT_AUTHORITY_HOST),
                )
                _applications[key] = application
        return application

    @sensitive_variables()
    def _error(self, result: dict):
        error = result.get("error", "unknown_error")
        codes = list(result.get("error_codes") or [])
        if not codes:
            codes = [int(c) for c in AADSTS.findall(result.get("error_description", ""))[:1]]
        code = codes[0] if codes else None
        text = f"Microsoft token endpoint: {error}" + (f" (AADSTS{code})" if code else "")
        ids = [f"{k}={result[k]}" for k in ("trace_id", "correlation_id") if result.get(k)]
        if ids:
            text += " " + " ".join(ids)
        # What the codes mean is the catalog's (integrations/providers/microsoft.py): the
        # numeric code first, as Microsoft advises, then the error, then the setup checklist.
        if error == "temporarily_unavailable":
            return failure("microsoft.token.temporarily_unavailable", text=text)
        rule = first_rule(f"microsoft.token.AADSTS{code}", f"microsoft.token.{error}",
                          "microsoft.token.setup-checklist")
        return failure(rule.id, text=text)

    def _unreadable_answer(self, exc: ValueError):
        """msal raises ValueError both for a tenant discovery refused with a 4xx (an unknown
        tenant, but also 429 throttling) and for an answer that is not JSON (a throttling or
        proxy page, from discovery or the token endpoint): only some are configuration."""
        # For discovery msal's own message is generic; the endpoint's answer (status, body
        # with its AADSTS code) is in the ValueError it replaced.
        cause = exc.__context__ if isinstance(exc.__context__, ValueError) else None
        if isinstance(exc, json.JSONDecodeError):
            return _not_json("token endpoint")
        if isinstance(cause, json.JSONDecodeError):
            return _not_json("tenant discovery")
        found = DISCOVERY_STATUS.search(str(cause or ""))
        status = int(found.group(1)) if found else None
        if status and is_retryable_status(status):
            return transient_http(status, "Microsoft", "tenant discovery")
        message = f"{exc} {cause or ''}"
        if status and status != 400 and not AADSTS.search(message):
            return failure(
                "microsoft.token.discovery-refused",
                text=f"Microsoft tenant discovery: HTTP {status} for the tenant's OpenID "
                "configuration",
            )
        return self._tenant_error(message)

    def _tenant_error(self, message: str):
        codes = AADSTS.findall(message)
        # An Entra 400 without a code, or an authority msal cannot parse: the tenant ID.
        code = int(codes[0]) if codes else 90002
        text = f"Microsoft token endpoint: tenant configuration not found (AADSTS{code})"
        rule = first_rule(f"microsoft.token.AADSTS{code}", "microsoft.token.AADSTS90002")
        return failure(rule.id, text=text)


def _not_json(endpoint: str):
    return failure("microsoft.token.web-page",
                   text=f"Microsoft {endpoint}: the answer was a web page, not JSON")


def _http_status(exc: Exception) -> int | None:
    """The status in msal's "HTTP Error: 503" message, if it has one."""
    found = re.search(r"\b([45]\d\d)\b", str(exc))
    return int(found.group(1)) if found else None


def _is_public(authority_host: str) -> bool:
    return urlsplit(authority_host).hostname == PUBLIC_AUTHORITY_HOST
