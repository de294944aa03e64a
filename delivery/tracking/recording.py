"""Which tracking hits become events: decided in Redis, so every web process agrees.

Anyone holding a token (the recipient, a link scanner, a forwarded mail, a script) can load
its URL as often as they like; what that adds to the statistics is bounded:

- one open per message per TRACKING_OPEN_WINDOW_SECONDS, one click per link per
  TRACKING_CLICK_WINDOW_SECONDS: the first hit of a window sets a key (SET NX with that
  expiry), the others find it set;
- at most TRACKING_EVENTS_PER_HOUR events per message in any rolling hour, whichever of its
  tokens they come by (the `limits` package's moving window): a message with a thousand
  links does not make a thousand clicks a window.

A hit that does not count still gets its redirect or pixel; it costs one Redis round trip
(two for the first of a window) and writes nothing. Without Redis nothing counts (and it is
logged): an outage must not lift the bounds.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from limits import RateLimitItemPerHour
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from delivery.models import Message, TrackingEvent
from notifuse_smtp.redis_connection import redis_client

logger = logging.getLogger(__name__)

OPEN, CLICK = TrackingEvent.Kind.OPEN, TrackingEvent.Kind.CLICK
URL_LENGTH = TrackingEvent._meta.get_field("url").max_length
USER_AGENT_LENGTH = TrackingEvent._meta.get_field("user_agent").max_length


def counts(tracking_key: str, kind: str, index: int = 0) -> bool:
    """Whether this hit is the first of its window and within the message's hourly share.

    Redis knows the message by its tracking key, never reused (an id can come back, after a
    database is restored, and inherit counts that are not its own)."""
    if kind == OPEN:
        key = f"notifuse:track:open:{tracking_key}"
        window = settings.TRACKING_OPEN_WINDOW_SECONDS
    else:
        key = f"notifuse:track:click:{tracking_key}:{index}"
        window = settings.TRACKING_CLICK_WINDOW_SECONDS
    try:
        if window > 0 and not redis_client().set(key, 1, nx=True, ex=window):
            return False
        per_hour = settings.TRACKING_EVENTS_PER_HOUR
        return per_hour <= 0 or _hourly_events().hit(
            RateLimitItemPerHour(per_hour), "notifuse-track", tracking_key
        )
    except redis.RedisError as error:
        logger.warning("tracking event not counted: Redis: %s", error)
        return False


def record(request: HttpRequest, message_id: int, kind: str, url: str = "") -> None:
    """Store the event and count it on the message (one INSERT, one UPDATE)."""
    ip = request.META.get("REMOTE_ADDR") if settings.TRACKING_STORE_IP else None
    TrackingEvent.objects.create(
        message_id=message_id,
        kind=kind,
        # The redirect goes to the whole URL, which Message.tracked_urls keeps; the event
        # keeps what fits its column, readable in the admin (a hash would not be).
        url=url[:URL_LENGTH],
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH],
        ip=ip or None,
    )
    messages = Message.objects.filter(pk=message_id)
    if kind == OPEN:
        messages.update(open_count=F("open_count") + 1,
                        first_opened_at=Coalesce(F("first_opened_at"), Value(timezone.now())))
    else:
        messages.update(click_count=F("click_count") + 1)


@lru_cache(maxsize=1)
def _hourly_events() -> MovingWindowRateLimiter:
    storage = RedisStorage(settings.REDIS_URL, connection_pool=redis_client().connection_pool)
    return MovingWindowRateLimiter(storage)
