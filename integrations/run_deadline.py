"""A test run's hard deadline: a run no worker finished in time is failed, and says why.

Whoever looks at a running run (its page, the page's polling) fails it once its deadline has
passed, and so does the outbox sweeper for runs nobody looks at; the worker fails it too when
its own time limit stops the run. The step that was
waiting carries the catalog's reason: the worker's step when no worker started the run (none
is running, or none reaches the broker), else the first step not reached.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .diagnostics import Report, Step, fail_step
from .failures.catalog import failure, local_failure
from .models import IntegrationTest, TestRunStatus

# The first step of a run that a worker carries out: its time is the wait in the queue.
WORKER_STEP = "worker"


def expire_if_overdue(run: IntegrationTest, now: datetime | None = None) -> IntegrationTest:
    """The run as it stands, failed first when it is still running past its deadline."""
    now = now or timezone.now()
    if run.running and run.deadline_at is not None and now >= run.deadline_at:
        fail_unfinished(run.pk, now)
        run.refresh_from_db()
    return run


def fail_overdue_runs(now: datetime | None = None) -> int:
    """Fail every run still running past its deadline, viewed or not (the sweeper's part):
    a run whose worker died must not stay `running` in the admin's lists until someone
    opens it. Returns how many were failed."""
    now = now or timezone.now()
    overdue = IntegrationTest.objects.filter(status=TestRunStatus.RUNNING, deadline_at__lte=now)
    return sum(fail_unfinished(pk, now) for pk in overdue.values_list("pk", flat=True))


def fail_unfinished(run_id: int, now: datetime | None = None) -> bool:
    """Fail a run that is still running at the step it waits at; False if it has finished."""
    run = IntegrationTest.objects.filter(pk=run_id, status=TestRunStatus.RUNNING).first()
    if run is None:
        return False
    seconds = (run.deadline_at - run.created_at).total_seconds() if run.deadline_at else 0
    report = Report.from_json(run.steps)
    waiting = _waiting_step(report.steps, started=run.started_at is not None)
    if waiting is not None:
        rule = "local.test-not-started" if waiting.name == WORKER_STEP else "local.test-deadline"
        fail_step(waiting, failure(rule, seconds=seconds))
    return _store_failure(run, report, now)


def fail_unqueued(run_id: int, exc: Exception) -> bool:
    """Fail a run at once when it could not be handed to a worker (the broker is down)."""
    run = IntegrationTest.objects.filter(pk=run_id, status=TestRunStatus.RUNNING).first()
    if run is None:
        return False
    report = Report.from_json(run.steps)
    waiting = _waiting_step(report.steps, started=False)
    if waiting is not None:
        text = (
            f"The test could not be queued for a worker ({exc.__class__.__name__}); "
            "nothing was sent."
        )
        fail_step(waiting, local_failure("test-not-started", text=text))
    return _store_failure(run, report, None)


def _waiting_step(steps: list[Step], *, started: bool) -> Step | None:
    pending = [step for step in steps if step.status == "pending"]
    if not started:
        return next((step for step in pending if step.name == WORKER_STEP), None) or (
            pending[0] if pending else None
        )
    # Every step done but the verdict not stored: the last one is where the time ran out.
    return next((step for step in pending if step.name != WORKER_STEP), None) or steps[-1]


def _store_failure(run: IntegrationTest, report: Report, now: datetime | None) -> bool:
    for step in report.steps:
        if step.status == "pending":
            step.status = "skipped"
    failed = report.failed_step
    return bool(
        IntegrationTest.objects.filter(pk=run.pk, status=TestRunStatus.RUNNING).update(
            status=TestRunStatus.FAILED,
            failed_step=failed.name if failed else "",
            steps=report.as_json(),
            finished_at=now or timezone.now(),
        )
    )
