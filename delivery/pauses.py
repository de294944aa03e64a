"""An integration's throttling pause, shared by every worker: Redis for drains, the row for pages.

A throttling reply (delivery/throttling.py) pauses the whole integration: a key in Redis
with the pause's length as its time to live, which every drain reads before each message
(in the rate limiter's script when the integration has limits, else at most every
PAUSE_CHECK_SECONDS), and `throttled_until` on the integration's row, which a drain reads
before claiming anything and the admin and the portal show.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from django.utils import timezone

from integrations.failures.errors import DeliveryError
from integrations.health import mark_throttled
from integrations.models import SmtpIntegration
from notifuse_smtp.redis_connection import redis_client

from . import wakeups
from .throttling import Throttle

logger = logging.getLogger("delivery.engine")

# How stale a drain's look at the pause of an integration without limits may be. Reading it
# before every message would cost a Redis round trip per message; this costs one per
# PAUSE_CHECK_SECONDS of sending, and a drain on another worker sends for at most this long
# into a pause (where the provider, still throttling, refuses it again).
PAUSE_CHECK_SECONDS = 0.05
# A throttling reply this soon after the previous pause ended is the same throttling going
# on: it takes the rule's next, longer pause.
STRIKE_MEMORY_SECONDS = 300.0

# KEYS: the pause key. ARGV: the pause in ms, the reason. A pause never shortens another.
EXTEND = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
end
"""


def pause_key(integration_id: int) -> str:
    return f"notifuse:paused:{integration_id}"


def start_pause(
    integration: SmtpIntegration, throttle: Throttle, error: DeliveryError
) -> datetime:
    """Pause the integration for the throttling's time; return when the pause ends."""
    seconds = throttle.pause_seconds(_strike(integration.pk, throttle))
    until = timezone.now() + timedelta(seconds=seconds)
    reason = f"{throttle.what}: {error.summary}"[:1000]
    try:
        redis_client().eval(EXTEND, 1, pause_key(integration.pk), round(seconds * 1000),
                            reason)
    except redis.RedisError as exc:
        # The row still holds the pause: drains read it before claiming.
        logger.warning("integration %s: pause not shared through Redis (%s)",
                       integration.pk, exc.__class__.__name__)
    mark_throttled(integration, until, reason)
    logger.warning("integration %s paused for %.0f s: %s", integration.pk, seconds, reason)
    return until


def _strike(integration_id: int, throttle: Throttle) -> int:
    """How many times in a row this throttling has come (1: the first)."""
    key = f"notifuse:throttle-strikes:{integration_id}:{throttle.name}"
    memory_ms = round((max(throttle.pauses) + STRIKE_MEMORY_SECONDS) * 1000)
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.pexpire(key, memory_ms)
            strike, _ = pipe.execute()
    except redis.RedisError:
        return 1
    return int(strike)


def paused_for(integration_id: int) -> float:
    """Seconds the integration's pause still lasts (0: not paused, or Redis is away)."""
    try:
        remaining_ms = redis_client().pttl(pause_key(integration_id))
    except redis.RedisError:
        return 0.0  # the row, read before each claim, still holds a pause
    return max(remaining_ms, 0) / 1000


def wake_after_pause(integration: SmtpIntegration) -> None:
    """One wake-up for when the pause ends, however many drains found it meanwhile."""
    wakeups.publish_at(integration.pk, wakeups.wake_time(integration.throttled_until))
