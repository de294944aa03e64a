"""While a drain runs, send_email publishes no wake-ups, and no mail is stranded by that."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery import engine, wakeups
from delivery.api import send_email
from delivery.models import Message, Status
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[int]:
    """Integration ids a wake-up was published for (instead of reaching the broker)."""
    calls: list[int] = []
    monkeypatch.setattr(wakeups, "publish", lambda pk, **_: calls.append(pk))
    return calls


def test_no_wake_up_is_published_while_a_drain_is_announced(published):
    integration = make_integration()
    wakeups.clear_pending(integration.pk)
    wakeups.announce_draining(integration.pk)
    wakeups.publish_coalesced(integration.pk)
    assert published == []
    wakeups.end_draining(integration.pk)  # also clears the flag set meanwhile
    wakeups.publish_coalesced(integration.pk)
    assert published == [integration.pk]


def test_mail_queued_just_after_the_last_empty_claim_is_claimed_by_the_last_look(
    published, monkeypatch
):
    real_claim = engine.claim_batch
    queued: list[Message] = []

    def claim_then_queue(integration_id: int, limit: int):
        batch = real_claim(integration_id, limit)
        if not batch and not queued:
            # Committed after the drain found nothing, while it still announced itself.
            queued.append(send_email(to="bob@example.org", subject="Hi", text="x",
                                     integration=integration))
            wakeups.publish_coalesced(integration.pk)
        return batch

    monkeypatch.setattr(engine, "claim_batch", claim_then_queue)
    with SmtpTestServer() as server:
        integration = make_integration(server)
        engine.drain(integration.pk)
        assert published == []  # the producer saw the drain announced
        [message] = queued
        message.refresh_from_db()
        assert message.status == Status.SENT
        assert len(server.wait_for_messages(1)) == 1


def test_a_halted_drain_wakes_a_worker_only_for_mail_queued_while_it_ran(published):
    integration = make_integration()
    started = timezone.now()
    old = send_email(to="a@example.org", subject="given back", text="x", integration=integration)
    Message.objects.filter(pk=old.pk).update(created_at=started - timedelta(seconds=1))
    turn = wakeups.DrainTurn(integration.pk, claim=list)
    turn.started = started
    turn.hand_on_after_halt()
    assert published == []  # what the drain gave back waits for its retry time
    send_email(to="b@example.org", subject="new", text="x", integration=integration)
    turn.hand_on_after_halt()
    assert published == [integration.pk]


def test_a_long_drain_hands_the_rest_to_a_new_task_so_other_mail_gets_a_turn(
    published, monkeypatch, settings
):
    settings.DELIVERY_BATCH_SIZE = 1
    monkeypatch.setattr(engine, "DRAIN_TURN_SECONDS", 0.0)
    with SmtpTestServer() as server:
        integration = make_integration(server)
        messages = [send_email(to=f"u{n}@example.org", subject="Hi", text="x",
                               integration=integration) for n in range(3)]
        assert engine.drain(integration.pk) == 1  # one batch, then its turn is over
        assert published == [integration.pk]
        statuses = sorted(Message.objects.filter(pk__in=[m.pk for m in messages])
                          .values_list("status", flat=True))
        assert statuses == [Status.QUEUED, Status.QUEUED, Status.SENT]


def test_drains_halted_for_the_same_moment_schedule_one_wake_up_for_it(published):
    integration = make_integration()
    turn = wakeups.wake_time(timezone.now() + timedelta(seconds=30)) + timedelta(milliseconds=1)
    for jitter_us in (0, 900, 4000):  # three drains waited for the same turn
        wakeups.publish_at(integration.pk, wakeups.wake_time(turn + timedelta(
            microseconds=jitter_us)))
    wakeups.publish_at(integration.pk, wakeups.wake_time(turn + timedelta(seconds=2)))
    assert published == [integration.pk, integration.pk]


def test_a_moment_whose_wake_up_came_can_be_scheduled_again(published):
    integration = make_integration()
    moment = wakeups.wake_time(timezone.now() + timedelta(milliseconds=30))
    wakeups.publish_at(integration.pk, moment)
    wait_until(lambda: timezone.now() > moment + timedelta(milliseconds=20))
    wakeups.publish_at(integration.pk, moment)  # a drain halted after that wake-up ran
    assert published == [integration.pk, integration.pk]


def test_wake_times_round_up_to_the_grain():
    moment = timezone.now()
    rounded = wakeups.wake_time(moment)
    assert moment <= rounded < moment + timedelta(milliseconds=wakeups.WAKE_GRAIN_MS)
    assert round(rounded.timestamp() * 1000) % wakeups.WAKE_GRAIN_MS == 0
    assert wakeups.wake_time(rounded) == rounded
