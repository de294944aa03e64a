"""A drain starts no message its claim's lease cannot cover: past the lease the sweeper gives
the message to another worker, and sending it here too would send it twice."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from delivery import engine
from delivery.api import send_bulk
from delivery.batch_session import BatchSession
from delivery.lifecycle.claiming import claim_batch
from delivery.lifecycle.transitions import give_back
from delivery.models import Message, Status
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db

LEASE = 1.5
PER_MESSAGE = 0.3


def _queue(integration, count: int) -> None:
    send_bulk([{"to": [f"reader{n}@example.org"], "subject": f"n{n}", "text": "x",
                "integration": integration} for n in range(count)], kind="transactional")


def test_a_slow_server_makes_the_batch_stop_before_its_lease_ends(settings):
    settings.DELIVERY_LEASE_SECONDS = LEASE
    with SmtpTestServer(data_delay=PER_MESSAGE) as server:
        integration = make_integration(server)
        _queue(integration, 8)  # 8 × 0.3 s would outlast the 1.5 s lease
        batch = claim_batch(integration.pk, 8)
        started = time.monotonic()
        session = BatchSession(integration)
        session.deliver(batch)
        session.finish()
        elapsed = time.monotonic() - started
        sent_first = Message.objects.filter(status=Status.SENT).count()
        waiting = Message.objects.filter(status=Status.QUEUED)
        assert elapsed < LEASE, f"the batch ran {elapsed:.2f} s, past its {LEASE} s lease"
        assert 0 < sent_first < 8
        # Given back untried: not counted as an attempt, claim released.
        assert {(m.attempt_count, m.claim_token) for m in waiting} == {(0, None)}
        Message.objects.filter(status=Status.QUEUED).update(next_attempt_at=batch[0].created_at)
        while Message.objects.filter(status=Status.QUEUED).exists():
            engine.drain(integration.pk)
        received = Counter(m.rcpt_tos[0] for m in server.messages)
    assert len(received) == 8 and set(received.values()) == {1}


def test_giving_back_leaves_alone_a_message_another_worker_claimed_since(settings):
    integration = make_integration()
    _queue(integration, 1)
    [mine] = claim_batch(integration.pk, 1)
    # The lease ran out: the sweeper queued it again, and another worker claimed it.
    Message.objects.filter(pk=mine.pk).update(status=Status.QUEUED, claim_token=None)
    [theirs] = claim_batch(integration.pk, 1)
    give_back([mine], retry_at=mine.created_at)
    current = Message.objects.get(pk=mine.pk)
    assert (current.status, current.claim_token) == (Status.SENDING, theirs.claim_token)
