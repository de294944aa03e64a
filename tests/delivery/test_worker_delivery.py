"""A real Celery worker process, on Redis, delivers what send_email queued."""

from __future__ import annotations

import pytest

from delivery.api import send_email
from delivery.models import Message, Status
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer


@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_a_queued_message(start_worker):
    with SmtpTestServer(credentials={"app": "s3cret"}) as server:
        integration = make_integration(server, ehlo_hostname="mail.example.com")
        start_worker()
        message = send_email(to="bob@example.org", subject="Welcome", text="Hi", html="<p>Hi</p>")
        [received] = server.wait_for_messages(1)
        assert received.rcpt_tos == ["bob@example.org"]
        assert server.ehlo_hostnames == ["mail.example.com"]
        wait_until(
            lambda: Message.objects.get(pk=message.pk).status == Status.SENT,
            message="the message row was not marked sent",
        )
    assert integration.attempts.get().succeeded
