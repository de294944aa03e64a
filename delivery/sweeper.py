"""The outbox sweeper (Celery beat): nothing stays stuck when a worker or the broker is lost."""

from __future__ import annotations

from integrations.run_deadline import fail_overdue_runs
from notifuse_smtp.heartbeat import beat_heartbeat

from . import wakeups
from .lifecycle.transitions import expire_leases
from .models import Message


def sweep() -> dict[str, int]:
    """Requeue messages whose lease expired, then wake every integration with due mail; fail
    Test-integration runs left running past their deadline (their worker died)."""
    returned = expire_leases()
    integration_ids = republish_due()
    expired_tests = fail_overdue_runs()
    beat_heartbeat()
    return {"requeued": returned, "woken": len(integration_ids), "expired_tests": expired_tests}


def republish_due() -> list[int]:
    due = Message.objects.due()
    integration_ids = list(due.values_list("integration_id", flat=True).distinct().order_by())
    for integration_id in integration_ids:
        wakeups.publish(integration_id)
    return integration_ids
