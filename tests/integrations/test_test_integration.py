""""Test integration": each step reported, in the admin, on the command line, with the quota."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from integrations.diagnostics import run_diagnostics
from integrations.models import IntegrationTest
from tests.factories import make_integration
from tests.oauth_fixtures import google_integration, microsoft_integration
from tests.support.queued_runs import carry_out_queued, post_and_read_result
from tests.support.smtp_servers import BlackholeServer, SmtpTestServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def server():
    with SmtpTestServer(credentials={"app": "right"}) as running:
        yield running


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("test_integration", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_every_step_and_exits_0_on_success(server):
    integration = make_integration(server, username="app", password="right",
                                   ehlo_hostname="mail.example.com")
    output = run_command(integration.name, "--to", "me@example.org")
    for label in ("Resolve host", "TCP connect", "EHLO", "AUTH", "MAIL FROM", "RCPT TO", "DATA"):
        assert f"[ok  ] {label}" in output
    assert "hostname_sent=mail.example.com" in output
    [received] = server.wait_for_messages(1)
    assert received.rcpt_tos == ["me@example.org"]
    assert "Test email from notifuse-smtp" in received.parsed["Subject"]
    assert IntegrationTest.objects.get().ok


def test_the_command_fails_at_auth_with_the_code_and_hint(server):
    integration = make_integration(server, username="app", password="wrong")
    with pytest.raises(CommandError, match=r"failed at AUTH \(535 5.7.8\): .+"):
        run_command(str(integration.pk), "--to", "me@example.org")
    run = IntegrationTest.objects.get()
    assert (run.ok, run.failed_step) == (False, "auth")
    integration.refresh_from_db()
    assert integration.last_test_ok is False


def test_a_host_that_never_answers_fails_at_connect_within_the_timeout(settings):
    settings.DIAGNOSTICS_TIMEOUT = 1
    with BlackholeServer() as silent:
        integration = make_integration(None, host=silent.host, port=silent.port)
        started = time.monotonic()
        with pytest.raises(CommandError, match="failed at TCP connect"):
            run_command(integration.name, "--to", "me@example.org")
    assert time.monotonic() - started < 5


def test_an_unknown_integration_or_bad_address_is_a_clear_error(server):
    integration = make_integration(server)
    with pytest.raises(CommandError, match="no integration 'nope'"):
        run_command("nope", "--to", "me@example.org")
    with pytest.raises(CommandError, match="--to"):
        run_command(str(integration.pk), "--to", "not an address")


def test_the_admin_test_page_shows_each_step(admin_client, admin_user, server):
    integration = make_integration(server, username="app", password="wrong")
    url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    page = admin_client.get(url).content.decode()
    assert admin_user.email in page and "app@example.com" in page  # the defaults
    data = {"to": "me@example.org", "sender": "App <app@example.com>"}
    html = post_and_read_result(admin_client, url, data)
    assert "Failed at AUTH" in html and "535" in html and "What to do" in html
    integration.password = "right"
    integration.save()
    html = post_and_read_result(admin_client, url, data)
    assert "All steps succeeded" in html
    assert '<tr class="step-ok" data-step="worker">' in html  # its wait in the queue


def test_the_admin_test_redirects_to_its_stored_result_so_a_refresh_sends_nothing(
        admin_client, server):
    integration = make_integration(server, username="app", password="right")
    url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    response = admin_client.post(url, {"to": "me@example.org",
                                       "sender": "App <app@example.com>"})
    assert response.status_code == 302  # Post/Redirect/Get
    run = IntegrationTest.objects.get()
    result_url = reverse("admin:integrations_smtpintegration_test_result",
                         args=[integration.pk, run.pk])
    assert response["Location"] == result_url
    carry_out_queued()
    for _ in range(2):  # the redirect, then the browser's refresh
        html = admin_client.get(result_url).content.decode()
        assert "All steps succeeded" in html and "<td>RCPT TO</td>" in html
        assert 'value="me@example.org"' in html  # ready for another test
    assert len(server.wait_for_messages(1)) == 1 and IntegrationTest.objects.count() == 1


def test_a_test_result_is_only_found_under_its_own_integration(admin_client, server):
    tested = make_integration(server, username="app", password="right")
    other = make_integration(server, name="Other")
    admin_client.post(reverse("admin:integrations_smtpintegration_test", args=[tested.pk]),
                      {"to": "me@example.org", "sender": "App <app@example.com>"})
    run = IntegrationTest.objects.get()
    wrong = reverse("admin:integrations_smtpintegration_test_result", args=[other.pk, run.pk])
    assert admin_client.get(wrong).status_code == 404


def test_the_eleventh_test_email_in_an_hour_is_refused(admin_client, server):
    integration = make_integration(server, username="app", password="right")
    url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    data = {"to": "me@example.org", "sender": "App <app@example.com>"}
    for _ in range(10):
        assert "All steps succeeded" in post_and_read_result(admin_client, url, data)
    html = admin_client.post(url, data).content.decode()
    assert "10 test emails in the last hour" in html and "You can send the next one at" in html
    assert carry_out_queued() == 0 and IntegrationTest.objects.count() == 10
    assert len(server.messages) == 10


def test_microsoft_535_5_7_3_lists_the_documented_causes(microsoft, google):
    with SmtpTestServer(xoauth2_validator=lambda u, t: False, xoauth2_style="microsoft") as srv:
        integration = microsoft_integration(srv)
        report = run_diagnostics(integration, to="me@example.org")
    step = report.failed_step
    assert (step.name, step.smtp_code, step.enhanced_code) == ("auth", 535, "5.7.3")
    for cause in ("service principal", "FullAccess", "username is not the mailbox"):
        assert cause in step.hint
    token = next(s for s in report.steps if s.name == "token")
    assert token.status == "ok" and token.details["source"] in ("cache", "fetched now")


@pytest.mark.parametrize(
    ("refresh_token", "causes"),
    [
        ("1//revoked", ("Testing mode", "password was changed", "revoked", "100 per client")),
        ("1//other-client", ("different OAuth client", "Regenerate the refresh token")),
    ],
)
def test_google_token_errors_list_the_documented_causes(google, microsoft, refresh_token, causes):
    google.clients["other"] = "other-secret"
    google.refresh_tokens["1//other-client"] = ("other", "sender@gmail.example")
    with SmtpTestServer() as srv:
        integration = google_integration(srv, refresh_token=refresh_token)
        report = run_diagnostics(integration, to="me@example.org")
    step = report.failed_step
    assert step.name == "token"
    for cause in causes:
        assert cause in step.hint


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_the_tls_step_reports_protocol_and_certificate(test_ca, settings, mode):
    with SmtpTestServer(tls=mode, ssl_context=test_ca.server_context(),
                        credentials={"app": "right"}) as tls_server:
        if mode == "implicit":
            settings.SMTP_IMPLICIT_TLS_PORTS = [tls_server.port]
        integration = make_integration(tls_server, use_tls=True, username="app",
                                       password="right")
        report = run_diagnostics(integration, to="me@example.org")
    assert report.ok
    tls = next(step for step in report.steps if step.name == "tls")
    assert tls.status == "ok"
    assert tls.details["mode"] == ("implicit" if mode == "implicit" else "STARTTLS")
    assert tls.details["protocol"].startswith("TLSv1.")
    assert tls.details["certificate_expires"]
    assert "127.0.0.1" in tls.details["certificate_names"]
    ehlo = next(step for step in report.steps if step.name == "ehlo")
    assert "PLAIN" in ehlo.details["auth_mechanisms"]


def test_steps_are_reported_one_by_one_even_when_the_server_offers_pipelining():
    refusal = {"me@example.org": "550 5.1.1 No such user"}
    with SmtpTestServer(credentials={"app": "right"}, pipelining=True,
                        reject_rcpt=refusal) as server:
        integration = make_integration(server, username="app", password="right")
        with pytest.raises(CommandError, match=r"failed at RCPT TO \(550 5.1.1\)"):
            run_command(integration.name, "--to", "me@example.org")
    run = IntegrationTest.objects.get()
    results = {step["name"]: step["status"] for step in run.steps}
    assert run.failed_step == "rcpt"
    assert results["mail"] == "ok" and results["rcpt"] == "failed"
    assert [step["name"] for step in run.steps].count("mail") == 1


def test_a_password_with_non_ascii_characters_logs_in_over_utf8(admin_client):
    # smtplib sends credentials as ASCII only: this was a UnicodeEncodeError and a 500.
    with SmtpTestServer(credentials={"app": "Grüße-2024"}) as utf8_server:
        integration = make_integration(utf8_server, username="app", password="Grüße-2024")
        url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
        data = {"to": "me@example.org", "sender": "App <app@example.com>"}
        assert "All steps succeeded" in post_and_read_result(admin_client, url, data)
        assert utf8_server.auth_attempts == [("PLAIN", "app")]
        integration.password = "Grüße-2025"
        integration.save()
        html = post_and_read_result(admin_client, url, data)
    assert "Failed at AUTH" in html and "535" in html


def test_an_internationalised_ehlo_hostname_is_sent_as_its_a_label(admin_client, server):
    # smtplib sends EHLO in ASCII: "mäil.example.com" was a UnicodeEncodeError and a 500.
    integration = make_integration(server, username="app", password="right",
                                   ehlo_hostname="mäil.example.com")
    url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    html = post_and_read_result(admin_client, url, {"to": "me@example.org",
                                                    "sender": "App <app@example.com>"})
    assert "All steps succeeded" in html
    assert server.ehlo_hostnames == ["xn--mil-qla.example.com"]


@pytest.mark.parametrize("username", ["apikey", ""])
def test_without_a_sender_to_send_from_the_login_is_tested_and_mail_from_says_why(username):
    # It sent MAIL FROM:<apikey> (or <>) and reported the server's puzzling refusal.
    credentials = {username: "right"} if username else None
    with SmtpTestServer(credentials=credentials) as server:
        integration = make_integration(server, sender=None)
        report = run_diagnostics(integration, to="me@example.org")
        assert server.messages == []
    statuses = {step.name: step.status for step in report.steps}
    assert statuses["ehlo"] == "ok" and statuses["mail"] == "failed"
    assert statuses["auth"] == "ok"
    mail = report.failed_step
    assert mail.name == "mail" and "no senders" in mail.text and "Add a sender" in mail.hint


def test_without_senders_an_address_username_is_the_from(server):
    integration = make_integration(server, sender=None, username="app", password="right")
    integration.username = "app@example.com"
    integration.save()
    server.credentials = {"app@example.com": "right"}
    report = run_diagnostics(integration, to="me@example.org")
    assert report.ok
    assert server.wait_for_messages(1)[0].mail_from == "app@example.com"


def test_a_passing_test_tries_the_waiting_mail_again_at_once(server):
    from datetime import timedelta

    from django.utils import timezone

    from delivery.api import send_email
    from delivery.models import Message
    from integrations.diagnostic_runs import run_integration_test

    integration = make_integration(server, username="app", password="right",
                                   needs_attention_reason="auth: 535 5.7.8 bad credentials")
    waiting = send_email(to="bob@example.org", subject="x", text="x", integration=integration)
    Message.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1))
    run_integration_test(integration, to="me@example.org")
    waiting.refresh_from_db()
    assert waiting.next_attempt_at <= timezone.now()
