"""No password, client secret, refresh token, access token or XOAUTH2 string reaches a log line,
an attempt row or an integration's health text — with DEBUG logging on everywhere."""

from __future__ import annotations

import base64

import pytest

from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from integrations.models import SmtpIntegration
from tests.conftest import wait_until
from tests.oauth_fixtures import (
    G_REFRESH,
    G_SECRET,
    MS_SECRET,
    google_integration,
    microsoft_integration,
    oauth_env,
)
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

BASIC_PASSWORD = "basic-Password-42-xyz"


def forbidden(*idps) -> list[str]:
    values = [MS_SECRET, G_SECRET, G_REFRESH, BASIC_PASSWORD, "wrong-Password-99-abc"]
    for idp in idps:
        values += list(idp.issued)
    values += [base64.b64encode(v.encode()).decode() for v in list(values)]
    return values


@pytest.mark.django_db(transaction=True)
def test_debug_logs_attempts_and_health_never_contain_a_secret(
    microsoft, google, xoauth2_server, start_worker
):
    ms = microsoft_integration(xoauth2_server)
    gmail = google_integration(xoauth2_server, use_for_transactional=False)
    broken = microsoft_integration(
        xoauth2_server, name="Broken", client_secret="wrong-Password-99-abc"
    )
    with SmtpTestServer(credentials={"app": BASIC_PASSWORD}) as basic_server:
        basic = make_integration(basic_server, username="app", password=BASIC_PASSWORD)
        bad_basic = make_integration(
            basic_server, sender="x@example.com", username="app", password="wrong-Password-99-abc"
        )
        worker = start_worker(LOG_LEVEL="DEBUG", **oauth_env(microsoft, google))
        for integration in (ms, gmail, broken, basic, bad_basic):
            send_email(to="bob@example.org", subject="x", text="x", integration=integration)
        wait_until(lambda: Message.objects.filter(status=Status.SENT).count() == 3, timeout=30)
        wait_until(lambda: SendAttempt.objects.filter(succeeded=False).count() >= 2, timeout=30)
    output = worker.output()
    assert "DEBUG" in output and "urllib3" in output  # the debug logs really were on
    records = [output]
    records += [" ".join([a.error, a.hint]) for a in SendAttempt.objects.all()]
    records += [
        " ".join([i.needs_attention_reason, i.needs_attention_hint])
        for i in SmtpIntegration.objects.all()
    ]
    leaks = [value for value in forbidden(microsoft, google) if any(value in r for r in records)]
    assert leaks == []


# -- the DEBUG page's frames: every function holding a secret is marked sensitive_variables ----
CLEANSED = "********************"


def debug_page_of(call) -> str:
    """The DEBUG error page (its HTML, frames and locals) of the exception `call()` raises."""
    import sys

    from django.views.debug import ExceptionReporter

    with pytest.raises(RuntimeError):
        try:
            call()
        except RuntimeError:
            reporter = ExceptionReporter(None, *sys.exc_info())
            raise
    return reporter.get_traceback_html()


def crash(*args, **kwargs):
    raise RuntimeError("unexpected, below a frame that holds a secret")


@pytest.mark.django_db
def test_the_debug_page_of_a_crash_inside_smtp_auth_shows_no_credentials(monkeypatch, settings):
    import smtplib

    from integrations.smtp_client import SmtpSession

    settings.DEBUG = True
    with SmtpTestServer(credentials={"app": BASIC_PASSWORD}) as server:
        integration = make_integration(server, username="app", password=BASIC_PASSWORD)
        # smtplib.auth holds "\0app\0password" in `initial_response` when it encodes it.
        monkeypatch.setattr(smtplib, "encode_base64", crash)
        page = debug_page_of(lambda: SmtpSession(integration).open())
    assert "initial_response" in page and CLEANSED in page  # the frames were shown
    plain = f"\0app\0{BASIC_PASSWORD}"
    for value in (BASIC_PASSWORD, base64.b64encode(plain.encode()).decode(), repr(plain)[1:-1]):
        assert value not in page


@pytest.mark.django_db
def test_the_debug_page_of_a_crash_inside_xoauth2_shows_no_token(
    monkeypatch, settings, microsoft, google, xoauth2_server
):
    import smtplib

    from integrations.smtp_client import SmtpSession

    settings.DEBUG = True
    integration = google_integration(xoauth2_server)
    monkeypatch.setattr(smtplib, "encode_base64", crash)
    page = debug_page_of(lambda: SmtpSession(integration).open())
    assert google.issued and CLEANSED in page
    assert [value for value in forbidden(google) if value in page] == []


@pytest.mark.django_db
@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_the_debug_page_of_a_crash_inside_a_token_request_shows_no_client_secret(
    monkeypatch, settings, microsoft, google, xoauth2_server, provider
):
    import requests

    from integrations.oauth2 import provider_for

    settings.DEBUG = True
    make = google_integration if provider == "google" else microsoft_integration
    integration = make(xoauth2_server)
    monkeypatch.setattr(requests.Session, "request", crash)
    monkeypatch.setattr(requests, "post", crash)
    page = debug_page_of(lambda: provider_for(integration).fetch())
    assert CLEANSED in page
    assert [value for value in forbidden() if value in page] == []
