"""Thin Celery tasks of integrations: load ids, call plain functions that tests call directly."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import diagnostic_runs, run_deadline


# Published by name (diagnostic_runs.RUN_TASK) with the run's deadline as its expiry and the
# deadline's length as its soft time limit. Not retried, not acknowledged late: a redelivered
# test would send a second email, and the run's page already says when one did not finish.
@shared_task(name="integrations.tasks.run_integration_test", ignore_result=True, acks_late=False)
def run_integration_test(run_id: int) -> str:
    try:
        return diagnostic_runs.carry_out(run_id)
    except SoftTimeLimitExceeded:
        run_deadline.fail_unfinished(run_id)
        return "out of time"
