"""App code hears what happened to its mail: each signal once, after the change commits."""

from __future__ import annotations

import pytest
from django.db import transaction

from delivery import engine, signals
from delivery.api import send_email
from delivery.models import Message, Status
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    """Every (signal name, arguments) sent while the test runs, with what the row said then."""
    calls: list[tuple[str, dict]] = []

    def receiver_for(name: str):
        def receive(sender, signal, **arguments):
            assert sender is Message
            stored = Message.objects.get(pk=arguments["message"].pk).status  # committed
            calls.append((name, {**arguments, "stored_status": stored}))
        return receive

    receivers = {name: receiver_for(name) for name in ("message_sent", "message_failed")}
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver)
    yield calls
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def test_message_sent_fires_once_after_commit_with_the_recipients(heard):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        message = send_email(to=["a@example.org", "b@example.org"], subject="s", text="x",
                             integration=integration)
        engine.drain(integration.pk)
    [(name, arguments)] = heard
    assert name == "message_sent" and arguments["message"].pk == message.pk
    assert arguments["recipients"] == ["a@example.org", "b@example.org"]
    assert arguments["stored_status"] == Status.SENT


def test_message_failed_fires_once_with_the_reason(heard):
    with SmtpTestServer(reject_rcpt={"gone@example.org": "550 5.1.1 No such user"}) as server:
        integration = make_integration(server)
        message = send_email(to=["gone@example.org"], subject="s", text="x",
                             integration=integration)
        engine.drain(integration.pk)
    [(name, arguments)] = heard
    assert name == "message_failed" and arguments["message"].pk == message.pk
    assert "5.1.1" in arguments["reason"] and arguments["stored_status"] == Status.FAILED


def test_nothing_is_heard_when_the_transaction_rolls_back(heard):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        send_email(to=["a@example.org"], subject="s", text="x", integration=integration)
        with pytest.raises(RuntimeError), transaction.atomic():
            engine.drain(integration.pk)
            raise RuntimeError("the caller's transaction fails")
    assert heard == []


def test_a_failing_receiver_does_not_stop_delivery_or_the_others(heard):
    def broken(**_):
        raise ValueError("a bug in app code")

    signals.message_sent.connect(broken)
    try:
        with SmtpTestServer() as server:
            integration = make_integration(server)
            message = send_email(to=["a@example.org"], subject="s", text="x",
                                 integration=integration)
            engine.drain(integration.pk)
    finally:
        signals.message_sent.disconnect(broken)
    assert Message.objects.get(pk=message.pk).status == Status.SENT
    assert [name for name, _ in heard] == ["message_sent"]
