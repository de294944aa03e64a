"""Each integration's pace against its limits, and when its queue should be empty."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from delivery.ratelimit import pace_interval, shared_limiter
from integrations.models import SmtpIntegration

from .queries import age

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pace:
    """What an integration with limits sent within them, and how long its queue will take."""

    last_minute: int
    # Messages or recipients counted in the rolling day; None when Redis could not say.
    last_day: int | None
    empty_in: str


def add_pace(integrations: list[SmtpIntegration]) -> None:
    """Set `pace` on each integration with limits (None on the others).

    Needs the `sent_last_minute` and `queued` counts of `queries.integration_health`; reads
    the day's count from the limiter's Redis window, no database query per integration.
    """
    for integration in integrations:
        integration.pace = _pace(integration) if integration.has_limits else None


def _pace(integration: SmtpIntegration) -> Pace:
    per_minute = integration.rate_limit_per_minute
    seconds = integration.queued * pace_interval(per_minute) if per_minute else None
    return Pace(
        last_minute=integration.sent_last_minute,
        last_day=_day_usage(integration),
        empty_in=age(seconds) if seconds else "",
    )


def _day_usage(integration: SmtpIntegration) -> int | None:
    if not integration.rate_limit_per_day:
        return None
    try:
        return shared_limiter().day_usage(integration)
    except redis.RedisError as exc:
        logger.warning("day usage of integration %s not read (%s)", integration.pk,
                       exc.__class__.__name__)
        return None
