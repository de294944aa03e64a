"""The outbox sweeper (Celery beat): nothing stays stuck when a worker or the broker is lost."""

from __future__ import annotations

from notifuse_smtp.heartbeat import beat_heartbeat

from . import wakeups
from .lifecycle.transitions import expire_leases
from .models import Message


def sweep() -> dict[str, int]:
    """Requeue messages whose lease expired, then wake every integration with due mail."""
    returned = expire_leases()
    integration_ids = republish_due()
    beat_heartbeat()
    return {"requeued": returned, "woken": len(integration_ids)}


def republish_due() -> list[int]:
    due = Message.objects.due()
    integration_ids = list(due.values_list("integration_id", flat=True).distinct().order_by())
    for integration_id in integration_ids:
        wakeups.publish(integration_id)
    return integration_ids
