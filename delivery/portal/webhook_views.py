"""The portal's webhook log: each delivery, its tries and response codes, and a replay button."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from delivery.webhooks import sending
from delivery.webhooks.admin import REPLAY_PERMISSION
from delivery.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery

VIEW_DELIVERIES = "delivery.view_webhookdelivery"
PAGE_SIZE = 50


@staff_member_required
@permission_required(VIEW_DELIVERIES, raise_exception=True)
def webhook_log(request: HttpRequest) -> HttpResponse:
    """Deliveries newest first (optionally of one state), each with its tries."""
    state = request.GET.get("state", "")
    deliveries = WebhookDelivery.objects.select_related("endpoint").defer("payload")
    if state in DeliveryState.values:
        deliveries = deliveries.filter(state=state)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    attempts = WebhookAttempt.objects.order_by("number")
    page.object_list = list(page.object_list.prefetch_related(
        Prefetch("attempts", queryset=attempts)))
    return render(request, "portal/webhooks.html", {
        "page": page, "state": state, "states": DeliveryState.choices, "section": "webhooks",
    })


@staff_member_required
@permission_required(REPLAY_PERMISSION, raise_exception=True)
@require_POST
def replay_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    """Send one delivery again, with the same event id."""
    delivery = get_object_or_404(WebhookDelivery.objects.only("pk"), pk=pk)
    sending.replay(WebhookDelivery.objects.filter(pk=delivery.pk))
    flash.success(request, "Queued again: a worker will POST it shortly.")
    return redirect("portal:webhooks")
