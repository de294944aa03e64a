"""The portal's test send: start a test through an integration, then watch its steps come.

The POST stores the run and queues it for a worker (integrations.diagnostic_runs), then
redirects to the run's page; that page polls the run's progress until it has passed or failed.
"""

from __future__ import annotations

from email.utils import parseaddr

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from integrations.diagnostic_runs import QuotaExceeded, start_integration_test
from integrations.models import IntegrationTest
from integrations.run_pages import progress_response, run_context

from .access import VIEW_SENDERS, integration_viewers_only, may_view
from .forms import TestSendForm

TEST_PERMISSION = "integrations.change_smtpintegration"


@staff_member_required
@integration_viewers_only
def test_send(request: HttpRequest) -> HttpResponse:
    """The test form; a valid POST starts a run and goes to its page."""
    initial = {"to": request.user.email, "integration": request.GET.get("integration")}
    form = TestSendForm(request.POST or None, initial=initial)
    allowed = request.user.has_perm(TEST_PERMISSION)
    if request.method == "POST" and not allowed:
        form.is_valid()
        form.add_error(None, "Sending a test email needs permission to change integrations.")
    elif request.method == "POST" and form.is_valid():
        run = _start(form, request.user)
        if run is not None:
            return redirect("portal:test_result", run.pk)
    return _page(request, form, allowed, None)


@staff_member_required
@permission_required(TEST_PERMISSION, raise_exception=True)
def test_result(request: HttpRequest, run_pk: int) -> HttpResponse:
    """A run's page: the form filled in as it was sent, and the steps so far."""
    run = get_object_or_404(IntegrationTest.objects.select_related("integration"), pk=run_pk)
    initial = {"to": run.to, "integration": run.integration_id, "sender": _address(run)}
    return _page(request, TestSendForm(initial=initial), True, run)


@staff_member_required
@permission_required(TEST_PERMISSION, raise_exception=True)
def test_progress(request: HttpRequest, run_pk: int) -> HttpResponse:
    """What a run's page polls: its state, each step's result, the report's HTML."""
    run = get_object_or_404(IntegrationTest.objects.select_related("integration"), pk=run_pk)
    return progress_response(request, run, _progress_url(run))


def _start(form: TestSendForm, user) -> IntegrationTest | None:
    """Start the test the form describes; a spent quota becomes a form error, not a 500."""
    try:
        return start_integration_test(
            form.cleaned_data["integration"],
            to=form.cleaned_data["to"],
            sender=form.cleaned_data["sender"] or None,
            user=user,
        )
    except QuotaExceeded as exc:
        form.add_error(None, str(exc))
        return None


def _page(
    request: HttpRequest, form: TestSendForm, allowed: bool, run: IntegrationTest | None
) -> HttpResponse:
    return render(
        request,
        "portal/test_send.html",
        {
            "form": form,
            "section": "test",
            "allowed": allowed,
            **(run_context(run, _progress_url(run)) if run else {}),
            "sender_choices": form.sender_choices() if may_view(request.user, VIEW_SENDERS) else [],
        },
    )


def _progress_url(run: IntegrationTest) -> str:
    return reverse("portal:test_progress", args=[run.pk])


def _address(run: IntegrationTest) -> str:
    """The run's sender as the form takes it: the address without its display name."""
    return parseaddr(run.sender)[1] if run.sender else ""
