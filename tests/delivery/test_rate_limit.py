"""Per-integration limits in Redis: held over every rolling window, paced evenly, shared."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from delivery.ratelimit import RateLimiter, claim_size, pace_interval
from integrations.models import SmtpIntegration


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limited(pk: int, **fields) -> SmtpIntegration:
    """An unsaved integration: the limiter reads only its id and limits."""
    return SmtpIntegration(pk=pk, **fields)


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def send_times(limiter: RateLimiter, clock: FakeClock, integration, count: int) -> list[float]:
    """Send `count` messages as fast as the limiter lets them; return when each went."""
    times: list[float] = []
    while len(times) < count:
        wait = limiter.acquire(integration)
        if wait:
            clock.now += wait
        else:
            times.append(clock.now)
    return times


def most_in_any_span(times: list[float], span: float) -> int:
    """The most sends in any half-open span [t, t + span) of the given length."""
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + span) for i, t in enumerate(times))


def test_a_limit_of_40_a_minute_holds_over_every_rolling_minute_across_boundaries():
    # A fixed window let 80 through within one minute around a boundary.
    minute_start = 1_700_000_000.0 - (1_700_000_000.0 % 60)
    clock = FakeClock(minute_start - 5)  # across three minute boundaries
    limiter = RateLimiter(client(), clock=clock)
    times = send_times(limiter, clock, limited(4242, rate_limit_per_minute=40), 130)
    assert most_in_any_span(times, 60.0) == 40
    assert times[-1] - times[0] > 3 * 60


def test_the_pace_spreads_sends_evenly_instead_of_bursting():
    clock = FakeClock()
    limiter = RateLimiter(client(), clock=clock)
    times = send_times(limiter, clock, limited(4243, rate_limit_per_minute=30), 10)
    gaps = {round(b - a, 3) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {round(pace_interval(30), 3)}
    assert 2.0 < pace_interval(30) < 2.1  # 30 a minute, with the margin for arrival spread


def test_a_waiting_message_is_told_when_its_turn_comes_and_is_not_counted():
    clock = FakeClock()
    limiter = RateLimiter(client(), clock=clock)
    integration = limited(4244, rate_limit_per_minute=60)
    assert limiter.acquire(integration) == 0
    clock.now += 0.25
    assert limiter.acquire(integration) == pytest.approx(pace_interval(60) - 0.25, abs=0.002)
    assert limiter.acquire(integration) == pytest.approx(pace_interval(60) - 0.25, abs=0.002)
    clock.now += pace_interval(60)
    assert limiter.acquire(integration) == 0


def test_workers_share_one_pace_on_redis_s_clock():
    # Two limiters (two processes) with no clock of their own: the second waits its turn.
    first, second = RateLimiter(client()), RateLimiter(client())
    integration = limited(4245, rate_limit_per_minute=6)
    assert first.acquire(integration) == 0
    assert second.acquire(integration) == pytest.approx(pace_interval(6), abs=0.5)


def test_the_day_limit_counts_recipients_when_so_set():
    limiter = RateLimiter(client())
    integration = limited(4246, rate_limit_per_day=5, daily_limit_counts="recipients")
    assert limiter.acquire(integration, recipients=3) == 0
    assert limiter.acquire(integration, recipients=2) == 0
    # Over a rolling 24 hours: the next recipient waits for the first ones to age out.
    assert 86_390 < limiter.acquire(integration, recipients=1) <= 86_400
    assert limiter.day_usage(integration) == 5


def test_the_day_limit_counts_messages_by_default():
    limiter = RateLimiter(client())
    integration = limited(4247, rate_limit_per_day=2)
    assert limiter.acquire(integration, recipients=50) == 0
    assert limiter.acquire(integration, recipients=50) == 0
    assert limiter.acquire(integration, recipients=1) > 86_000
    assert limiter.day_usage(integration) == 2


def test_a_message_with_more_recipients_than_the_day_limit_goes_when_the_day_is_empty():
    limiter = RateLimiter(client())
    integration = limited(4248, rate_limit_per_day=3, daily_limit_counts="recipients")
    assert limiter.acquire(integration, recipients=10) == 0
    assert limiter.acquire(integration, recipients=1) > 86_000


def test_a_paused_integration_waits_for_its_pause_in_the_same_round_trip():
    redis_client = client()
    redis_client.set("notifuse:paused:4249", "throttled", px=30_000)
    limiter = RateLimiter(redis_client)
    assert 29 < limiter.acquire(limited(4249, rate_limit_per_day=100)) <= 30
    assert not redis_client.keys("LIMITS*4249*")  # the day was not counted


def test_a_paced_integration_claims_only_what_one_drain_turn_can_send():
    assert claim_size(limited(1, rate_limit_per_minute=30), 2.0, 100) == 1
    assert claim_size(limited(1, rate_limit_per_minute=600), 2.0, 100) == 20
    assert claim_size(limited(1, rate_limit_per_minute=100_000), 2.0, 100) == 100
    assert claim_size(limited(1, rate_limit_per_day=10), 2.0, 100) == 100
    assert claim_size(limited(1), 2.0, 100) == 100
