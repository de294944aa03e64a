"""A crash while staff type secrets: Django's error report (the DEBUG page, the mail to
ADMINS) must not contain them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.admin import SmtpIntegrationAdmin
from integrations.models import SmtpIntegration
from tests.integrations.test_admin_integration_form import (
    ADD_URL, SECRETS, change_url, form_data, google_integration,
)
from tests.oauth_fixtures import G_CLIENT, G_MAILBOX, G_SECRET

pytestmark = pytest.mark.django_db

AUTH_CODE = "4/0typed-authorisation-code"
NEW_REFRESH_TOKEN = "1//new-refresh-token-from-google"


class Crash(Exception):
    pass


def crash(*args, **kwargs):
    raise Crash("the database went away")


@pytest.fixture(params=[True, False], ids=["debug-page", "mail-to-admins"])
def error_report(request, admin_client, settings, mailoutbox):
    """POST, let the view crash, and return Django's error report: the DEBUG page when DEBUG
    is on (the default here), the mail to ADMINS when it is off."""
    settings.DEBUG = request.param
    settings.ADMINS = [("Ops", "ops@example.com")]
    admin_client.raise_request_exception = False

    def post(url: str, data: dict) -> str:
        response = admin_client.post(url, data)
        assert response.status_code == 500
        report = response.content.decode() if settings.DEBUG else mailoutbox[-1].body
        assert "the database went away" in report and "POST" in report  # the full report
        return report

    return post


def typed_secrets() -> dict:
    password, client_secret, refresh_token = SECRETS
    return {"password": password, "client_secret": client_secret,
            "refresh_token": refresh_token}


@pytest.mark.parametrize("adding", [True, False], ids=["add", "change"])
def test_secrets_typed_into_the_integration_form_stay_out_of_the_error_report(
        error_report, monkeypatch, adding):
    monkeypatch.setattr(SmtpIntegrationAdmin, "save_model", crash)
    url = ADD_URL if adding else change_url(google_integration(
        client_secret="stored-secret", refresh_token="stored-token", password="stored-pw"))
    html = error_report(url, form_data(**typed_secrets()))
    for secret in SECRETS:
        assert secret not in html


def test_a_code_pasted_into_the_gmail_helper_stays_out_of_the_error_report(
        error_report, monkeypatch, google):
    # Google answers with a refresh token, then storing it crashes: neither the pasted code
    # nor the new token may show, in the POST data or in the helper's local variables.
    google.auth_codes[AUTH_CODE] = (G_CLIENT, NEW_REFRESH_TOKEN, G_MAILBOX)
    integration = google_integration(client_id=G_CLIENT, client_secret=G_SECRET)
    monkeypatch.setattr(SmtpIntegration, "save", crash)
    url = reverse("admin:integrations_smtpintegration_gmail", args=[integration.pk])
    html = error_report(url, {"pasted": f"http://localhost/?code={AUTH_CODE}",
                              "redirect_uri": "http://localhost"})
    for secret in (AUTH_CODE, NEW_REFRESH_TOKEN, G_SECRET):
        assert secret not in html
