"""A server that answers AUTH with a bad challenge, garbage or megabytes (issue 15, acceptance
3): *Test integration* shows a failed AUTH step with the reason, the worker's code records a
classified attempt, and neither the page (DEBUG on), the attempt nor any log record holds a
secret, raw or in base64 (AUTH PLAIN's "\\0user\\0password", XOAUTH2's string)."""

from __future__ import annotations

import base64
import html
import logging

import pytest
from django.urls import reverse

from delivery import engine
from delivery.api import send_email
from delivery.models import SendAttempt
from integrations.failures.catalog import rule
from integrations.models import IntegrationTest
from tests.factories import make_integration
from tests.oauth_fixtures import G_MAILBOX, G_REFRESH, G_SECRET, google_integration
from tests.support.scripted_smtp import ScriptedSmtpServer
from tests.support.queued_runs import post_and_read_result

pytestmark = pytest.mark.django_db(transaction=True)

USERNAME, PASSWORD = "app", "s3cret-Basic-Pass-9081"
TEN_MB_OF_CHALLENGE = (b"334-" + b"A" * 1020 + b"\r\n") * 10_240 + b"334 end\r\n"
REPLIES = {
    "a challenge that is not base64": (b"334 abc\r\n", "exception.auth-challenge"),
    "garbage": (b"HTTP/1.1 400 Bad Request\r\n\r\n", "exception.unreadable-reply"),
    "a 10 MB reply": (TEN_MB_OF_CHALLENGE, "exception.reply-too-long"),
    # Item 8: the refusal quotes what the client sent, base64 AUTH string and all.
    "an echo of the AUTH line": (lambda line: b"535 5.7.8 You sent: " + line + b"\r\n", ""),
}


def auth_server(reply, mechanisms: str = "PLAIN LOGIN XOAUTH2") -> ScriptedSmtpServer:
    """A plain-text server offering AUTH that answers it (and each answer to a challenge)
    with `reply`, bytes as they are or what `reply(line)` makes of the line received."""
    return ScriptedSmtpServer(extensions=(f"AUTH {mechanisms}",), replies={"AUTH": reply},
                              credentials={USERNAME: PASSWORD})


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def basic_secrets() -> list[str]:
    plain = f"\0{USERNAME}\0{PASSWORD}"
    return [PASSWORD, b64(PASSWORD), b64(plain), b64(plain[1:])]


def oauth2_secrets(google) -> list[str]:
    values = [G_SECRET, G_REFRESH, b64(G_SECRET), b64(G_REFRESH)]
    for token in google.issued:
        xoauth2 = f"user={G_MAILBOX}\x01auth=Bearer {token}\x01\x01"
        values += [token, b64(token), xoauth2, b64(xoauth2)]
    return values


def everything_logged(caplog) -> str:
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def through_the_admin_test_page(admin_client, integration) -> str:
    url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    # The run goes to a worker; its part is done here (the page shows the stored result).
    return html.unescape(post_and_read_result(admin_client, url, {"to": "me@example.org"}))


def through_the_worker(integration) -> SendAttempt:
    send_email(to="bob@example.org", subject="x", text="x", integration=integration)
    engine.drain(integration.pk)
    return SendAttempt.objects.get(integration=integration)


def check_what_staff_see(page: str, attempt: SendAttempt, rule_id: str) -> None:
    """A failed AUTH step with the reason, on the page, in the stored run and the attempt."""
    assert "Failed at AUTH" in page
    run = IntegrationTest.objects.get()
    assert run.failed_step == "auth" and not run.ok
    assert attempt.stage == "auth" and not attempt.succeeded and attempt.hint in page
    if not rule_id:  # a real reply: the catalog's reading of 535 5.7.8
        assert attempt.error.startswith("You sent: AUTH")
        return
    expected = rule(rule_id)
    assert expected.says.split("{")[0].strip()[:40] in page
    assert (attempt.failure_class, attempt.hint) == (expected.failure_class, expected.hint)


def leaks(secrets: list[str], *texts: str) -> list[str]:
    return [secret for secret in secrets if any(secret in text for text in texts)]


@pytest.mark.parametrize("reply, rule_id", REPLIES.values(), ids=REPLIES.keys())
def test_basic_auth_against_a_hostile_reply(admin_client, settings, caplog, reply, rule_id):
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    with auth_server(reply) as server:
        integration = make_integration(
            server,
            auth_type="basic",
            username=USERNAME,
            password=PASSWORD,
            allow_plaintext_auth=True,
        )
        page = through_the_admin_test_page(admin_client, integration)
        attempt = through_the_worker(integration)
        assert server.auth_lines, "the client never sent AUTH: nothing was put to the test"
    check_what_staff_see(page, attempt, rule_id)
    stored = str(IntegrationTest.objects.get().steps)
    texts = (page, stored, attempt.error, attempt.hint, everything_logged(caplog))
    assert leaks(basic_secrets(), *texts) == []


@pytest.mark.parametrize("reply, rule_id", REPLIES.values(), ids=REPLIES.keys())
def test_xoauth2_against_a_hostile_reply(admin_client, settings, caplog, google, reply, rule_id):
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    with auth_server(reply) as server:
        integration = google_integration(server, use_for_transactional=True)
        page = through_the_admin_test_page(admin_client, integration)
        attempt = through_the_worker(integration)
        assert any("XOAUTH2" in line for line in server.auth_lines)
    assert google.issued, "no access token was issued: nothing was put to the test"
    check_what_staff_see(page, attempt, rule_id)
    stored = str(IntegrationTest.objects.get().steps)
    texts = (page, stored, attempt.error, attempt.hint, everything_logged(caplog))
    assert leaks(oauth2_secrets(google), *texts) == []


def test_a_refusal_quoting_auth_plain_is_stored_redacted(admin_client, caplog):
    echo = lambda line: b"535 5.7.8 You sent: " + line + b"\r\n"  # noqa: E731
    caplog.set_level(logging.DEBUG)
    with auth_server(echo, mechanisms="PLAIN") as server:
        integration = make_integration(
            server,
            auth_type="basic",
            username=USERNAME,
            password=PASSWORD,
            allow_plaintext_auth=True,
        )
        page = through_the_admin_test_page(admin_client, integration)
        attempt = through_the_worker(integration)
        sent = server.auth_lines[0].split()[-1]
    assert sent == b64(f"\0{USERNAME}\0{PASSWORD}")  # what the server quoted back
    assert attempt.error == "You sent: AUTH PLAIN [redacted]"
    assert "You sent: AUTH PLAIN [redacted]" in page
    assert leaks(basic_secrets(), page, attempt.error, everything_logged(caplog)) == []
