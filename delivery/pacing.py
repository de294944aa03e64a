"""A message's turn on its integration: not while it is paused, and within its limits."""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

from integrations.models import SmtpIntegration

from .pauses import PAUSE_CHECK_SECONDS, paused_for
from .ratelimit import shared_limiter

logger = logging.getLogger("delivery.engine")

# A wait this short is slept where the worker is: cheaper than giving the batch back and
# waking a worker for it, which sub-second pacing would otherwise cost per message. The
# worker sleeps at most SLEEP_BUDGET_SECONDS for one message (other workers may keep
# taking the turns it waits for), then gives the batch back.
SLEEP_IN_PLACE_SECONDS = 0.5
SLEEP_BUDGET_SECONDS = 1.0


class Turns:
    """Asked before each message of a drain: may it go now, or how long must it wait?

    An integration without limits costs no Redis round trip per message: its pause is read
    at most every PAUSE_CHECK_SECONDS.
    """

    def __init__(self, integration: SmtpIntegration) -> None:
        self.integration = integration
        self.pause_checked_at = float("-inf")

    def wait(self, recipients: int) -> float:
        """0 when the message may go now (it is counted), else the seconds to wait."""
        slept = 0.0
        while True:
            wait = self._wait_once(recipients)
            if not 0 < wait <= SLEEP_IN_PLACE_SECONDS or slept + wait > SLEEP_BUDGET_SECONDS:
                return wait
            time.sleep(wait)
            slept += wait

    def _wait_once(self, recipients: int) -> float:
        if not self.integration.has_limits:
            return self.pause_wait()
        try:
            return shared_limiter().acquire(self.integration, recipients)
        except redis.RedisError as exc:
            # The limit cannot be checked, so it cannot be kept: the batch waits (given
            # back, nothing lost) rather than risk the provider's throttling or a suspension.
            logger.warning("integration %s: rate limit not checked (%s); its mail waits",
                           self.integration.pk, exc.__class__.__name__)
            return settings.DELIVERY_SWEEP_SECONDS

    def pause_wait(self) -> float:
        """Seconds the integration's throttling pause still lasts (0: none), read from Redis
        at most every PAUSE_CHECK_SECONDS; asked before connecting too, so that a pause for
        too many connections is not answered with one more."""
        now = time.monotonic()
        if now - self.pause_checked_at < PAUSE_CHECK_SECONDS:
            return 0.0
        self.pause_checked_at = now
        return paused_for(self.integration.pk)
