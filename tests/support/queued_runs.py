"""Test integration runs in the tests of its pages: a worker's part done here, progress read."""

from __future__ import annotations

from integrations.diagnostic_runs import carry_out
from integrations.models import IntegrationTest, TestRunStatus


def carry_out_queued() -> int:
    """Do here what a worker does with every run still queued; how many there were.

    The pages' own tests read the stored result; tests/integrations/test_test_run_in_a_worker.py
    runs the same flow with a real worker process.
    """
    queued = list(
        IntegrationTest.objects.filter(status=TestRunStatus.RUNNING).values_list("pk", flat=True)
    )
    for run_id in queued:
        carry_out(run_id)
    return len(queued)


def post_and_follow(client, url: str, data: dict):
    """POST the test form, carry out the run it queued, and return the response of its page."""
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert carry_out_queued() == 1
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


def post_and_read_result(client, url: str, data: dict) -> str:
    """POST the test form, carry out the run it queued, and return the run's page."""
    return post_and_follow(client, url, data).content.decode()


def progress(client, url: str) -> dict:
    """What a run's page polls: {"status", "failed_step", "steps", "html"}."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.json()


def statuses(answer: dict) -> dict[str, str]:
    return {step["name"]: step["status"] for step in answer["steps"]}
