"""Test integration runs in a worker: the request queues it, the page shows each step coming,
a hard deadline ends a run no worker finished, and the quota is a sliding hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from delivery.sweeper import sweep
from integrations.diagnostic_runs import QuotaExceeded, start_integration_test
from integrations.models import IntegrationTest
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.queued_runs import progress, statuses
from tests.support.raw_servers import BlackholeServer
from tests.support.smtp_servers import SmtpTestServer

DATA = {"to": "me@example.org", "sender": "App <app@example.com>"}


def start_from_the_admin(client, integration) -> tuple[IntegrationTest, str, str]:
    """POST the admin's test form: the run it stored, its page and its progress URLs."""
    url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    response = client.post(url, DATA)
    assert response.status_code == 302
    run = IntegrationTest.objects.get(integration=integration, to=DATA["to"], status="running")
    progress_url = reverse(
        "admin:integrations_smtpintegration_test_progress", args=[integration.pk, run.pk]
    )
    return run, response["Location"], progress_url


def finished(client, progress_url: str, timeout: float = 30) -> dict:
    return wait_until(
        lambda: (answer := progress(client, progress_url))["status"] != "running" and answer,
        timeout=timeout,
        message="the run never finished",
    )


@pytest.mark.django_db(transaction=True)
def test_the_request_only_queues_the_test_and_the_page_shows_each_step_as_a_worker_takes_it(
    admin_client, start_worker
):
    with SmtpTestServer(credentials={"app": "right"}, hold_data_from=1) as server:
        integration = make_integration(server)
        run, page_url, progress_url = start_from_the_admin(admin_client, integration)
        # No step ran in the request: nothing connected, every step still waits.
        assert server.connections == 0
        assert set(statuses({"steps": run.steps}).values()) == {"pending"}
        page = admin_client.get(page_url).content.decode()
        assert "Testing&hellip; each step shows here as it completes" in page
        assert f'data-progress-url="{progress_url}"' in page  # the script polls it
        assert '<noscript><meta http-equiv="refresh"' in page  # without the script: reloads

        start_worker()
        # The server holds its reply to the data: the steps before it show done meanwhile.
        midway = wait_until(
            lambda: (
                (answer := progress(admin_client, progress_url))
                and statuses(answer)["rcpt"] == "ok"
                and answer
            ),
            timeout=30,
        )
        assert midway["status"] == "running" and statuses(midway)["worker"] == "ok"
        assert statuses(midway)["data"] == "pending" and "RCPT TO" in midway["html"]
        assert statuses(midway)["tls"] == "skipped"  # passed over (TLS is off), not waiting
        server.release_held()
        done = finished(admin_client, progress_url)
        assert len(server.messages) == 1
    assert done["status"] == "ok" and "All steps succeeded" in done["html"]
    assert {name for name, status in statuses(done).items() if status != "ok"} == {"tls"}
    run.refresh_from_db()
    assert run.ok and run.started_at <= run.finished_at <= run.deadline_at
    page = admin_client.get(page_url).content.decode()
    assert "All steps succeeded" in page
    assert "data-progress-url" not in page and 'http-equiv="refresh"' not in page  # done
    integration.refresh_from_db()
    assert integration.last_test_ok is True


@pytest.mark.django_db(transaction=True)
def test_a_run_no_worker_takes_fails_at_its_deadline_and_a_late_worker_sends_nothing(
    admin_client, start_worker, settings
):
    settings.TEST_RUN_DEADLINE_SECONDS = 1
    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server)
        run, page_url, progress_url = start_from_the_admin(admin_client, integration)
        done = finished(admin_client, progress_url, timeout=15)
        assert (done["status"], done["failed_step"]) == ("failed", "worker")
        assert "No worker started this test within 1 s; nothing was sent." in done["html"]
        assert "celery -A notifuse_smtp worker" in done["html"]  # what to do about it
        page = admin_client.get(page_url).content.decode()
        assert "Failed at Worker pick-up" in page and 'http-equiv="refresh"' not in page
        integration.refresh_from_db()
        assert integration.last_test_at is None  # says nothing of the server

        # A worker that comes later drops the expired test; the next one runs, alone.
        settings.TEST_RUN_DEADLINE_SECONDS = 60
        start_worker(concurrency=1)
        _, _, second_url = start_from_the_admin(admin_client, integration)
        assert finished(admin_client, second_url)["status"] == "ok"
        assert server.connections == 1 and len(server.messages) == 1
    run.refresh_from_db()
    assert (run.status, run.failed_step, run.started_at) == ("failed", "worker", None)


