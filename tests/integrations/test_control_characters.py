"""Control characters in a sender's display name or the EHLO hostname (issue 15, item 13):
the admin refuses them with a field error; one stored before that fails with the catalog's
error, once, instead of a header injection, a 500 or retries until the message gives up."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from delivery import engine
from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from integrations.failures.catalog import rule
from integrations.models import SmtpIntegration
from senders.models import Sender
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer
from tests.support.queued_runs import post_and_follow

pytestmark = pytest.mark.django_db(transaction=True)

ADD_URL = reverse("admin:integrations_smtpintegration_add")


def relay_form(**overrides) -> dict:
    data = {
        "name": "Relay",
        "host": "relay.example.com",
        "port": "25",
        "auth_type": "none",
        "use_for_transactional": "on",
        "is_active": "on",
        "daily_limit_counts": "messages",
        "senders-TOTAL_FORMS": "1",
        "senders-INITIAL_FORMS": "0",
        "senders-MIN_NUM_FORMS": "0",
        "senders-MAX_NUM_FORMS": "1000",
        "senders-0-name": "App",
        "senders-0-email": "app@example.com",
        "senders-0-is_default": "on",
        **overrides,
    }
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize(
    "field, value, error",
    [
        (
            "senders-0-name",
            "Billing\x0bBcc: victim@example.org",
            "A display name cannot contain control characters (found: \\x0b).",
        ),
        ("senders-0-name", "Billing\x1b[31m", "cannot contain control characters (found: \\x1b)"),
        (
            "ehlo_hostname",
            "mail\x0bexample.com",
            "cannot contain control characters (found: \\x0b)",
        ),
        ("ehlo_hostname", "mail example.com", "The EHLO hostname cannot contain spaces."),
        ("ehlo_hostname", "-mail.example.com", "EHLO takes a domain (mail.example.com)"),
        ("host", "relay\x0c.example.com", "A host name cannot contain control characters"),
    ],
)
def test_the_admin_refuses_control_characters_with_a_field_error(admin_client, field, value, error):
    response = admin_client.post(ADD_URL, relay_form(**{field: value}))
    assert response.status_code == 200
    assert error in html.unescape(response.text)
    assert not SmtpIntegration.objects.exists()


def test_an_address_literal_is_a_valid_ehlo_hostname(admin_client):
    response = admin_client.post(ADD_URL, relay_form(ehlo_hostname="[192.0.2.1]"))
    assert response.status_code == 302
    assert SmtpIntegration.objects.get().ehlo_hostname == "[192.0.2.1]"


def test_a_stored_display_name_with_a_vertical_tab_fails_once_and_for_good(admin_client):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        Sender.objects.filter(integration=integration).update(name="App\x0bBcc: x@evil.example")
        send_email(to="bob@example.org", subject="x", text="x", integration=integration)
        engine.drain(integration.pk)
        test_url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
        response = post_and_follow(admin_client, test_url, {"to": "me@example.org"})
        assert server.messages == []  # neither the message nor the test email went out
    expected = rule("local.control-characters-in-from")
    message = Message.objects.get()
    assert message.status == Status.FAILED
    attempt = SendAttempt.objects.get()
    assert (attempt.stage, attempt.failure_class, attempt.hint) == (
        "mail",
        expected.failure_class,
        expected.hint,
    )
    assert "\\x0b" in attempt.error
    page = html.unescape(response.text)
    assert response.status_code == 200 and "Failed at MAIL FROM" in page and expected.hint in page


@pytest.mark.parametrize("name", ["bad\x0bname", "bad\nname", "under_score.example"])
def test_a_stored_bad_ehlo_hostname_fails_before_connecting(admin_client, name):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        SmtpIntegration.objects.filter(pk=integration.pk).update(ehlo_hostname=name)
        test_url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
        response = post_and_follow(admin_client, test_url, {"to": "me@example.org"})
        send_email(to="bob@example.org", subject="x", text="x", integration=integration)
        engine.drain(integration.pk)
        assert server.connections == 0 and server.ehlo_hostnames == []
    expected = rule("local.invalid-ehlo-hostname")
    page = html.unescape(response.text)
    assert response.status_code == 200 and "Failed at EHLO" in page and expected.hint in page
    attempt = SendAttempt.objects.get()
    assert (attempt.stage, attempt.failure_class) == ("ehlo", expected.failure_class)
    message = Message.objects.get()
    assert message.status == Status.QUEUED and message.attempt_count == 1  # held, not retried
    integration.refresh_from_db()
    assert integration.needs_attention_hint == expected.hint
