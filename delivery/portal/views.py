"""The internal staff portal: dashboard, message log, message page, retry, test send."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from delivery.models import Message
from delivery.permissions import RETRY_MESSAGES, VIEW_MESSAGES
from delivery.lifecycle.transitions import staff_retry
from integrations.diagnostic_runs import QuotaExceeded, run_integration_test

from . import queries
from .pace import add_pace
from .forms import LogFilterForm, TestSendForm

PAGE_SIZE = 50
TEST_PERMISSION = "integrations.change_smtpintegration"


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Health and 24-hour counts per integration, and the queue at a glance."""
    now = queries.now()
    integrations = queries.integration_health(now)
    add_pace(integrations)
    return render(request, "portal/dashboard.html", {
        "integrations": integrations,
        "queue": queries.queue_state(now),
        "section": "dashboard",
    })


@staff_member_required
@permission_required(VIEW_MESSAGES, raise_exception=True)
def message_log(request: HttpRequest) -> HttpResponse:
    """The filtered, paginated message log."""
    form = LogFilterForm(request.GET or None)
    messages = queries.message_log(form.filters())
    page = Paginator(messages, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = queries.with_attempt_counts(list(page.object_list))
    return render(request, "portal/messages.html", {
        "form": form, "page": page, "filters": form.query_string(), "section": "messages",
    })


@staff_member_required
@permission_required(VIEW_MESSAGES, raise_exception=True)
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One message: headers, bodies, attachments and the attempt timeline."""
    message = get_object_or_404(queries.message_with_integration(pk))
    return render(request, "portal/message.html", {
        "message": message,
        # A list, not the dict: a header named "items" must not shadow dict.items.
        "headers": sorted(message.headers.items()),
        "attempts": message.attempts.order_by("number", "pk"),
        "attachments": [_attachment(a) for a in message.attachments],
        "clicks": message.events.filter(kind="click").order_by("-created_at")[:20],
        "section": "messages",
    })


def _attachment(stored: dict) -> dict:
    """Name, type and decoded size of a stored attachment, without decoding it."""
    encoded = "".join((stored.get("content_b64") or "").split())
    size = len(encoded) * 3 // 4 - encoded[-2:].count("=")
    return {"filename": stored.get("filename") or "(no name)",
            "mimetype": stored.get("mimetype") or "", "size": max(size, 0)}


@staff_member_required
@permission_required(RETRY_MESSAGES, raise_exception=True)
@require_POST
def retry_message(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue one failed message again; a worker sends it."""
    message = get_object_or_404(Message.objects.only("pk", "status"), pk=pk)
    if staff_retry(Message.objects.filter(pk=message.pk)):
        flash.success(request, "Queued again: a worker will send it shortly.")
    else:
        flash.warning(request, "Only failed messages can be retried.")
    return redirect("portal:message", pk=pk)


@staff_member_required
@permission_required(RETRY_MESSAGES, raise_exception=True)
@require_POST
def retry_failed(request: HttpRequest) -> HttpResponse:
    """Queue again every failed message the log's filters select."""
    form = LogFilterForm(request.POST)
    back = reverse("portal:messages") + _query(form.query_string())
    if not form.is_valid():
        # Dropping a bad filter would widen the selection: retry nothing instead.
        flash.error(request, "The filters are not valid: nothing was retried.")
        return redirect(back)
    filters = form.filters()
    filters.pop("status", None)  # whatever status was shown, only failed mail is retried
    selected = queries.message_log(filters).failed()
    count = staff_retry(Message.objects.filter(pk__in=selected.values("pk")))
    flash.success(request, f"{count} failed message(s) queued again.")
    return redirect(back)


def _query(query_string: str) -> str:
    return f"?{query_string}" if query_string else ""


@staff_member_required
def test_send(request: HttpRequest) -> HttpResponse:
    """Send a test email through an integration and show every step's result."""
    initial = {"to": request.user.email, "integration": request.GET.get("integration")}
    form = TestSendForm(request.POST or None, initial=initial)
    allowed = request.user.has_perm(TEST_PERMISSION)
    report = None
    if request.method == "POST" and not allowed:
        form.is_valid()
        form.add_error(None, "Sending a test email needs permission to change integrations.")
    elif request.method == "POST" and form.is_valid():
        report = _run_test(form, request.user)
    return render(request, "portal/test_send.html", {
        "form": form, "report": report, "section": "test", "allowed": allowed,
        "sender_choices": form.sender_choices(),
    })


def _run_test(form: TestSendForm, user):
    """Run the test the form describes; a spent quota becomes a form error, not a 500."""
    try:
        _, report = run_integration_test(
            form.cleaned_data["integration"], to=form.cleaned_data["to"],
            sender=form.cleaned_data["sender"] or None, user=user,
        )
    except QuotaExceeded as exc:
        form.add_error(None, str(exc))
        return None
    return report
