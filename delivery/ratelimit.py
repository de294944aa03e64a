"""Per-integration limits that hold over every rolling window, shared by all workers (Redis).

The per-minute limit is a pace: with a limit of N per window W, messages leave at least
(W + PACE_MARGIN_SECONDS) / N seconds apart, whichever worker sends them. It is the generic
cell rate algorithm (GCRA) with no burst tolerance: one value per integration, the earliest
time the next message may leave (its "theoretical arrival time"); a message may leave when
that time has come, and pushes it one interval on. Why this shape:

- N + 1 messages spaced that far apart span more than W, so every rolling span of W holds at
  most N, not only calendar minutes: fixed windows let 2N through around a boundary.
- Sends are spread evenly instead of N at once then a wait, which is how Exchange Online
  wants its 30 a minute (it answers bursts with `421 4.4.2`).
- A burst tolerance would break the first point (a full burst at the end of one window plus
  the steady pace in the next), so there is none.
- The margin covers the spread between deciding to send and the provider receiving the
  message: a message that took longer to arrive than the one N turns later must not bring
  N + 1 arrivals into one window.
- One key and one atomic script per message; the clock is Redis's, so workers on several
  hosts agree on it.

The per-day limit is a moving window (the `limits` package's log of timestamps in Redis):
exact over every rolling 24 hours, and it counts a message as its number of recipients
when the integration says so (Exchange Online: 10,000 recipients a day; Gmail: 2,000
messages).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import lru_cache

import redis
from django.conf import settings
from limits import RateLimitItemPerDay
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from integrations.models import DailyLimitCounts, SmtpIntegration
from notifuse_smtp.redis_connection import redis_client

from .pauses import pause_key

PACE_MARGIN_SECONDS = 0.5
# The wait answered for a full day window is at least this (the log says when its oldest
# entry ages out; a message with many recipients may need a few more to).
MIN_DAY_WAIT_SECONDS = 1.0

# KEYS: the pace key, the integration's pause key. ARGV: the interval in ms (0: no pace),
# the time in ms ('' for Redis's own clock). Answers the ms to wait; 0 means "go", counted.
PACE = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local interval = tonumber(ARGV[1])
if interval == 0 then return 0 end
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_at > now then return next_at - now end
redis.call('SET', KEYS[1], now + interval, 'PX', interval + 1000)
return 0
"""


def pace_interval(per_minute: int) -> float:
    """Seconds between two messages of an integration limited to `per_minute`."""
    return (settings.DELIVERY_RATE_MINUTE_SECONDS + PACE_MARGIN_SECONDS) / per_minute


def claim_size(integration: SmtpIntegration, turn_seconds: float, batch_size: int) -> int:
    """How many messages to claim at once: what the pace lets through in one drain turn.

    Claiming more would hold messages in `sending` only to give them back.
    """
    if not integration.rate_limit_per_minute:
        return batch_size
    per_turn = math.ceil(turn_seconds / pace_interval(integration.rate_limit_per_minute))
    return max(1, min(batch_size, per_turn))


class RateLimiter:
    """`acquire()` counts one message, or says how long to wait for its turn."""

    def __init__(
        self, client: redis.Redis, clock: Callable[[], float] | None = None
    ) -> None:
        self.client = client
        # None: Redis's clock, shared by every host. Tests pass a simulated one.
        self.clock = clock
        self.pace = client.register_script(PACE)
        storage = RedisStorage(settings.REDIS_URL, connection_pool=client.connection_pool)
        self.day_window = MovingWindowRateLimiter(storage)

    def acquire(self, integration: SmtpIntegration, recipients: int = 1) -> float:
        """0 when the message may go now (it is counted), else the seconds to wait.

        The integration's throttling pause is read in the same round trip as the pace.
        """
        per_minute = integration.rate_limit_per_minute
        interval_ms = round(pace_interval(per_minute) * 1000) if per_minute else 0
        now = "" if self.clock is None else round(self.clock() * 1000)
        keys = [f"notifuse:pace:{integration.pk}", pause_key(integration.pk)]
        wait_ms = int(self.pace(keys=keys, args=[interval_ms, now]))
        if wait_ms or not integration.rate_limit_per_day:
            return wait_ms / 1000
        return self._day_wait(integration, recipients)

    def _day_wait(self, integration: SmtpIntegration, recipients: int) -> float:
        limit = integration.rate_limit_per_day
        by_recipients = integration.daily_limit_counts == DailyLimitCounts.RECIPIENTS
        # A message with more recipients than the whole limit could never go: it takes all.
        cost = min(max(recipients, 1), limit) if by_recipients else 1
        item = RateLimitItemPerDay(limit)
        identity = ("notifuse-day", str(integration.pk), integration.daily_limit_counts)
        if self.day_window.hit(item, *identity, cost=cost):
            return 0.0
        reset_at = self.day_window.get_window_stats(item, *identity).reset_time
        return max(reset_at - time.time(), MIN_DAY_WAIT_SECONDS)

    def day_usage(self, integration: SmtpIntegration) -> int:
        """Messages or recipients counted in the last 24 hours (for the dashboard)."""
        limit = integration.rate_limit_per_day
        if not limit:
            return 0
        item = RateLimitItemPerDay(limit)
        identity = ("notifuse-day", str(integration.pk), integration.daily_limit_counts)
        return limit - self.day_window.get_window_stats(item, *identity).remaining


@lru_cache(maxsize=1)
def shared_limiter() -> RateLimiter:
    return RateLimiter(redis_client())
