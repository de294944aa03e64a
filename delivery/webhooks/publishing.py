"""Wake a worker for a webhook delivery: by task name (the tasks module imports the sender)."""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)
DELIVER_TASK = "delivery.tasks.deliver_webhook"


def publish(delivery_id: int, *, countdown: float | None = None) -> None:
    try:
        current_app.send_task(DELIVER_TASK, (delivery_id,), countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row is already stored
        logger.warning("webhook delivery %s not published (%s); the sweeper will send it",
                       delivery_id, exc.__class__.__name__)
