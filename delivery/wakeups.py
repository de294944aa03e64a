"""Wake-up calls to workers. Losing one loses nothing: the sweeper re-publishes due mail."""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


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
    transaction.on_commit(lambda: publish(integration_id))
