"""Fixtures for OAuth2 tests: fake identity providers and an XOAUTH2 SMTP server."""

from __future__ import annotations

import pytest

from integrations.models import SmtpIntegration
from senders.models import Sender
from tests.support.fake_idp import FakeGoogleToken, FakeMicrosoftIdentity, xoauth2_validator
from tests.support.smtp_servers import SmtpTestServer

TENANT = "contoso.onmicrosoft.com"
MS_CLIENT, MS_SECRET = "ms-client-id", "ms-secret-VALUE-1234567890"
G_CLIENT, G_SECRET = "g-client.apps.googleusercontent.com", "GOCSPX-google-secret-123456"
G_REFRESH = "1//refresh-token-for-sender-abcdef123456"
G_MAILBOX = "sender@gmail.example"


@pytest.fixture
def microsoft(test_ca, settings):
    with FakeMicrosoftIdentity(test_ca.server_context(), {TENANT: {MS_CLIENT: MS_SECRET}}) as idp:
        settings.MICROSOFT_AUTHORITY_HOST = idp.authority_host
        yield idp


@pytest.fixture
def google(test_ca, settings):
    with FakeGoogleToken(
        test_ca.server_context(), {G_CLIENT: G_SECRET}, {G_REFRESH: (G_CLIENT, G_MAILBOX)}
    ) as idp:
        settings.GOOGLE_TOKEN_URL = idp.token_url
        yield idp


@pytest.fixture
def xoauth2_server(microsoft, google):
    with SmtpTestServer(xoauth2_validator=xoauth2_validator(microsoft, google)) as server:
        yield server


def oauth_env(microsoft, google) -> dict[str, str]:
    """Environment for worker processes: where the fake endpoints are."""
    return {
        "MICROSOFT_AUTHORITY_HOST": microsoft.authority_host,
        "GOOGLE_TOKEN_URL": google.token_url,
    }


def microsoft_integration(server, **fields) -> SmtpIntegration:
    integration = SmtpIntegration.objects.create(**{
        "name": "Microsoft 365", "host": server.host, "port": server.port, "use_tls": False,
        # The test servers are local relays without TLS: the token may cross in clear.
        "allow_plaintext_auth": True,
        "auth_type": "oauth2", "oauth2_provider": "microsoft", "username": "mailbox@contoso.com",
        "tenant_id": TENANT, "client_id": MS_CLIENT, "client_secret": MS_SECRET, **fields,
    })
    Sender.objects.create(integration=integration, email="mailbox@contoso.com", is_default=True)
    return integration


def google_integration(server, **fields) -> SmtpIntegration:
    integration = SmtpIntegration.objects.create(**{
        "name": "Gmail", "host": server.host, "port": server.port, "use_tls": False,
        "allow_plaintext_auth": True,
        "auth_type": "oauth2", "oauth2_provider": "google", "username": G_MAILBOX,
        "client_id": G_CLIENT, "client_secret": G_SECRET, "refresh_token": G_REFRESH,
        "use_for_transactional": False, **fields,
    })
    Sender.objects.create(integration=integration, email=G_MAILBOX, is_default=True)
    return integration
