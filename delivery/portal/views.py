"""The internal staff portal: dashboard, message log, message page, retry, test send."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from delivery.models import Message, Status
from delivery.requeue import requeue_failed
from integrations.testing import QuotaExceeded, run_integration_test

from . import queries
from .forms import LogFilterForm, TestSendForm

PAGE_SIZE = 50


@staff_member_required
def dashboard(request):
    now = queries.now()
    return render(request, "portal/dashboard.html", {
        "integrations": queries.integration_health(now),
        "queue": queries.queue_state(now),
        "section": "dashboard",
    })


@staff_member_required
def message_log(request):
    form = LogFilterForm(request.GET or None)
    params = form.cleaned_data if form.is_valid() else {}
    page = Paginator(queries.message_log(params), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = queries.with_attempt_counts(list(page.object_list))
    filters = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    return render(request, "portal/messages.html", {
        "form": form, "page": page, "filters": filters, "section": "messages",
    })


@staff_member_required
def message_detail(request, pk: int):
    message = get_object_or_404(Message.objects.select_related("integration"), pk=pk)
    attachments = [
        {"filename": a.get("filename") or "(no name)", "mimetype": a.get("mimetype"),
         "size": len(base64.b64decode(a.get("content_b64", "")))}
        for a in message.attachments
    ]
    return render(request, "portal/message.html", {
        "message": message,
        "attempts": message.attempts.order_by("number", "pk"),
        "attachments": attachments,
        "clicks": message.events.filter(kind="click").order_by("-created_at")[:20],
        "section": "messages",
    })


@staff_member_required
@require_POST
def retry_message(request, pk: int):
    count = requeue_failed(Message.objects.filter(pk=pk))
    if count:
        flash.success(request, "Queued again: a worker will send it shortly.")
    else:
        flash.warning(request, "Only failed messages can be retried.")
    return redirect("portal:message", pk=pk)


@staff_member_required
@require_POST
def retry_failed(request):
    form = LogFilterForm(request.POST)
    params = form.cleaned_data if form.is_valid() else {}
    params = {**params, "status": Status.FAILED}
    count = requeue_failed(Message.objects.filter(pk__in=queries.message_log(params).values("pk")))
    flash.success(request, f"{count} failed message(s) queued again.")
    return redirect("portal:messages")


@staff_member_required
def test_send(request):
    initial = {"to": request.user.email, "integration": request.GET.get("integration")}
    form = TestSendForm(request.POST or None, initial=initial)
    report = None
    allowed = request.user.has_perm("integrations.change_smtpintegration")
    if request.method == "POST" and not allowed:
        form.is_valid()
        form.add_error(None, "Sending a test email needs permission to change integrations.")
    elif request.method == "POST" and form.is_valid():
        try:
            _, report = run_integration_test(
                form.cleaned_data["integration"], to=form.cleaned_data["to"],
                sender=form.cleaned_data["sender"] or None, user=request.user,
            )
        except QuotaExceeded as exc:
            form.add_error(None, str(exc))
    return render(request, "portal/test_send.html", {
        "form": form, "report": report, "section": "test", "allowed": allowed,
    })
