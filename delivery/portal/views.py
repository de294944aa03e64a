"""The internal staff portal: dashboard, message log, message page, retry (test send: test_send)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from delivery.mime import message_id
from delivery.models import Message, Status
from delivery.permissions import CANCEL_MESSAGES, RETRY_MESSAGES, VIEW_MESSAGES
from delivery.lifecycle import transitions
from delivery.lifecycle.transitions import staff_retry

from . import chart, export, keyset, message_files, queries
from .access import integration_viewers_only
from .pace import add_pace
from .forms import LogFilterForm

PAGE_SIZE = 50
# The HTML preview loads nothing from outside: a remote image (a tracking pixel among them)
# would tell the sender, and whoever they share it with, that staff opened the message.
# The iframe's srcdoc inherits the page's policy (so it allows the inline styles mail is
# made of) and carries its own, stricter one: each alone keeps the preview from loading.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'")
PREVIEW_POLICY = "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; font-src data:"


@staff_member_required
@integration_viewers_only
def dashboard(request: HttpRequest) -> HttpResponse:
    """Health and 24-hour counts per integration, and the queue at a glance."""
    now = queries.now()
    sent = chart.sent_per_hour_and_integration(chart.window_start(now))
    integrations = chart.attach_feedback_rates(queries.integration_health(now), now, sent)
    add_pace(integrations)
    return render(request, "portal/dashboard.html", {
        "integrations": integrations,
        "queue": queries.queue_state(now, integrations),
        "chart": chart.hourly_chart(now, sent),
        "section": "dashboard",
    })


@staff_member_required
@permission_required(VIEW_MESSAGES, raise_exception=True)
def message_log(request: HttpRequest) -> HttpResponse:
    """The filtered message log, a page at a time by keyset (older / newer than a row)."""
    form = LogFilterForm(request.GET or None)
    filters = form.filters()
    page = keyset.page_of(queries.message_log(filters), before=request.GET.get("before"),
                          after=request.GET.get("after"), size=PAGE_SIZE)
    page.rows = queries.with_attempt_counts(page.rows)
    may_retry = request.user.has_perm(RETRY_MESSAGES) and not form.errors
    return render(request, "portal/messages.html", {
        "form": form, "page": page, "filters": form.query_string(), "section": "messages",
        "filtered": bool(filters),
        # Offered only when the filters select a failed message to retry.
        "can_bulk_retry": may_retry and _selects_failed(filters),
    })


def _selects_failed(filters: dict) -> bool:
    if filters.get("status") not in (None, Status.FAILED):
        return False
    return queries.message_log(filters).failed().exists()


@staff_member_required
@permission_required(VIEW_MESSAGES, raise_exception=True)
def export_log(request: HttpRequest) -> HttpResponse:
    """The filtered log as a CSV download, streamed whatever its length."""
    form = LogFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # Dropping a bad filter would widen the export: say so instead.
        flash.error(request, "The filters are not valid: fix them to export.")
        return redirect(reverse("portal:messages") + _query(form.query_string()))
    return export.csv_response(queries.message_log(form.filters()))


@staff_member_required
@permission_required(VIEW_MESSAGES, raise_exception=True)
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One message: headers, bodies, attachments and the attempt timeline."""
    message = get_object_or_404(queries.message_with_integration(pk))
    source, source_left_out = message_files.shown_source(message)
    response = render(request, "portal/message.html", {
        "message": message,
        "html_preview": _preview(message.html),
        # A list, not the dict: a header named "items" must not shadow dict.items.
        "headers": sorted(message.headers.items()),
        "message_id": _message_id_header(message),
        "source": source, "source_left_out": source_left_out,
        "attempts": message.attempts.order_by("number", "pk"),
        "attachments": [message_files.attachment_summary(index, stored)
                        for index, stored in enumerate(message.attachments)],
        "clicks": message.events.filter(kind="click").order_by("-created_at")[:20],
        "feedback": message.feedback.order_by("created_at", "pk"),
        "section": "messages",
    })
    response["Content-Security-Policy"] = PAGE_POLICY
    return response


def _preview(html: str) -> str:
    """The body for the sandboxed iframe, led by its policy: a meta first in the document
    lands in its head, whatever the body itself starts with."""
    if not html:
        return ""
    return f'<meta http-equiv="Content-Security-Policy" content="{PREVIEW_POLICY}">{html}'


def _message_id_header(message: Message) -> str:
    """The Message-ID it is sent with: the caller's own, else the one delivery.mime makes."""
    given = [value for name, value in message.headers.items() if name.lower() == "message-id"]
    return given[0] if given else message_id(message)


@staff_member_required
@permission_required(RETRY_MESSAGES, raise_exception=True)
@require_POST
def retry_message(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue one failed message again once staff confirm; a worker sends it."""
    message = get_object_or_404(Message.objects.only("pk", "status", "subject"), pk=pk)
    if message.status != Status.FAILED:
        flash.warning(request, "Only failed messages can be retried.")
        return redirect("portal:message", pk=pk)
    if request.POST.get("confirm") != "yes":
        return _confirm_retry(request, count=1, message=message,
                              action=reverse("portal:retry", args=[pk]),
                              back=reverse("portal:message", args=[pk]))
    if staff_retry(Message.objects.filter(pk=message.pk)):
        flash.success(request, "Queued again: a worker will send it shortly.")
    else:
        flash.warning(request, "Only failed messages can be retried.")
    return redirect("portal:message", pk=pk)


def _confirm_retry(request: HttpRequest, *, count: int, action: str, back: str,
                   message: Message | None = None, form: LogFilterForm | None = None
                   ) -> HttpResponse:
    """The page that asks before mail is sent again (works without JavaScript)."""
    return render(request, "portal/confirm_retry.html", {
        "count": count, "message": message, "form": form, "action": action, "back": back,
        "section": "messages",
    })


@staff_member_required
@permission_required(CANCEL_MESSAGES, raise_exception=True)
@require_POST
def cancel_message(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel one queued or scheduled message no worker has claimed."""
    message = get_object_or_404(Message.objects.only("pk", "status"), pk=pk)
    try:
        transitions.cancel(message, by=request.user.get_username())
    except transitions.CannotCancel as exc:
        flash.warning(request, f"Not cancelled: {exc}.")
    else:
        flash.success(request, "Cancelled: it will not be sent.")
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
    if request.POST.get("confirm") != "yes":
        count = selected.count()
        if not count:
            flash.warning(request, "No failed message matches these filters: nothing to retry.")
            return redirect(back)
        return _confirm_retry(request, count=count, form=form,
                              action=reverse("portal:retry_failed"), back=back)
    count = staff_retry(Message.objects.filter(pk__in=selected.values("pk")))
    flash.success(request, f"{count} failed message(s) queued again.")
    return redirect(back)


def _query(query_string: str) -> str:
    return f"?{query_string}" if query_string else ""
