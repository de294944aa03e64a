"""Held mail goes only when the saved fix logs in: a wrong fix keeps it held and says why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.api import send_email
from delivery.models import Message
from integrations.models import SmtpIntegration
from senders.models import Sender
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db
RELAY_DENIED = "554 5.7.1 <bob@example.org>: Recipient address rejected: Access denied"


def held_mail(integration, reason: str = "auth: 535 5.7.8 bad credentials") -> Message:
    """A message waiting an hour for its next try on an integration flagged as broken."""
    SmtpIntegration.objects.filter(pk=integration.pk).update(
        needs_attention_reason=reason, needs_attention_since=timezone.now())
    integration.refresh_from_db()
    message = send_email(to="bob@example.org", subject="x", text="x", integration=integration)
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1))
    return message


def change(admin_client, integration, **fields):
    """Post the integration's change page as a browser would, with `fields` changed."""
    data = {
        "name": integration.name, "preset": "", "ses_region": "", "host": integration.host,
        "port": str(integration.port), "ehlo_hostname": "", "auth_type": "basic",
        "allow_plaintext_auth": "on" if integration.allow_plaintext_auth else None,
        "username": integration.username, "password": "", "oauth2_provider": "",
        "client_id": "", "client_secret": "", "tenant_id": "", "refresh_token": "",
        "use_for_transactional": "on", "is_active": "on", "rate_limit_per_minute": "",
        "rate_limit_per_day": "", "max_connections": "",
        "senders-TOTAL_FORMS": "0", "senders-INITIAL_FORMS": "0",
        "senders-MIN_NUM_FORMS": "0", "senders-MAX_NUM_FORMS": "1000", **fields,
    }
    senders = list(integration.senders.all())
    data.update({"senders-TOTAL_FORMS": str(len(senders)),
                 "senders-INITIAL_FORMS": str(len(senders))})
    for n, sender in enumerate(senders):
        data.update({f"senders-{n}-id": str(sender.pk), f"senders-{n}-integration":
                     str(integration.pk), f"senders-{n}-email": sender.email,
                     f"senders-{n}-name": sender.name})
        if sender.is_default:
            data[f"senders-{n}-is_default"] = "on"
    url = reverse("admin:integrations_smtpintegration_change", args=[integration.pk])
    return admin_client.post(url, {k: v for k, v in data.items() if v is not None}, follow=True)


def test_the_right_password_is_checked_then_releases_held_mail_and_clears_the_mark(
    admin_client,
):
    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server, username="app", password="wrong")
        message = held_mail(integration)
        response = change(admin_client, integration, password="right")
    assert "1 queued message(s) of" in response.text
    message.refresh_from_db()
    assert message.next_attempt_at <= timezone.now()
    integration.refresh_from_db()
    assert not integration.needs_attention
    assert server.messages == [], "the check sends nothing"


def test_a_wrong_fix_keeps_the_mail_held_and_says_why(admin_client):
    # Staff "fixed" a wrong password by turning authentication off: the relay refuses
    # recipients to an unauthenticated client, so released mail would fail for good.
    with SmtpTestServer(reject_rcpt={"bob@example.org": RELAY_DENIED}) as server:
        integration = make_integration(server, username="app", password="wrong")
        message = held_mail(integration)
        response = change(admin_client, integration, auth_type="none", username="")
    assert "stays held" in response.text and "5.7.1" in response.text
    assert "Release it anyway" in response.text
    assert "will not relay this mail for an unauthenticated client" in response.text
    message.refresh_from_db()
    assert message.next_attempt_at > timezone.now() + timedelta(minutes=30)
    integration.refresh_from_db()
    assert integration.needs_attention and "5.7.1" in integration.needs_attention_reason
    assert server.messages == []


def test_staff_can_release_held_mail_anyway_after_a_confirmation(admin_client):
    integration = make_integration(port=9)  # nothing listens: the check would fail
    message = held_mail(integration)
    url = reverse("admin:integrations_smtpintegration_release_held", args=[integration.pk])
    page = admin_client.get(url)
    assert "Release the held mail anyway" in page.text
    message.refresh_from_db()
    assert message.next_attempt_at > timezone.now(), "asking changes nothing"
    response = admin_client.post(url, follow=True)
    assert "1 queued message(s) of" in response.text
    message.refresh_from_db()
    assert message.next_attempt_at <= timezone.now()


def test_adding_back_a_removed_sender_on_either_page_releases_its_mail(admin_client):
    with SmtpTestServer() as server:
        integration = make_integration(server, sender="team@example.com")
        gone = Sender.objects.create(integration=integration, email="old@example.com")
        message = send_email(to="bob@example.org", subject="x", text="x",
                             integration=integration, from_email="old@example.com")
        gone.delete()
        Message.objects.filter(pk=message.pk).update(
            next_attempt_at=timezone.now() + timedelta(hours=1))
        SmtpIntegration.objects.filter(pk=integration.pk).update(
            needs_attention_reason="mail: old@example.com is no longer a sender")
        data = {"integration": integration.pk, "name": "", "email": "old@example.com"}
        response = admin_client.post(reverse("admin:senders_sender_add"), data, follow=True)
    assert "1 queued message(s) of" in response.text
    message.refresh_from_db()
    assert message.next_attempt_at <= timezone.now()


def test_a_relay_refusal_holds_the_mail_with_an_authentication_hint():
    from integrations.failures.catalog import from_reply
    from integrations.failures.errors import FailureClass
    from integrations.failures.rules import Context

    for reply in (RELAY_DENIED, "554 5.7.1 <bob@example.org>: Relay access denied",
                  "550 5.7.1 Unable to relay"):
        code, text = int(reply[:3]), reply[4:]
        error = from_reply("rcpt", code, text, Context())
        assert error.failure_class is FailureClass.CONFIGURATION, reply
        assert "AUTH" in error.hint and error.rule.startswith("smtp.relay-")
