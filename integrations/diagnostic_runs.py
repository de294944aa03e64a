"""A run of "Test integration" for a person: the quota, the stored run, the worker's part.

The request stores the run `running`, with the steps it will take, and publishes a task by
name (`integrations.tasks.run_integration_test`); it answers at once. The worker takes the
steps and stores each as it completes, so the page shows them coming. A run still running at
its deadline is failed (`run_deadline`): the page never waits for a worker that is not there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.timezone import localtime

from .diagnostics import Report, Step, planned_steps, run_diagnostics
from .health import record_test_result
from .models import IntegrationTest, SmtpIntegration, TestRunStatus
from .run_deadline import WORKER_STEP, fail_unqueued
from .signals import announce_change

logger = logging.getLogger(__name__)

TESTS_PER_HOUR = 10
QUOTA_WINDOW = timedelta(hours=1)
RUN_TASK = "integrations.tasks.run_integration_test"
# After its soft limit the task is told to stop; after this much more it is killed.
HARD_LIMIT_GRACE_SECONDS = 10


class QuotaExceeded(Exception):
    """A person sent too many test emails in the last hour (the admin is no spam relay)."""


def start_integration_test(
    integration: SmtpIntegration,
    *,
    to: str,
    sender: str | None = None,
    user=None,
    now: datetime | None = None,
    queued: bool = True,
) -> IntegrationTest:
    """Store a run for a worker (`queued`) or for the caller to carry out; past the quota,
    refuse and store nothing, so a refused start uses no slot."""
    now = now or timezone.now()
    steps = [Step(WORKER_STEP)] if queued else []
    with transaction.atomic():
        check_quota(user, now)
        run = IntegrationTest.objects.create(
            integration=integration,
            requested_by=user if user is not None and user.pk else None,
            to=to,
            sender=sender or "",
            created_at=now,
            deadline_at=now + timedelta(seconds=settings.TEST_RUN_DEADLINE_SECONDS),
            steps=Report(steps + planned_steps(integration)).as_json(),
        )
        if queued:
            # After the commit: a worker quicker than the commit would not find the run.
            transaction.on_commit(lambda: publish(run))
    return run


def check_quota(user, now: datetime) -> None:
    """Refuse an eleventh run started by `user` in the hour before `now` (a sliding hour)."""
    if user is None or not user.pk:
        return
    # Two tabs starting at once would both count nine: the user's row makes them take turns.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    recent = (
        IntegrationTest.objects.filter(requested_by=user, created_at__gt=now - QUOTA_WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:TESTS_PER_HOUR]
    )
    if len(recent) >= TESTS_PER_HOUR:
        next_at = localtime(recent[TESTS_PER_HOUR - 1] + QUOTA_WINDOW)
        raise QuotaExceeded(
            f"You have sent {TESTS_PER_HOUR} test emails in the last hour, the limit. "
            f"You can send the next one at {next_at:%H:%M:%S}."
        )


def publish(run: IntegrationTest) -> None:
    """Hand the run to a worker; a task that waited past the deadline is dropped unrun."""
    limit = settings.TEST_RUN_DEADLINE_SECONDS
    try:
        current_app.send_task(
            RUN_TASK,
            (run.pk,),
            expires=run.deadline_at,
            soft_time_limit=limit,
            time_limit=limit + HARD_LIMIT_GRACE_SECONDS,
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure: say so on the run now
        logger.warning("test run %s not queued (%s)", run.pk, exc.__class__.__name__)
        fail_unqueued(run.pk, exc)


def run_integration_test(
    integration: SmtpIntegration, *, to: str, sender: str | None = None, user=None
) -> tuple[IntegrationTest, Report]:
    """Start a run and carry it out here (the command line, which no web timeout limits)."""
    run = start_integration_test(integration, to=to, sender=sender, user=user, queued=False)
    carry_out(run.pk)
    run.refresh_from_db()
    return run, Report.from_json(run.steps)


def carry_out(run_id: int) -> str:
    """The worker's part: claim the run, take each step, store each as it completes."""
    run = _claim(run_id)
    if run is None:
        return "not run"  # another worker has it, or its deadline passed while it waited
    before = [Step(**step) for step in run.steps if step["name"] == WORKER_STEP]

    def store(steps: list[Step]) -> None:
        IntegrationTest.objects.filter(pk=run.pk, status=TestRunStatus.RUNNING).update(
            steps=Report(before + steps).as_json()
        )

    report = run_diagnostics(run.integration, to=run.to, sender=run.sender or None, progress=store)
    return _finish(run, Report(before + report.steps))


def _claim(run_id: int) -> IntegrationTest | None:
    """The run, marked started by this worker; None when it is not to be run (any more)."""
    now = timezone.now()
    run = (
        IntegrationTest.objects.select_related("integration")
        .filter(pk=run_id, status=TestRunStatus.RUNNING, started_at__isnull=True)
        .first()
    )
    if run is None or (run.deadline_at is not None and now >= run.deadline_at):
        return None
    report = Report.from_json(run.steps)
    for step in report.steps:
        if step.name == WORKER_STEP:
            step.status = "ok"
            step.duration_ms = round((now - run.created_at).total_seconds() * 1000, 1)
    run.steps = report.as_json()
    claimed = IntegrationTest.objects.filter(
        pk=run.pk,
        status=TestRunStatus.RUNNING,
        started_at__isnull=True,
    ).update(started_at=now, steps=run.steps)
    return run if claimed else None


def _finish(run: IntegrationTest, report: Report) -> str:
    """Store the verdict and update the integration's health, unless the deadline came first."""
    failed = report.failed_step
    status = TestRunStatus.OK if report.ok else TestRunStatus.FAILED
    finished = IntegrationTest.objects.filter(pk=run.pk, status=TestRunStatus.RUNNING).update(
        status=status,
        failed_step=failed.name if failed else "",
        steps=report.as_json(),
        finished_at=timezone.now(),
    )
    if not finished:
        return "too late"  # the run was failed at its deadline, and says so
    if report.ok:
        # Whatever was wrong is fixed (perhaps outside this service, at the provider): mail
        # held meanwhile need not wait for its next try. Announced before the flag is
        # cleared, while the mail still counts as held.
        announce_change(run.integration, "test passed")
    record_test_result(run.integration, report.ok)
    return status
