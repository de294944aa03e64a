"""Log in to an integration's bounce mailbox over IMAP: TLS with verified certificates, the
integration's own credentials (Basic, or XOAUTH2 with its cached OAuth2 token) or separate
ones. Reading the mailbox is delivery's business (delivery.bounces.polling)."""

from __future__ import annotations

import ssl
import time

import imapclient
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from imapclient.exceptions import IMAPClientError, LoginError

from .failures.catalog import rule
from .failures.errors import DeliveryError
from .models import AuthType, SmtpIntegration

# The IMAP hosts of the OAuth2 providers (the same token reaches them: Microsoft with the
# IMAP.AccessAsApp permission, Google with the https://mail.google.com/ scope).
PROVIDER_IMAP_HOSTS = {"microsoft": "outlook.office365.com", "google": "imap.gmail.com"}
STARTTLS_PORT = 143
# The rule whose hint says what to check when the login is refused, per provider.
LOGIN_RULES = {"microsoft": "microsoft.imap-login", "google": "google.imap-login"}


class MailboxError(Exception):
    """The bounce mailbox could not be reached or logged in to; `hint` says what to do."""

    def __init__(self, text: str, hint: str = "") -> None:
        super().__init__(text)
        self.text, self.hint = text, hint


def imap_host(integration: SmtpIntegration) -> str:
    if integration.bounce_imap_host.strip():
        return integration.bounce_imap_host.strip()
    if integration.auth_type == AuthType.OAUTH2:
        return PROVIDER_IMAP_HOSTS.get(integration.oauth2_provider, integration.host)
    return integration.host


def open_mailbox(integration: SmtpIntegration, *, timeout: float = 30.0) -> imapclient.IMAPClient:
    """A logged-in IMAPClient for the integration's bounce mailbox; raises MailboxError."""
    client = _connect(integration, timeout)
    try:
        _login(client, integration)
    except LoginError as exc:
        _close(client)
        raise MailboxError(f"IMAP login refused: {_text(exc)}", _login_hint(integration)) from exc
    except (IMAPClientError, OSError) as exc:
        _close(client)
        raise MailboxError(f"IMAP login failed: {_text(exc)}", _login_hint(integration)) from exc
    return client


def _connect(integration: SmtpIntegration, timeout: float) -> imapclient.IMAPClient:
    host, port = imap_host(integration), integration.bounce_imap_port
    # The system store, or SSL_CERT_FILE: never an unverified connection.
    context = ssl.create_default_context()
    try:
        if port == STARTTLS_PORT:
            client = imapclient.IMAPClient(host, port=port, ssl=False, timeout=timeout)
            client.starttls(context)  # required: no plain-text fallback
            return client
        return imapclient.IMAPClient(host, port=port, ssl=True, ssl_context=context,
                                     timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(f"{host}:{port}: certificate not trusted ({exc.verify_message})",
                           rule("imap.certificate").hint) from exc
    except (OSError, IMAPClientError) as exc:
        raise MailboxError(f"{host}:{port}: cannot connect ({_text(exc)})",
                           rule("imap.connect").hint) from exc


@sensitive_variables()
def _login(client: imapclient.IMAPClient, integration: SmtpIntegration) -> None:
    if integration.bounce_imap_username.strip():
        client.login(integration.bounce_imap_username.strip(), integration.bounce_imap_password)
    elif integration.auth_type == AuthType.BASIC:
        client.login(integration.username, integration.password)
    elif integration.auth_type == AuthType.OAUTH2:
        client.oauth2_login(integration.username, _access_token(integration))
    else:
        raise MailboxError("No IMAP credentials: the integration authenticates with none",
                           "Enter an IMAP username and password for the bounce mailbox.")


@sensitive_variables()
def _access_token(integration: SmtpIntegration) -> str:
    """The integration's cached OAuth2 token (fetched single-flight when missing)."""
    from .oauth2 import provider_for
    from .oauth2.cache import TokenCache

    try:
        return TokenCache(provider_for(integration), integration.username).get().access_token
    except DeliveryError as exc:
        raise MailboxError(f"OAuth2 token: {exc.text}", exc.hint) from exc


def _login_hint(integration: SmtpIntegration) -> str:
    provider = integration.oauth2_provider if integration.auth_type == AuthType.OAUTH2 else ""
    return rule(LOGIN_RULES.get(provider, "imap.login")).hint


def check_bounce_mailbox(integration: SmtpIntegration, step) -> None:
    """"Test integration": log in to the bounce mailbox and say what is there, or exactly
    why it cannot (fills a diagnostics Step)."""
    started = time.monotonic()
    try:
        client = open_mailbox(integration, timeout=settings.DIAGNOSTICS_TIMEOUT)
    except MailboxError as exc:
        step.status, step.text, step.hint = "failed", exc.text, exc.hint
    else:
        try:
            selected = client.select_folder("INBOX", readonly=True)
            step.status = "ok"
            step.details = {
                "host": f"{imap_host(integration)}:{integration.bounce_imap_port}",
                "messages_in_inbox": int(selected.get(b"EXISTS", 0)),
                "processed_reports_go_to": integration.bounce_folder or "flagged in INBOX",
            }
        except (IMAPClientError, OSError) as exc:
            step.status, step.text = "failed", f"INBOX: {_text(exc)}"
            step.hint = rule("imap.no-inbox").hint
        finally:
            _close(client)
    step.duration_ms = round((time.monotonic() - started) * 1000, 1)


def _text(exc: BaseException) -> str:
    text = str(exc)
    return text.decode(errors="replace") if isinstance(text, bytes) else text or type(exc).__name__


def _close(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except (IMAPClientError, OSError):
        pass
