"""Nothing lost, nothing sent twice: killed workers, a wiped broker, repeated wake-ups."""

from __future__ import annotations

from collections import Counter

import pytest
import redis
from django.conf import settings

from delivery.api import send_bulk, send_email
from delivery.models import Message, Status
from delivery.tasks import drain_integration
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db(transaction=True)

RECOVERY = {"WITH_BEAT": "1", "DELIVERY_SWEEP_SECONDS": "1", "DELIVERY_LEASE_SECONDS": "3"}


def bulk(count: int, integration) -> list[Message]:
    return send_bulk(
        [{"to": [f"user{n}@example.org"], "subject": f"n{n}", "text": "hi",
          "integration": integration} for n in range(count)],
        kind="transactional",
    )


def all_sent(count: int, timeout: float = 120):
    wait_until(
        lambda: Message.objects.filter(status=Status.SENT).count() == count,
        timeout=timeout,
        interval=0.2,
        message=f"not all {count} messages were sent: "
        f"{dict(Counter(Message.objects.values_list('status', flat=True)))}",
    )


def test_a_worker_killed_mid_send_loses_nothing_and_repeats_at_most_what_was_in_flight(
    start_worker,
):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        worker = start_worker(DELIVERY_BATCH_SIZE="50", DELIVERY_LEASE_SECONDS="3")
        bulk(2000, integration)
        wait_until(lambda: len(server.messages) >= 300, timeout=60, message="no progress")
        worker.kill()
        in_flight = Message.objects.filter(status=Status.SENDING).count()
        start_worker(hostname="recovery@%h", **RECOVERY)
        all_sent(2000)
        received = Counter(m.rcpt_tos[0] for m in server.messages)
    duplicates = sum(n - 1 for n in received.values())
    print(f"\nkilled with {in_flight} in flight; delivered twice: {duplicates}")
    assert len(received) == 2000
    assert duplicates <= in_flight


def test_a_wiped_broker_loses_nothing_the_sweeper_delivers_it_all(start_worker):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        bulk(2000, integration)  # wake-ups are published, but no worker runs yet
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
        start_worker(**RECOVERY)
        all_sent(2000)
        assert len({m.rcpt_tos[0] for m in server.messages}) == 2000
        assert len(server.messages) == 2000


def test_the_same_idempotency_key_and_the_same_task_twice_send_once(start_worker):
    with SmtpTestServer() as server:
        integration = make_integration(server)
        start_worker()
        first = send_email(to="bob@example.org", subject="Order 1", text="x", idempotency_key="o1")
        again = send_email(to="bob@example.org", subject="Order 1", text="x", idempotency_key="o1")
        assert first.pk == again.pk
        drain_integration.delay(integration.pk)
        drain_integration.delay(integration.pk)
        server.wait_for_messages(1)
        all_sent(1)
        # Both extra wake-ups were handled (the queue is empty) and nothing more arrived.
        wait_until(lambda: redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(
            settings.CELERY_TASK_DEFAULT_QUEUE) == 0, timeout=10)
        assert len(server.messages) == 1