@pytest.mark.django_db(transaction=True)
def test_a_step_that_outlasts_the_deadline_fails_the_run_at_that_step_even_unwatched(
    admin_client, start_worker, settings
):
    settings.TEST_RUN_DEADLINE_SECONDS = 3
    worker = start_worker(DIAGNOSTICS_TIMEOUT=30)  # the run's limit comes with its task
    with BlackholeServer() as silent:  # takes the connection, never greets
        integration = make_integration(None, host=silent.host, port=silent.port)
        run, _, progress_url = start_from_the_admin(admin_client, integration)
        # Nobody polls: the worker's own time limit stops the step and fails the run.
        wait_until(lambda: IntegrationTest.objects.get(pk=run.pk).status != "running", timeout=20)
        done = progress(admin_client, progress_url)
    assert (done["status"], done["failed_step"]) == ("failed", "connect")
    assert "out of time" in worker.output()  # the task's own verdict
    assert "The test did not finish within 3 s." in done["html"]
    assert statuses(done)["worker"] == "ok" and statuses(done)["data"] == "skipped"


@pytest.mark.django_db
def test_the_quota_is_a_sliding_hour_and_a_refused_start_uses_no_slot():
    integration = make_integration()
    person = get_user_model().objects.create_user("tester", "t@example.com", "pw")
    first = datetime(2025, 3, 1, 10, 59, 0, tzinfo=UTC)

    def start(at: datetime) -> IntegrationTest:
        return start_integration_test(integration, to="me@example.org", user=person, now=at)

    for n in range(10):
        start(first + timedelta(seconds=n))
    # Past the top of the hour a clock-hour quota started afresh: about 20 fitted in minutes.
    for at in (first + timedelta(minutes=1, seconds=30), first + timedelta(seconds=3599)):
        with pytest.raises(QuotaExceeded, match=r"10 test emails in the last hour.* 11:59:00"):
            start(at)
    assert IntegrationTest.objects.count() == 10  # the refusals stored nothing
    start(first + timedelta(hours=1))  # the first run is an hour old: one slot, not more
    with pytest.raises(QuotaExceeded, match="11:59:01"):
        start(first + timedelta(hours=1, seconds=0.5))
    start(first + timedelta(hours=1, seconds=1))
    # Each person has a quota of their own; the command line (no person) has none.
    other = get_user_model().objects.create_user("other", "o@example.com", "pw")
    start_integration_test(
        integration, to="me@example.org", user=other, now=first + timedelta(hours=1, seconds=2)
    )
    start_integration_test(
        integration, to="me@example.org", now=first + timedelta(hours=1, seconds=2)
    )
    assert IntegrationTest.objects.filter(requested_by=person).count() == 12


@pytest.mark.django_db
def test_a_run_that_cannot_be_queued_fails_at_once_and_says_so(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setattr("integrations.diagnostic_runs.current_app.send_task", broker_down)
    integration = make_integration()
    with django_capture_on_commit_callbacks(execute=True):
        run, page_url, _ = start_from_the_admin(admin_client, integration)
    page = admin_client.get(page_url).content.decode()
    assert "Failed at Worker pick-up" in page
    assert "could not be queued for a worker (ConnectionRefusedError)" in page
    run.refresh_from_db()
    assert (run.status, run.failed_step) == ("failed", "worker")


@pytest.mark.django_db
def test_the_sweeper_fails_a_run_nobody_watches_once_its_deadline_has_passed(settings):
    settings.TEST_RUN_DEADLINE_SECONDS = 30
    integration = make_integration()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    stale = start_integration_test(integration, to="me@example.org", now=an_hour_ago)
    fresh = start_integration_test(integration, to="me@example.org")
    assert sweep()["expired_tests"] == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.failed_step, stale.started_at) == ("failed", "worker", None)
    assert stale.finished_at is not None
    assert fresh.status == "running"  # its worker still has time
    assert sweep()["expired_tests"] == 0
