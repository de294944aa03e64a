"""The Gmail authorisation helper: consent URL, pasted redirect URL, refresh token stored."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from integrations.models import SmtpIntegration
from integrations.oauth2.google_consent import (
    ConsentError,
    consent_url,
    exchange_code,
    extract_code,
)
from tests.oauth_fixtures import G_CLIENT, G_MAILBOX, G_SECRET

pytestmark = pytest.mark.django_db


def test_the_consent_url_asks_for_offline_mail_access_with_consent(settings):
    settings.GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
    query = parse_qs(urlsplit(consent_url(G_CLIENT)).query)
    assert query["client_id"] == [G_CLIENT]
    assert query["scope"] == ["https://mail.google.com/"]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["redirect_uri"] == ["http://localhost"]


def test_a_pasted_redirect_url_with_an_encoded_slash_stores_the_refresh_token(google):
    google.auth_codes["4/0AQSTgQF-code"] = (G_CLIENT, "1//fresh-refresh-token-777", G_MAILBOX)
    integration = SmtpIntegration.objects.create(
        name="Gmail", host="smtp.gmail.com", auth_type="oauth2", oauth2_provider="google",
        username=G_MAILBOX, client_id=G_CLIENT, client_secret=G_SECRET, refresh_token="old",
    )
    pasted = "http://localhost/?code=4%2F0AQSTgQF-code&scope=https://mail.google.com/"
    exchange_code(integration, pasted)
    integration.refresh_from_db()
    assert integration.refresh_token == "1//fresh-refresh-token-777"
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_token FROM integrations_smtpintegration")
        [(raw,)] = cursor.fetchall()
    assert b"fresh-refresh-token" not in bytes(raw)


def test_no_refresh_token_in_the_answer_is_said_clearly(google):
    google.auth_codes["4/no-refresh"] = (G_CLIENT, None, G_MAILBOX)
    integration = SmtpIntegration.objects.create(
        name="Gmail", host="smtp.gmail.com", auth_type="oauth2", oauth2_provider="google",
        username=G_MAILBOX, client_id=G_CLIENT, client_secret=G_SECRET, refresh_token="old",
    )
    with pytest.raises(ConsentError, match="returned no refresh token"):
        exchange_code(integration, "4/no-refresh")
    integration.refresh_from_db()
    assert integration.refresh_token == "old"


@pytest.mark.parametrize(
    ("pasted", "code"),
    [
        ("4/0Abc", "4/0Abc"),
        ("4%2F0Abc", "4/0Abc"),
        ("http://localhost/?code=4%2F0Abc&scope=x", "4/0Abc"),
        ("http://localhost?code=4/0Abc", "4/0Abc"),
    ],
)
def test_it_reads_the_code_however_it_is_pasted(pasted, code):
    assert extract_code(pasted) == code


def test_an_empty_paste_is_refused():
    with pytest.raises(ConsentError):
        extract_code("  ")


def test_the_admin_helper_page_exchanges_a_pasted_url(google, admin_client):
    from django.urls import reverse

    google.auth_codes["4/0Admin-code"] = (G_CLIENT, "1//from-the-admin-helper", G_MAILBOX)
    integration = SmtpIntegration.objects.create(
        name="Gmail", host="smtp.gmail.com", auth_type="oauth2", oauth2_provider="google",
        username=G_MAILBOX, client_id=G_CLIENT, client_secret=G_SECRET, refresh_token="old",
    )
    url = reverse("admin:integrations_smtpintegration_gmail", args=[integration.pk])
    page = admin_client.get(url).content.decode()
    assert "access_type=offline" in page and "prompt=consent" in page
    response = admin_client.post(url, {
        "pasted": "http://localhost/?code=4%2F0Admin-code&scope=https://mail.google.com/",
        "redirect_uri": "http://localhost",
    }, follow=True)
    assert "A new refresh token was stored" in response.content.decode()
    assert "1//from-the-admin-helper" not in response.content.decode()
    integration.refresh_from_db()
    assert integration.refresh_token == "1//from-the-admin-helper"
    bad = admin_client.post(url, {"pasted": "http://localhost/?code=4%2Funknown",
                                  "redirect_uri": "http://localhost"})
    assert bad.status_code == 200 and "invalid_grant" in bad.content.decode()
