"""Per-integration rate limits in Redis, driven by a simulated clock (no sleeping)."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from delivery.ratelimit import RateLimiter


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def drain_with_limit(limiter: RateLimiter, clock: FakeClock, count: int, **limits) -> float:
    """Send `count` messages as a worker would, waiting when told; return simulated seconds."""
    start, sent = clock.now, 0
    while sent < count:
        wait = limiter.acquire(4242, limits.get("per_minute"), limits.get("per_day"))
        if wait:
            clock.now += wait
        else:
            sent += 1
    return clock.now - start


def test_120_messages_at_60_per_minute_take_about_two_minutes_and_none_is_refused():
    client = redis.Redis.from_url(settings.REDIS_URL)
    clock = FakeClock(1_700_000_000.0 - (1_700_000_000.0 % 60))  # start of a minute
    limiter = RateLimiter(client, clock=clock)
    elapsed = drain_with_limit(limiter, clock, 120, per_minute=60)
    assert 60 <= elapsed <= 120, elapsed


def test_a_full_window_answers_the_seconds_until_it_rolls():
    client = redis.Redis.from_url(settings.REDIS_URL)
    clock = FakeClock(1_700_000_010.0 - (1_700_000_010.0 % 60) + 10)
    limiter = RateLimiter(client, clock=clock)
    assert limiter.acquire(4343, 2, None) == 0
    assert limiter.acquire(4343, 2, None) == 0
    assert limiter.acquire(4343, 2, None) == 50.0


def test_the_day_limit_holds_mail_until_the_next_day():
    client = redis.Redis.from_url(settings.REDIS_URL)
    clock = FakeClock(86400 * 20000 + 3600)
    limiter = RateLimiter(client, clock=clock)
    assert limiter.acquire(4444, None, 1) == 0
    assert limiter.acquire(4444, None, 1) == 86400 - 3600


def test_no_limits_means_no_waiting_and_no_redis_keys():
    client = redis.Redis.from_url(settings.REDIS_URL)
    limiter = RateLimiter(client)
    assert limiter.acquire(4545, None, None) == 0
    assert not client.keys("notifuse:rate:4545:*")


@pytest.mark.django_db
def test_mail_over_the_limit_waits_in_the_queue_and_is_not_failed():
    from delivery import engine
    from delivery.api import send_email
    from delivery.models import Message, Status
    from tests.factories import make_integration
    from tests.support.smtp_servers import SmtpTestServer

    with SmtpTestServer() as server:
        # A day window: the test cannot straddle its boundary the way it could a minute's.
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
def test_a_batch_halted_by_a_failed_login_counts_only_the_message_it_tried():
    # The next message's turn was counted in the window before the batch saw it was halted.
    from delivery import engine
    from delivery.api import send_email
    from delivery.ratelimit import shared_limiter
    from tests.factories import make_integration
    from tests.support.smtp_servers import SmtpTestServer

    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server, password="wrong", rate_limit_per_day=100)
        for n in range(3):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        engine.drain(integration.pk)
    client = shared_limiter().client
    [key] = client.keys(f"notifuse:rate:{integration.pk}:day:*")
    assert int(client.get(key)) == 1


@pytest.mark.django_db
def test_when_the_limit_cannot_be_checked_the_batch_waits_and_nothing_is_stuck(monkeypatch):
    # A Redis error escaped the batch: its messages stayed in `sending` until their lease
    # expired.
    from delivery import batch_session, engine
    from delivery.api import send_email
    from delivery.models import Message, Status
    from tests.factories import make_integration
    from tests.support.smtp_servers import SmtpTestServer, unused_port

    unreachable = RateLimiter(redis.Redis(port=unused_port(), socket_connect_timeout=1))
    monkeypatch.setattr(batch_session, "shared_limiter", lambda: unreachable)
    with SmtpTestServer() as server:
        integration = make_integration(server, rate_limit_per_day=100)
        for n in range(3):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        engine.drain(integration.pk)
        assert server.messages == []
    assert sorted(Message.objects.values_list("status", flat=True)) == [Status.QUEUED] * 3
    assert not Message.objects.filter(attempt_count__gt=0).exists()
