"""Routing by kind and sender, and failover away from an integration that needs attention."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail

from delivery import engine
from delivery.api import InvalidMessage, send_email
from delivery.models import Status
from senders.models import Sender
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_servers():
    with SmtpTestServer() as first, SmtpTestServer() as second:
        yield first, second


def test_each_kind_goes_to_the_integration_flagged_for_it(two_servers):
    first, second = two_servers
    transactional = make_integration(first, use_for_marketing=False, sender="tx@example.com")
    marketing = make_integration(
        second, use_for_transactional=False, sender="news@example.com"
    )
    reset = send_email(to="bob@example.org", subject="Reset", text="x")
    news = send_email(to="bob@example.org", subject="News", text="x", kind="marketing")
    assert (reset.integration, news.integration) == (transactional, marketing)
    engine.drain(transactional.pk)
    engine.drain(marketing.pk)
    assert [m.parsed["Subject"] for m in first.messages] == ["Reset"]
    assert [m.parsed["Subject"] for m in second.messages] == ["News"]
    assert first.messages[0].mail_from == "tx@example.com"


def test_the_owner_of_the_from_sender_wins_over_the_usage_flag(two_servers):
    first, second = two_servers
    make_integration(first, sender="tx@example.com")
    owner = make_integration(second, use_for_transactional=False, sender="billing@example.com")
    message = send_email(to="bob@example.org", subject="Invoice", text="x",
                         from_email="Billing <BILLING@example.com>")
    assert message.integration == owner


def test_a_from_address_that_is_not_a_sender_of_the_named_integration_is_refused(two_servers):
    first, second = two_servers
    named = make_integration(first, sender="tx@example.com")
    make_integration(second, sender="other@example.com")
    with pytest.raises(InvalidMessage, match="is not a sender of integration"):
        send_email(to="bob@example.org", subject="x", text="x",
                   from_email="other@example.com", integration=named.name)


def test_mail_fails_over_when_its_integration_needs_attention(two_servers):
    broken_server, healthy_server = two_servers
    broken_server.credentials = {"app": "right"}
    broken = make_integration(broken_server, auth_type="basic", username="app", password="bad")
    healthy = make_integration(healthy_server, sender="backup@example.com")
    message = send_email(to="bob@example.org", subject="Reset", text="x")
    assert message.integration == broken
    engine.drain(broken.pk)
    message.refresh_from_db()
    assert message.integration == healthy and message.status == Status.QUEUED
    assert "moved to integration" in message.attempts.get().error
    engine.drain(healthy.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert healthy_server.messages[0].mail_from == "backup@example.com"


def test_an_integration_named_by_the_caller_never_fails_over(two_servers):
    broken_server, healthy_server = two_servers
    broken_server.credentials = {"app": "right"}
    broken = make_integration(broken_server, auth_type="basic", username="app", password="bad")
    make_integration(healthy_server)
    message = send_email(to="bob@example.org", subject="x", text="x", integration=broken.pk)
    engine.drain(broken.pk)
    message.refresh_from_db()
    assert message.integration == broken and message.status == Status.QUEUED


def test_django_mail_arrives_intact_through_the_queue(two_servers, settings):
    settings.EMAIL_BACKEND = "delivery.backends.QueuedEmailBackend"
    server, _ = two_servers
    integration = make_integration(server)
    Sender.objects.create(integration=integration, email="billing@example.com")
    send_mail("Plain", "Just text", "billing@example.com", ["bob@example.org"])
    mail = EmailMultiAlternatives(
        "Invoice Grüße", "See attached", "Billing <billing@example.com>", ["bob@example.org"],
        cc=["carol@example.org"], bcc=["audit@example.org"], reply_to=["help@example.com"],
        headers={"X-Order": "42"},
    )
    mail.attach_alternative("<p>See <b>attached</b></p>", "text/html")
    mail.attach("invoice.pdf", b"%PDF-1.4\x00\x01binary", "application/pdf")
    mail.send()
    engine.drain(integration.pk)
    invoice, plain = sorted(server.wait_for_messages(2), key=lambda m: m.parsed["Subject"])
    assert invoice.parsed["Subject"] == "Invoice Grüße"
    assert invoice.parsed["X-Order"] == "42"
    assert invoice.parsed["Reply-To"] == "help@example.com"
    assert "audit@example.org" in invoice.rcpt_tos and invoice.parsed["Bcc"] is None
    html = invoice.parsed.get_body(("html",)).get_content()
    assert "<b>attached</b>" in html
    [attachment] = list(invoice.parsed.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content() == b"%PDF-1.4\x00\x01binary"
    assert plain.parsed.get_body(("plain",)).get_content().strip() == "Just text"


def test_mail_waiting_on_a_deactivated_integration_moves_to_an_active_one(two_servers):
    old_server, new_server = two_servers
    old = make_integration(old_server)
    message = send_email(to="bob@example.org", subject="x", text="x")
    pinned = send_email(to="bob@example.org", subject="pinned", text="x", integration=old.pk)
    old.is_active = False
    old.save()
    new = make_integration(new_server, sender="new@example.com")
    engine.drain(old.pk)
    message.refresh_from_db()
    pinned.refresh_from_db()
    assert (message.integration, message.status) == (new, Status.QUEUED)
    assert (pinned.integration, pinned.status) == (old, Status.QUEUED)
    assert pinned.attempt_count == 0 and not pinned.attempts.exists()
    engine.drain(new.pk)
    assert [m.parsed["Subject"] for m in new_server.messages] == ["x"]


def test_an_integration_is_named_by_its_name_even_when_it_is_all_digits():
    by_name = make_integration(name="2024")
    other = make_integration(name="other")
    assert send_email(to="bob@example.org", subject="x", text="x",
                      integration="2024").integration_id == by_name.pk
    # Digits that name no integration are its primary key, as on the command line.
    assert send_email(to="bob@example.org", subject="x", text="x",
                      integration=str(other.pk)).integration_id == other.pk
    with pytest.raises(InvalidMessage) as refused:
        send_email(to="bob@example.org", subject="x", text="x", integration="\u00b2")
    assert refused.value.field == "integration"
