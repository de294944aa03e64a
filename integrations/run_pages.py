"""A test run as its pages show it, and the small answer their polling reads.

The admin's test page and the portal's test-send page show a stored run: while it runs, a
script (integrations/test_progress.js) asks the run's progress URL every second and swaps in
the steps so far; without JavaScript the page reloads itself (a meta refresh in <noscript>).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string

from .diagnostics import Report
from .models import IntegrationTest
from .run_deadline import expire_if_overdue

REPORT_TEMPLATE = "integrations/test_report.html"


def run_context(run: IntegrationTest, progress_url: str) -> dict:
    """What test_report.html needs to show `run`, failed first if its deadline has passed."""
    run = expire_if_overdue(run)
    return {
        "run": run,
        "report": Report.from_json(run.steps),
        "integration": run.integration,
        "progress_url": progress_url,
    }


def progress_response(
    request: HttpRequest, run: IntegrationTest, progress_url: str
) -> JsonResponse:
    """The run's state, each step's result, and the report's HTML to swap into the page."""
    context = run_context(run, progress_url)
    run = context["run"]
    return JsonResponse(
        {
            "status": run.status,
            "failed_step": run.failed_step,
            "steps": [
                {"name": step.name, "status": step.status} for step in context["report"].steps
            ],
            "html": render_to_string(REPORT_TEMPLATE, context, request=request),
        },
        headers={"Cache-Control": "no-store"},
    )
