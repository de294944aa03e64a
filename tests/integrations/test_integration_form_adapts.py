"""The integration form adapts to auth type and provider, and still works without JavaScript."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import SmtpIntegration
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:integrations_smtpintegration_add")
GOOGLE_BUTTON = "Gmail authorisation helper (the button at the top of this page)"


def change_url(integration: SmtpIntegration) -> str:
    return reverse("admin:integrations_smtpintegration_change", args=[integration.pk])


def posted(**overrides) -> dict:
    data = {
        "name": "Relay", "preset": "", "ses_region": "", "host": "relay.example.com",
        "port": "587", "use_tls": "on", "ehlo_hostname": "", "auth_type": "basic",
        "username": "app", "password": "pw-123", "oauth2_provider": "", "client_id": "",
        "client_secret": "", "tenant_id": "", "refresh_token": "",
        "use_for_transactional": "on", "is_active": "on", "rate_limit_per_minute": "",
        "rate_limit_per_day": "", "max_connections": "", "senders-TOTAL_FORMS": "0",
        "senders-INITIAL_FORMS": "0", "senders-MIN_NUM_FORMS": "0",
        "senders-MAX_NUM_FORMS": "1000",
    }
    return {k: v for k, v in {**data, **overrides}.items() if v is not None}


def test_without_javascript_every_section_shows_and_says_when_it_applies(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    for name in ("username", "password", "client_id", "tenant_id", "refresh_token"):
        assert f'id="id_{name}"' in html, name
    assert 'class="module aligned only-oauth2"' in html
    assert "only-oauth2 only-microsoft" in html and "only-oauth2 only-google" in html
    assert "Only for OAuth2 with Microsoft 365" in html and "Only for OAuth2 with Google" in html
    assert "integrations/integration_form.js" in html


def test_the_google_text_names_the_helper_only_where_its_button_is(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    assert "button above" not in html and GOOGLE_BUTTON not in html
    assert "Save the integration with its client ID and secret first" in html
    google = make_integration(auth_type="oauth2", oauth2_provider="google", username="a@x.org",
                              client_id="id", client_secret="s", refresh_token="r")
    html = admin_client.get(change_url(google)).content.decode()
    assert GOOGLE_BUTTON in html and "Gmail authorisation helper</a>" in html


def test_the_ehlo_help_says_the_host_is_sent_as_it_is(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    assert "never &#x27;localhost&#x27;" not in html and "never 'localhost'" not in html
    assert "for host 'localhost', 'localhost'" in html
    assert SmtpIntegration(host="localhost").ehlo_name == "localhost"


def test_a_login_without_tls_is_refused_unless_plaintext_auth_is_allowed(admin_client):
    refused = admin_client.post(ADD_URL, posted(use_tls=None))
    assert refused.status_code == 200
    assert "the password or token would cross the network in clear" in refused.text
    assert not SmtpIntegration.objects.exists()
    response = admin_client.post(ADD_URL, posted(use_tls=None, allow_plaintext_auth="on",
                                                 _continue="1"), follow=True)
    assert "TLS is off while the integration authenticates" in response.content.decode()
    assert "sends the password or OAuth2 token in clear text" in response.content.decode()
    quiet = admin_client.post(ADD_URL, posted(name="Local", use_tls=None, auth_type="none",
                                              username="", password="", _continue="1"),
                              follow=True)
    assert "TLS is off" not in quiet.content.decode()
    assert SmtpIntegration.objects.count() == 2
