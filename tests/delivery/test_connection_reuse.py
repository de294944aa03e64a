"""One SMTP session carries many messages and survives between batches."""

from __future__ import annotations

import pytest

from delivery import engine, sessions
from delivery.api import send_email
from delivery.models import Message, Status
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


def queue(count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        send_email(to=f"user{n}@example.org", subject=f"n{n}", text="x")


def test_batches_and_later_drains_reuse_one_authenticated_session(settings):
    settings.DELIVERY_BATCH_SIZE = 3
    with SmtpTestServer(credentials={"app": "pw"}) as server:
        integration = make_integration(server)
        queue(7)
        engine.drain(integration.pk)
        queue(2, start=7)
        engine.drain(integration.pk)
        server.wait_for_messages(9)
    assert len(server.ehlo_hostnames) == 1
    assert len(server.auth_attempts) == 1
    assert Message.objects.filter(status=Status.SENT).count() == 9


def test_an_edited_integration_gets_a_new_session(settings):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        queue(1)
        engine.drain(integration.pk)
        integration.ehlo_hostname = "mail.example.com"
        integration.save()
        queue(1, start=1)
        engine.drain(integration.pk)
        server.wait_for_messages(2)
    assert server.ehlo_hostnames == ["127.0.0.1", "mail.example.com"]


def test_a_session_is_retired_after_the_message_cap(settings):
    settings.SMTP_MAX_MESSAGES_PER_SESSION = 2
    with SmtpTestServer() as server:
        integration = make_integration(server)
        queue(2)
        engine.drain(integration.pk)
        queue(1, start=2)
        engine.drain(integration.pk)
        server.wait_for_messages(3)
    assert len(server.ehlo_hostnames) == 2


def test_a_drain_waits_when_every_connection_slot_is_taken():
    with SmtpTestServer() as server:
        integration = make_integration(server, max_connections=1)
        holder = sessions.ConnectionSlot(integration)
        assert holder.acquire()
        try:
            queue(1)
            assert engine.drain(integration.pk) == 0
            assert Message.objects.get().status == Status.QUEUED
        finally:
            holder.release()
        assert engine.drain(integration.pk) == 1
        server.wait_for_messages(1)
