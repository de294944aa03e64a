"""Bounces, complaints, unsubscribes and suppressions each fire their signal once, after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from delivery import feedback, signals, suppressions
from delivery.api import send_email
from delivery.models import FeedbackEvent, Message, Suppression
from tests.factories import make_integration

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ("message_bounced", "message_complained", "recipient_unsubscribed",
         "recipient_suppressed")


@pytest.fixture
def heard():
    """(signal name, sender, arguments, whether the change was visible to a new connection)."""
    calls: list[tuple[str, type, dict]] = []

    def receiver_for(name: str):
        def receive(sender, signal, **arguments):
            committed = Suppression.objects.exists() or FeedbackEvent.objects.exists()
            calls.append((name, sender, {**arguments, "committed": committed}))
        return receive

    receivers = {name: receiver_for(name) for name in NAMES}
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver)
    yield calls
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


@pytest.fixture
def message():
    return send_email(to=["r@example.org"], subject="s", text="x", kind="marketing",
                      integration=make_integration())


def test_a_hard_bounce_fires_bounced_and_suppressed_once_each(heard, message):
    for _ in range(2):  # the same report read twice is one event
        feedback.record_bounce(message, "r@example.org", hard=True, enhanced_code="5.1.1",
                               diagnostic="550 5.1.1 no such user", digest="d1")
    assert [name for name, _, _ in heard] == ["recipient_suppressed", "message_bounced"]
    (_, sender, suppressed), (_, bounced_sender, bounced) = heard
    assert sender is Suppression and bounced_sender is Message
    assert suppressed["address"] == "r@example.org" and suppressed["reason"] == "hard_bounce"
    assert suppressed["scope"] == "all" and suppressed["suppression"].pk
    assert bounced["message"].pk == message.pk and bounced["recipient"] == "r@example.org"
    assert (bounced["bounce_type"], bounced["status"]) == ("hard", "5.1.1")
    assert bounced["diagnostic"] == "550 5.1.1 no such user"
    assert isinstance(bounced["event"], FeedbackEvent)
    assert all(arguments["committed"] for _, _, arguments in heard)


def test_a_soft_bounce_fires_bounced_but_suppresses_nothing_yet(heard, message):
    feedback.record_bounce(message, "r@example.org", hard=False, enhanced_code="4.2.2", digest="d2")
    [(name, _, arguments)] = heard
    assert name == "message_bounced" and arguments["bounce_type"] == "soft"


def test_a_complaint_fires_complained_and_suppressed(heard, message):
    feedback.record_complaint(message, "r@example.org", digest="d3")
    feedback.record_complaint(message, "r@example.org", digest="d3")
    names = [name for name, _, _ in heard]
    assert names == ["recipient_suppressed", "message_complained"]
    complained = heard[1][2]
    assert complained["message"].pk == message.pk and complained["recipient"] == "r@example.org"
    assert complained["event"].kind == "complaint"


def test_an_unsubscribe_fires_unsubscribed_with_address_message_and_scope(heard, message):
    feedback.record_unsubscribe(message, "R@example.org")
    feedback.record_unsubscribe(message, "R@example.org")
    names = [name for name, _, _ in heard]
    assert names == ["recipient_suppressed", "recipient_unsubscribed"]
    unsubscribed = heard[1][2]
    assert unsubscribed["address"] == "r@example.org"
    assert unsubscribed["message"].pk == message.pk and unsubscribed["scope"] == "marketing"


def test_nothing_fires_when_the_transaction_rolls_back(heard, message):
    with pytest.raises(RuntimeError), transaction.atomic():
        feedback.record_bounce(message, "r@example.org", hard=True, digest="d4")
        suppressions.suppress("manual@example.org", "manual", by="staff")
        raise RuntimeError("the caller's transaction fails")
    assert heard == []
