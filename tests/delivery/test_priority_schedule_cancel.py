"""Transactional mail first, sends at a set time, and cancelling what no worker has taken."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery import engine
from delivery.api import CannotCancel, InvalidMessage, cancel, send_bulk, send_email
from delivery.lifecycle.claiming import claim_batch
from delivery.models import Message, Priority, Status
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db

BACKLOG = 10_000


def test_a_transactional_message_jumps_a_marketing_backlog_at_the_next_free_slot(settings):
    # 30 a "minute" of 3 s: a slot every 0.1 s. Each drain claims what one turn can send.
    settings.DELIVERY_RATE_MINUTE_SECONDS = 2.5
    with SmtpTestServer() as server:
        integration = make_integration(server, rate_limit_per_minute=30)
        send_bulk([{"to": [f"reader{n}@example.org"], "subject": "News", "text": "x",
                    "integration": integration} for n in range(BACKLOG)])
        engine.drain(integration.pk)  # a turn's worth of newsletters, the rest wait
        before = len(server.wait_for_messages(1))
        reset = send_email(to=["ada@example.org"], subject="Password reset", text="x",
                           integration=integration)
        queued_at = timezone.now()
        assert reset.priority > Message.objects.filter(kind="marketing").first().priority
        Message.objects.filter(status=Status.QUEUED).update(next_attempt_at=timezone.now())
        engine.drain(integration.pk)
        received = server.wait_for_messages(before + 2)
    subjects = [r.parsed["Subject"] for r in received]
    assert subjects[before] == "Password reset", "it left in the next free slot"
    assert set(subjects[before + 1:]) == {"News"}, "marketing resumed after it"
    reset.refresh_from_db()
    assert reset.sent_at - queued_at < timedelta(seconds=2)
    assert Message.objects.filter(status=Status.QUEUED, kind="marketing").exists()


def test_claiming_takes_the_highest_priority_first_then_the_longest_due():
    integration = make_integration()
    low = send_email(to=["a@example.org"], subject="low", text="x", priority="low",
                     integration=integration)
    marketing = send_email(to=["b@example.org"], subject="m", text="x", kind="marketing",
                           integration=integration)
    urgent = send_email(to=["c@example.org"], subject="u", text="x", priority=Priority.URGENT,
                        integration=integration)
    normal_later = send_email(to=["d@example.org"], subject="n", text="x", priority=20,
                              integration=integration)
    order = [claim_batch(integration.pk, 1)[0].pk for _ in range(4)]
    assert order == [urgent.pk, marketing.pk, normal_later.pk, low.pk]
    assert claim_batch(integration.pk, 1) == []


def test_a_batch_of_one_takes_the_most_urgent_message():
    integration = make_integration()
    send_bulk([{"to": [f"r{n}@example.org"], "subject": "m", "text": "x",
                "integration": integration} for n in range(50)])
    urgent = send_email(to=["x@example.org"], subject="u", text="x", integration=integration)
    [claimed] = claim_batch(integration.pk, 1)
    assert claimed.pk == urgent.pk


@pytest.mark.parametrize("priority, problem", [
    ("sometimes", "not a number from 0 to 100"),
    (101, "not a number from 0 to 100"),
    (True, "not a number from 0 to 100"),
])
def test_a_bad_priority_is_refused_naming_the_field(priority, problem):
    integration = make_integration()
    with pytest.raises(InvalidMessage) as refused:
        send_email(to=["a@example.org"], subject="s", text="x", priority=priority,
                   integration=integration)
    assert refused.value.field == "priority" and problem in refused.value.problem


@pytest.mark.parametrize("send_at, problem", [
    (timezone.now().replace(tzinfo=None), "needs a time zone"),
    ("tomorrow", "not an ISO 8601"),
    (42, "must be a datetime"),
])
def test_a_bad_send_at_is_refused_naming_the_field(send_at, problem):
    integration = make_integration()
    with pytest.raises(InvalidMessage) as refused:
        send_email(to=["a@example.org"], subject="s", text="x", send_at=send_at,
                   integration=integration)
    assert refused.value.field == "send_at" and problem in refused.value.problem
    assert not Message.objects.exists()


def test_a_scheduled_message_leaves_at_its_time_and_not_before(transactional_db):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        send_at = timezone.now() + timedelta(seconds=1.5)
        message = send_email(to=["a@example.org"], subject="later", text="x", send_at=send_at,
                             integration=integration)
        assert message.next_attempt_at == send_at
        assert list(Message.objects.scheduled()) == [message]
        assert engine.drain(integration.pk) == 0  # not before its time
        assert server.messages == []

        def sent() -> bool:
            engine.drain(integration.pk)
            return bool(server.messages)

        wait_until(sent, timeout=10, interval=0.1)
        arrived = timezone.now()
    message.refresh_from_db()
    assert message.status == Status.SENT and message.sent_at >= send_at
    assert arrived - send_at < timedelta(seconds=2), "it left within two seconds of its time"


def test_send_bulk_takes_send_at_and_priority_for_every_message():
    integration = make_integration()
    send_at = timezone.now() + timedelta(hours=1)
    queued = send_bulk([{"to": ["a@example.org"], "subject": "s", "text": "x",
                         "integration": integration},
                        {"to": ["b@example.org"], "subject": "s", "text": "x", "priority": 5,
                         "integration": integration}],
                       send_at=send_at, priority="high")
    assert [(m.send_at, m.priority) for m in queued] == [(send_at, 30), (send_at, 5)]
    assert Message.objects.scheduled().count() == 2


def test_cancelling_queued_and_scheduled_mail_and_refusing_mail_in_flight():
    with SmtpTestServer() as server:
        integration = make_integration(server)
        queued = send_email(to=["a@example.org"], subject="q", text="x", integration=integration)
        scheduled = send_email(to=["b@example.org"], subject="s", text="x",
                               send_at=timezone.now() + timedelta(days=1),
                               integration=integration)
        assert cancel(queued).status == Status.CANCELLED
        assert cancel(scheduled.pk).status == Status.CANCELLED
        in_flight = send_email(to=["c@example.org"], subject="f", text="x",
                               integration=integration)
        [claimed] = claim_batch(integration.pk, 10)
        assert claimed.pk == in_flight.pk
        with pytest.raises(CannotCancel, match="being sent right now"):
            cancel(in_flight)
        with pytest.raises(CannotCancel, match="is cancelled"):
            cancel(queued)
        Message.objects.filter(pk=in_flight.pk).update(status=Status.QUEUED)
        engine.drain(integration.pk)
        assert [r.rcpt_tos for r in server.wait_for_messages(1)] == [["c@example.org"]]
    assert len(server.messages) == 1  # the cancelled ones were never claimed
    stored = Message.objects.get(pk=queued.pk)
    assert stored.cancelled_by == "app code" and stored.cancelled_at is not None


def test_staff_cancel_from_the_portal_records_who(admin_client, admin_user):
    integration = make_integration()
    message = send_email(to=["a@example.org"], subject="q", text="x", integration=integration)
    response = admin_client.post(f"/portal/messages/{message.pk}/cancel/", follow=True)
    assert b"Cancelled: it will not be sent." in response.content
    message.refresh_from_db()
    assert (message.status, message.cancelled_by) == (Status.CANCELLED, admin_user.username)
    again = admin_client.post(f"/portal/messages/{message.pk}/cancel/", follow=True)
    assert b"Not cancelled: message" in again.content
