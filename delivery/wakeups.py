"""Wake-up calls to workers. Losing one loses nothing: the sweeper re-publishes due mail."""

from __future__ import annotations

import logging

import redis
from django.db import transaction

logger = logging.getLogger(__name__)

# A lost wake-up is re-published by the sweeper; past this the flag stops coalescing.
PENDING_TTL_SECONDS = 10


def publish(integration_id: int, *, countdown: float | None = None) -> None:
    from .tasks import drain_integration

    try:
        drain_integration.apply_async((integration_id,), countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row is already safe
        logger.warning(
            "wake-up for integration %s not published (%s); the sweeper will pick it up",
            integration_id,
            exc.__class__.__name__,
        )


def publish_on_commit(integration_id: int) -> None:
    transaction.on_commit(lambda: publish_coalesced(integration_id))


def publish_coalesced(integration_id: int) -> None:
    """Publish unless a wake-up for this integration is already waiting for a worker.

    The flag is cleared by the worker before its first claim, so a message committed before
    that is seen by the claim, and one committed after it publishes a new wake-up.
    """
    try:
        fresh = _redis().set(_pending_key(integration_id), 1, nx=True, ex=PENDING_TTL_SECONDS)
    except redis.RedisError:
        fresh = True  # no coalescing without Redis, but never a lost wake-up
    if fresh:
        publish(integration_id)


def clear_pending(integration_id: int) -> None:
    try:
        _redis().delete(_pending_key(integration_id))
    except redis.RedisError:
        pass


def _pending_key(integration_id: int) -> str:
    return f"notifuse:wake-pending:{integration_id}"


def _redis() -> redis.Redis:
    from integrations.oauth2.cache import redis_client

    return redis_client()
