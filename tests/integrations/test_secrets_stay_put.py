"""Secrets that cannot be walked out (issue 15 items 5 and 7, acceptance 2).

A staff member who may change an integration, but never sees its password, cannot repoint it
at a server of theirs and have the stored secret follow: the form asks for the secrets again
when where they go changes. And with *Allow plaintext AUTH* off, no AUTH is ever sent on a
connection without TLS: a scripted server records every command it received.
"""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from delivery import engine
from delivery.api import send_email
from delivery.models import SendAttempt
from integrations.failures.catalog import rule
from integrations.models import SmtpIntegration
from tests.support.scripted_smtp import ScriptedSmtpServer
from tests.support.smtp_servers import SmtpTestServer
from tests.support.queued_runs import carry_out_queued, post_and_follow

pytestmark = pytest.mark.django_db

PASSWORD = "the-Stored-Password-77"
CLIENT_SECRET = "stored-Client-Secret-88"
REFUSED = "You changed where the credentials go"


@pytest.fixture
def editor(client, django_user_model):
    """Staff with change permission on integrations, and nothing else."""
    user = django_user_model.objects.create_user("editor", "e@example.com", "pw", is_staff=True)
    for codename in ("view_smtpintegration", "change_smtpintegration"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return client


def stored(**fields) -> SmtpIntegration:
    return SmtpIntegration.objects.create(
        **{
            "name": "Company",
            "host": "smtp.example.com",
            "port": 587,
            "use_tls": True,
            "auth_type": "basic",
            "username": "app@example.com",
            "password": PASSWORD,
            **fields,
        }
    )


def change_form(integration: SmtpIntegration, **changes) -> dict:
    """The change form as the browser posts it: every setting as stored, secrets blank."""
    data = {
        "name": integration.name,
        "preset": "",
        "ses_region": "",
        "host": integration.host,
        "port": str(integration.port),
        "ehlo_hostname": integration.ehlo_hostname,
        "auth_type": integration.auth_type,
        "username": integration.username,
        "oauth2_provider": integration.oauth2_provider,
        "client_id": integration.client_id,
        "tenant_id": integration.tenant_id,
        "password": "",
        "client_secret": "",
        "refresh_token": "",
        "bounce_imap_password": "",
        "bounce_imap_host": "",
        "bounce_imap_port": "993",
        "bounce_imap_username": "",
        "bounce_folder": "",
        "use_tls": "on" if integration.use_tls else None,
        "is_active": "on",
        "allow_plaintext_auth": "on" if integration.allow_plaintext_auth else None,
        "use_for_transactional": "on",
        "rate_limit_per_minute": "",
        "rate_limit_per_day": "",
        "max_connections": "",
        "daily_limit_counts": "messages",
        **changes,
    }
    return {key: value for key, value in data.items() if value is not None}


def change_url(integration: SmtpIntegration) -> str:
    return reverse("admin:integrations_smtpintegration_change", args=[integration.pk])


def test_repointing_host_and_port_with_tls_off_keeps_the_password_home(editor):
    integration = stored()
    with SmtpTestServer(credentials={"app@example.com": PASSWORD}) as server:
        response = editor.post(
            change_url(integration),
            change_form(
                integration,
                host=server.host,
                port=str(server.port),
                use_tls=None,
                allow_plaintext_auth="on",
            ),
        )
        assert response.status_code == 200
        page = html.unescape(response.text)
        assert REFUSED in page and "enter the smtp password again" in page
        assert "SMTP host, SMTP port, use TLS, allow plaintext AUTH" in page
        integration.refresh_from_db()
        assert (integration.host, integration.port, integration.use_tls) == (
            "smtp.example.com",
            587,
            True,
        )
        assert integration.password == PASSWORD
        # Nothing was saved, so the test page still tests the company's server.
        test_url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
        editor.post(test_url, {"to": "me@example.org"})
        carry_out_queued()  # the worker's part
        assert server.connections == 0 and server.auth_attempts == []


def test_whoever_types_the_password_again_may_repoint(editor):
    integration = stored()
    response = editor.post(
        change_url(integration),
        change_form(integration, host="relay.internal.example", password="typed-Again-1"),
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.host, integration.password) == ("relay.internal.example", "typed-Again-1")


@pytest.mark.parametrize(
    "fields, changes, secret",
    [
        ({}, {"port": "2525"}, "password"),
        ({}, {"use_tls": None, "allow_plaintext_auth": "on"}, "password"),
        ({}, {"bounce_imap_host": "imap.elsewhere.example"}, "password"),
        (
            {},
            {
                "auth_type": "oauth2",
                "oauth2_provider": "microsoft",
                "tenant_id": "t",
                "client_id": "c",
                "client_secret": "typed",
            },
            None,
        ),
        (
            {
                "auth_type": "oauth2",
                "oauth2_provider": "microsoft",
                "tenant_id": "contoso",
                "client_id": "c",
                "client_secret": CLIENT_SECRET,
                "password": "",
            },
            {"tenant_id": "elsewhere"},
            "client_secret",
        ),
        (
            {"bounce_imap_username": "bounces", "bounce_imap_password": "imap-Secret-9"},
            {"bounce_imap_username": ""},
            "password",
        ),
        ({}, {"name": "Renamed", "rate_limit_per_minute": "30"}, None),
    ],
    ids=[
        "port",
        "tls-off",
        "imap-host",
        "to-oauth2-typed",
        "tenant",
        "imap-own-login",
        "unrelated",
    ],
)
def test_a_kept_secret_never_follows_a_new_destination(editor, fields, changes, secret):
    integration = stored(**fields)
    before = {name: getattr(integration, name) for name in ("password", "client_secret")}
    response = editor.post(change_url(integration), change_form(integration, **changes))
    if secret is None:
        assert response.status_code == 302, response.text
        return
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert REFUSED in " ".join(form.errors.get(secret, []))
    integration.refresh_from_db()
    assert {name: getattr(integration, name) for name in before} == before


@pytest.mark.django_db(transaction=True)
def test_without_plaintext_auth_allowed_no_auth_is_sent_without_tls(editor):
    with ScriptedSmtpServer(extensions=("AUTH PLAIN LOGIN",),
                            credentials={"app": "set by the test"}) as server:
        integration = stored(host=server.host, port=server.port, use_tls=False)
        integration.senders.create(email="app@example.com", is_default=True)
        test_url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
        page = html.unescape(post_and_follow(editor, test_url, {"to": "me@example.org"}).text)
        send_email(to="bob@example.org", subject="x", text="x", integration=integration)
        engine.drain(integration.pk)
        assert any(line.upper().startswith("EHLO") for line in server.commands)
        assert server.auth_lines == [] and PASSWORD not in " ".join(server.commands)
    expected = rule("local.plaintext-auth")
    assert "Failed at AUTH" in page and expected.says in page and expected.hint in page
    attempt = SendAttempt.objects.get()
    assert (attempt.stage, attempt.failure_class, attempt.hint) == (
        "auth",
        expected.failure_class,
        expected.hint,
    )
    integration.refresh_from_db()
    assert integration.needs_attention_hint == expected.hint
