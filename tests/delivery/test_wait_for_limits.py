"""Mail over an integration's limits waits in the queue: drains and real workers."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings

from delivery import engine
from delivery.api import send_bulk, send_email
from delivery.models import Message, Status
from delivery.ratelimit import RateLimiter
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer, unused_port

# Workers run the "per minute" window shrunk to this, so that a limit held over every
# rolling window can be measured across several windows in seconds.
WINDOW_SECONDS = 4.0


def most_in_any_span(times: list[float], span: float) -> tuple[int, float]:
    """The most arrivals in any half-open span [t, t + span), and where that span starts."""
    times = sorted(times)
    counts = [(sum(1 for u in times[i:] if u < t + span), t) for i, t in enumerate(times)]
    return max(counts)


@pytest.mark.django_db
def test_mail_over_the_day_limit_waits_in_the_queue_and_is_not_failed():
    with SmtpTestServer() as server:
        integration = make_integration(server, rate_limit_per_day=2)
        for n in range(5):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        engine.drain(integration.pk)
    statuses = sorted(Message.objects.values_list("status", flat=True))
    assert statuses == [Status.QUEUED] * 3 + [Status.SENT] * 2
    waiting = Message.objects.filter(status=Status.QUEUED)
    assert all(m.attempts.count() == 0 and m.attempt_count == 0 for m in waiting)
    assert len(server.messages) == 2


@pytest.mark.django_db
def test_the_day_limit_counts_the_recipients_a_drain_sends_to():
    with SmtpTestServer() as server:
        integration = make_integration(server, rate_limit_per_day=5,
                                       daily_limit_counts="recipients")
        for n in range(4):
            send_email(to=[f"a{n}@example.org", f"b{n}@example.org"], subject="x", text="x")
        engine.drain(integration.pk)
    # 2 + 2 recipients went; 2 more would make 6.
    assert [len(m.rcpt_tos) for m in server.messages] == [2, 2]
    assert Message.objects.filter(status=Status.QUEUED, attempt_count=0).count() == 2


@pytest.mark.django_db
def test_a_message_that_was_not_tried_takes_no_turn_in_the_day():
    # A failed login submits nothing: the day's count stays as it was.
    from delivery.ratelimit import shared_limiter

    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server, password="wrong", rate_limit_per_day=100)
        for n in range(3):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        engine.drain(integration.pk)
    assert shared_limiter().day_usage(integration) == 0


@pytest.mark.django_db
def test_when_the_limit_cannot_be_checked_the_batch_waits_and_nothing_is_stuck(monkeypatch):
    # A Redis error escaped the batch: its messages stayed in `sending` until their lease
    # expired.
    from delivery import pacing

    unreachable = RateLimiter(redis.Redis(port=unused_port(), socket_connect_timeout=1))
    monkeypatch.setattr(pacing, "shared_limiter", lambda: unreachable)
    with SmtpTestServer() as server:
        integration = make_integration(server, rate_limit_per_day=100)
        for n in range(3):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        engine.drain(integration.pk)
        assert server.messages == []
    assert sorted(Message.objects.values_list("status", flat=True)) == [Status.QUEUED] * 3
    assert not Message.objects.filter(attempt_count__gt=0).exists()


@pytest.mark.django_db
def test_an_integration_without_limits_leaves_no_trace_in_the_limiter():
    client = redis.Redis.from_url(settings.REDIS_URL)
    with SmtpTestServer() as server:
        integration = make_integration(server)
        for n in range(3):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        engine.drain(integration.pk)
        assert len(server.messages) == 3
    assert not client.keys(f"notifuse:pace:{integration.pk}")
    assert not client.keys(f"LIMITS:LIMITER/notifuse-day/{integration.pk}/*")


@pytest.mark.django_db(transaction=True)
def test_a_limit_of_n_a_minute_holds_over_every_rolling_window_across_two_workers(
    start_worker,
):
    per_window, count = 8, 24
    with SmtpTestServer() as server:
        integration = make_integration(server, rate_limit_per_minute=per_window)
        for name in ("pace1@%h", "pace2@%h"):
            start_worker(hostname=name, DELIVERY_RATE_MINUTE_SECONDS=WINDOW_SECONDS)
        send_bulk([{"to": f"user{n}@example.org", "subject": "x", "text": "x"}
                   for n in range(count)], kind="marketing")
        arrivals = [m.arrived_at for m in server.wait_for_messages(count, timeout=60)]
    worst, start = most_in_any_span(arrivals, WINDOW_SECONDS)
    half, _ = most_in_any_span(arrivals, WINDOW_SECONDS / 2)
    first, last = min(arrivals), max(arrivals)
    boundaries = int(last // WINDOW_SECONDS) - int(first // WINDOW_SECONDS)
    print(f"\n{count} messages at {per_window} per {WINDOW_SECONDS:g} s window over "
          f"{last - first:.2f} s, across {boundaries} window boundaries: worst rolling "
          f"window {worst} (from +{start - first:.2f} s), worst half window {half}")
    assert boundaries >= 2
    assert worst <= per_window
    # Evenly paced: a burst of the whole limit would fill half a window.
    assert half <= per_window // 2 + 1
    sent = Message.objects.filter(integration=integration, status=Status.SENT)
    wait_until(lambda: sent.count() == count, message="not every message was recorded sent")


@pytest.mark.django_db(transaction=True)
def test_workers_count_the_day_limit_in_recipients_when_so_set(start_worker):
    with SmtpTestServer() as server:
        make_integration(server, rate_limit_per_day=5, daily_limit_counts="recipients")
        start_worker(hostname="day1@%h")
        start_worker(hostname="day2@%h")
        send_bulk([{"to": [f"a{n}@example.org", f"b{n}@example.org"], "subject": "x",
                    "text": "x"} for n in range(4)], kind="marketing")
        server.wait_for_messages(2)
        # The other two were handed back to wait for the rolling day, none of them tried.
        later = time.time() + 86_000

        def both_wait_for_the_day() -> bool:
            waiting = Message.objects.filter(status=Status.QUEUED, attempt_count=0)
            return [m.next_attempt_at.timestamp() > later for m in waiting] == [True, True]

        wait_until(both_wait_for_the_day, message="the two over the limit did not wait")
        assert [len(m.rcpt_tos) for m in server.messages] == [2, 2]
