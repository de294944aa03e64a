"""OAuth2 for Microsoft 365 and Gmail against local HTTPS token endpoints and XOAUTH2 SMTP."""

from __future__ import annotations

import base64

import pytest

from delivery import engine
from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from integrations.models import SmtpIntegration
from tests.conftest import wait_until
from tests.support import smtp_servers
from tests.factories import drain_until_settled
from tests.oauth_fixtures import (
    G_CLIENT,
    G_MAILBOX,
    G_REFRESH,
    MS_SECRET,
    google_integration,
    microsoft_integration,
    oauth_env,
)

pytestmark = pytest.mark.django_db


def queue(integration, n: int = 1) -> list[Message]:
    return [
        send_email(to=f"user{i}@example.org", subject=f"m{i}", text="x", integration=integration)
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_microsoft_and_google_integrations_deliver_through_a_real_worker(
    microsoft, google, xoauth2_server, start_worker
):
    ms = microsoft_integration(xoauth2_server)
    gmail = google_integration(xoauth2_server)
    start_worker(**oauth_env(microsoft, google))
    queue(ms)
    queue(gmail)
    xoauth2_server.wait_for_messages(2)
    users = sorted(user for mechanism, user in xoauth2_server.auth_attempts)
    assert users == sorted(["mailbox@contoso.com", G_MAILBOX])
    assert (microsoft.token_requests, google.token_requests) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_two_cold_workers_sending_200_messages_fetch_one_token(
    microsoft, google, xoauth2_server, start_worker, settings
):
    ms = microsoft_integration(xoauth2_server)
    queue(ms, 200)  # wake-ups wait in the broker until the workers start
    env = {**oauth_env(microsoft, google), "DELIVERY_BATCH_SIZE": "20"}
    start_worker(hostname="one@%h", **env)
    start_worker(hostname="two@%h", **env)
    wait_until(lambda: Message.objects.filter(status=Status.SENT).count() == 200, timeout=60)
    assert microsoft.token_requests == 1
    # Two worker processes with different hostnames on one database and broker: each
    # message reached the server exactly once.
    received = [m.rcpt_tos[0] for m in xoauth2_server.wait_for_messages(200)]
    assert len(received) == len(set(received)) == 200


def test_editing_the_client_secret_fetches_a_new_token(microsoft, xoauth2_server):
    ms = microsoft_integration(xoauth2_server)
    queue(ms)
    engine.drain(ms.pk)
    microsoft.tenants["contoso.onmicrosoft.com"]["ms-client-id"] = "rotated-secret-0987654321"
    ms.client_secret = "rotated-secret-0987654321"
    ms.save()
    queue(ms)
    engine.drain(ms.pk)
    assert microsoft.token_requests == 2
    assert len(xoauth2_server.wait_for_messages(2)) == 2


def test_editing_the_refresh_token_fetches_a_new_token(google, xoauth2_server):
    gmail = google_integration(xoauth2_server)
    queue(gmail)
    engine.drain(gmail.pk)
    google.refresh_tokens["1//another-refresh-token-000111"] = (G_CLIENT, G_MAILBOX)
    gmail.refresh_token = "1//another-refresh-token-000111"
    gmail.save()
    queue(gmail)
    engine.drain(gmail.pk)
    assert google.token_requests == 2


def test_an_unchanged_integration_refreshes_once_when_the_token_expires(
    google, xoauth2_server, settings
):
    import redis

    google.expires_in = 2  # the cache keeps it for half its life: one second
    gmail = google_integration(xoauth2_server)
    queue(gmail)
    engine.drain(gmail.pk)
    queue(gmail)
    engine.drain(gmail.pk)
    assert google.token_requests == 1
    client = redis.Redis.from_url(settings.REDIS_URL)
    wait_until(lambda: not [k for k in client.scan_iter(f"notifuse:token:{gmail.pk}:*")
                            if b":lock" not in k], timeout=5,
               message="the cached token did not expire")
    from delivery import sessions

    sessions.close_all()  # a new session needs a token again
    queue(gmail, 3)
    engine.drain(gmail.pk)
    assert google.token_requests == 2
    assert len(xoauth2_server.wait_for_messages(5)) == 5


def test_xoauth2_can_authenticate_as_each_messages_sender(microsoft, xoauth2_server):
    from senders.models import Sender

    ms = microsoft_integration(xoauth2_server, xoauth2_as_sender=True)
    Sender.objects.create(integration=ms, email="sales@contoso.com")
    send_email(to="a@example.org", subject="1", text="x", integration=ms)
    send_email(to="b@example.org", subject="2", text="x", integration=ms,
               from_email="sales@contoso.com")
    engine.drain(ms.pk)
    xoauth2_server.wait_for_messages(2)
    users = sorted(user for _, user in xoauth2_server.auth_attempts)
    assert users == ["mailbox@contoso.com", "sales@contoso.com"]


def test_the_cache_ttl_is_the_lifetime_less_the_margin(google, xoauth2_server, settings):
    import redis

    settings.OAUTH2_REFRESH_MARGIN_SECONDS = 300
    gmail = google_integration(xoauth2_server)
    queue(gmail)
    engine.drain(gmail.pk)
    client = redis.Redis.from_url(settings.REDIS_URL)
    [key] = [k for k in client.scan_iter(f"notifuse:token:{gmail.pk}:*") if b":lock" not in k]
    assert 3599 - 300 - 5 <= client.ttl(key) <= 3599 - 300
    assert G_REFRESH.encode() not in client.get(key)


@pytest.mark.parametrize(
    ("case", "code", "hint_words"),
    [
        ("google_invalid_grant", "invalid_grant", "Testing mode"),
        ("google_unauthorized_client", "unauthorized_client", "different OAuth client"),
        ("microsoft_wrong_secret", "AADSTS7000215", "secret's Value"),
        ("microsoft_unknown_tenant", "AADSTS90002", "Tenant not found"),
    ],
)
def test_token_errors_hold_the_mail_with_a_hint_until_fixed(
    case, code, hint_words, microsoft, google, xoauth2_server
):
    integration, fix = _broken(case, microsoft, google, xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert attempt.stage == "token" and attempt.failure_class == "configuration"
    assert code in attempt.error and hint_words in attempt.hint
    assert "{" not in attempt.error  # no raw JSON
    integration.refresh_from_db()
    assert integration.needs_attention and code in integration.needs_attention_reason
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    fix(integration)
    message = drain_until_settled(integration, message)
    assert message.status == Status.SENT
    integration.refresh_from_db()
    assert not integration.needs_attention


def _broken(case, microsoft, google, server):
    if case == "google_invalid_grant":
        integration = google_integration(server, refresh_token="1//revoked-token-99999")
        return integration, lambda i: _save(i, refresh_token=G_REFRESH)
    if case == "google_unauthorized_client":
        google.clients["other-client"] = "other-secret-123456"
        google.refresh_tokens["1//minted-for-other"] = ("other-client", G_MAILBOX)
        integration = google_integration(server, refresh_token="1//minted-for-other")
        return integration, lambda i: _save(i, refresh_token=G_REFRESH)
    if case == "microsoft_wrong_secret":
        integration = microsoft_integration(server, client_secret="the-secret-ID-not-value")
        return integration, lambda i: _save(i, client_secret=MS_SECRET)
    integration = microsoft_integration(server, tenant_id="no-such-tenant.example")
    return integration, lambda i: _save(i, tenant_id="contoso.onmicrosoft.com")


def _save(integration: SmtpIntegration, **fields) -> None:
    for name, value in fields.items():
        setattr(integration, name, value)
    integration.save()


def test_a_refused_token_is_replaced_once_and_the_reason_is_recorded(google, xoauth2_server):
    accept = xoauth2_server.xoauth2_validator
    refused: list[str] = []

    def refuse_the_first_token(user: str, token: str) -> bool:
        if not refused:
            refused.append(token)
            return False
        return accept(user, token)

    xoauth2_server.xoauth2_validator = refuse_the_first_token
    gmail = google_integration(xoauth2_server)
    [message] = queue(gmail)
    engine.drain(gmail.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert google.token_requests == 2
    attempt = message.attempts.get()
    assert "status=401" in attempt.error and "535" in attempt.error
    assert refused[0] not in attempt.error


def test_two_refused_tokens_are_a_configuration_failure(google, xoauth2_server):
    xoauth2_server.xoauth2_validator = lambda user, token: False
    gmail = google_integration(xoauth2_server)
    [message] = queue(gmail)
    engine.drain(gmail.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.smtp_code, attempt.failure_class) == (
        "auth", 535, "configuration"
    )
    assert google.token_requests == 2
    assert all(token not in attempt.error for token in google.issued)


def test_a_server_echoing_the_xoauth2_string_does_not_put_it_in_the_attempt(
    microsoft, xoauth2_server, monkeypatch
):
    echoed: list[str] = []

    def refuse_and_echo(user: str, token: str) -> bool:
        raw = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
        echoed.append(base64.b64encode(raw).decode())
        monkeypatch.setitem(
            smtp_servers.XOAUTH2_REFUSALS, "microsoft", f"535 5.7.3 Bad credentials {echoed[-1]}"
        )
        return False

    xoauth2_server.xoauth2_validator = refuse_and_echo
    xoauth2_server.xoauth2_style = "microsoft"
    integration = microsoft_integration(xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.smtp_code, attempt.failure_class) == (535, "configuration")
    assert echoed and "Bad credentials" in attempt.error
    assert all(blob not in attempt.error for blob in echoed)


def test_a_refused_gmail_token_gets_an_oauth2_hint_not_the_app_password_one(
    google, xoauth2_server
):
    xoauth2_server.xoauth2_validator = lambda user, token: False
    gmail = google_integration(xoauth2_server)
    [message] = queue(gmail)
    engine.drain(gmail.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.smtp_code, attempt.enhanced_code) == (535, "5.7.8")
    assert "app password" not in attempt.hint
    assert "https://mail.google.com/" in attempt.hint


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_a_token_endpoint_outage_is_retried_without_marking_the_integration(
    provider, microsoft, google, xoauth2_server
):
    if provider == "microsoft":
        integration = microsoft_integration(xoauth2_server)
        microsoft.fail_next_with_status(503, retry_after=0)
    else:
        integration = google_integration(xoauth2_server)
        google.fail_next_with_status(503, retry_after=0)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("token", "transient")
    assert "HTTP 503" in attempt.error and "retried" in attempt.hint
    integration.refresh_from_db()
    assert not integration.needs_attention
    message = drain_until_settled(integration, message)
    assert message.status == Status.SENT
    assert message.attempts.count() == 2


@pytest.mark.parametrize(
    "throttled",
    ["discovery_429_json", "discovery_429_html", "token_429_html", "token_200_html"],
)
def test_microsoft_throttling_is_retried_not_reported_as_an_unknown_tenant(
    throttled, microsoft, xoauth2_server
):
    # msal raises ValueError for all of these, as it does for an unknown tenant.
    where, status, body = throttled.split("_")
    if where == "discovery":
        microsoft.fail_next_discovery_with_status(int(status), html=body == "html")
    else:
        microsoft.fail_next_with_status(int(status), retry_after=0, html=True)
    integration = microsoft_integration(xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("token", "transient")
    assert "AADSTS90002" not in attempt.error and "Tenant not found" not in attempt.hint
    assert "retried" in attempt.hint and "<" not in attempt.error
    integration.refresh_from_db()
    assert not integration.needs_attention
    message = drain_until_settled(integration, message)
    assert message.status == Status.SENT


def test_a_microsoft_discovery_page_without_an_entra_error_names_its_status(
    microsoft, xoauth2_server
):
    microsoft.fail_next_discovery_with_status(404, html=True)
    integration = microsoft_integration(xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("token", "configuration")
    assert "HTTP 404" in attempt.error and "AADSTS" not in attempt.error
    assert "MICROSOFT_AUTHORITY_HOST" in attempt.hint


def test_a_wrong_google_token_url_is_a_configuration_failure_naming_it(
    google, xoauth2_server, settings
):
    settings.GOOGLE_TOKEN_URL = f"{google.base_url}/oauth2/v4/token"  # answers an HTML 404
    integration = google_integration(xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("token", "configuration")
    assert "HTTP 404" in attempt.error and settings.GOOGLE_TOKEN_URL in attempt.error
    assert "GOOGLE_TOKEN_URL" in attempt.hint
    integration.refresh_from_db()
    assert integration.needs_attention


@pytest.mark.parametrize("status", [429, 502])
def test_a_google_throttling_or_gateway_page_stays_transient(status, google, xoauth2_server):
    google.fail_next_with_status(status, html=True)
    integration = google_integration(xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("token", "transient")
    assert f"HTTP {status}" in attempt.error
    message = drain_until_settled(integration, message)
    assert message.status == Status.SENT


@pytest.mark.parametrize(
    "refusal, failure_class",
    [
        ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
         "the Tenant. Visit https://aka.ms/smtp_auth_disabled [AM0PR.PROD.OUTLOOK.COM]",
         "configuration"),
        ("454 4.7.0 Cannot authenticate due to temporary system problem", "transient"),
    ],
)
def test_an_auth_refusal_a_new_token_cannot_fix_fetches_no_second_token(
    refusal, failure_class, microsoft, xoauth2_server
):
    xoauth2_server.xoauth2_validator = lambda user, token: False
    xoauth2_server.xoauth2_style = "microsoft"
    xoauth2_server.xoauth2_refusal = refusal
    integration = microsoft_integration(xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.smtp_code, attempt.failure_class) == (
        "auth", int(refusal[:3]), failure_class
    )
    assert microsoft.token_requests == 1
    assert len(xoauth2_server.auth_attempts) == 1
    assert "fresh token" not in attempt.error


def test_a_refused_microsoft_token_is_replaced_once(microsoft, xoauth2_server):
    xoauth2_server.xoauth2_validator = lambda user, token: False
    xoauth2_server.xoauth2_style = "microsoft"
    integration = microsoft_integration(xoauth2_server)
    [message] = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.smtp_code, attempt.enhanced_code) == (535, "5.7.3")
    assert microsoft.token_requests == 2  # 5.7.3 is also what an expired token gets
