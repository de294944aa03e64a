"""The dashboard's chart: sent, failed, bounced and complaints per hour over the last 7 days,
drawn on the server as SVG (no script, nothing to vendor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncHour

from delivery.choices import FeedbackKind, Status
from delivery.models import FeedbackEvent, Message

HOURS = 7 * 24
WIDTH, HEIGHT, PAD = 840, 180, 24
# (key, label, colour): the lines, drawn in this order.
SERIES = (("sent", "Sent", "#2e7d32"), ("failed", "Failed", "#ba2121"),
          ("bounced", "Bounced", "#ef6c00"), ("complaints", "Complaints", "#6a1b9a"))


@dataclass
class Line:
    key: str
    label: str
    colour: str
    total: int
    points: str  # the SVG polyline's points


def hourly_chart(now: datetime) -> dict:
    """The chart's lines, axis maximum and size, from four grouped queries."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    counts = {
        # On the partial indexes of sent_at and failed_at alone (index-only scans): sent_at
        # is set once, when a message is sent; failed_at when it fails for good, and kept
        # by a staff retry, so an outage stays on the chart as on the 24-hour figures.
        "sent": _per_hour(Message.objects.filter(sent_at__gte=start), "sent_at"),
        "failed": _per_hour(Message.objects.filter(failed_at__gte=start), "failed_at"),
        "bounced": _per_hour(FeedbackEvent.objects.filter(
            kind=FeedbackKind.BOUNCE, created_at__gte=start), "created_at"),
        "complaints": _per_hour(FeedbackEvent.objects.filter(
            kind=FeedbackKind.COMPLAINT, created_at__gte=start), "created_at"),
    }
    hours = [start + timedelta(hours=n) for n in range(HOURS)]
    peak = max([1, *(n for series in counts.values() for n in series.values())])
    lines = [Line(key, label, colour, sum(counts[key].values()),
                  _points([counts[key].get(hour, 0) for hour in hours], peak))
             for key, label, colour in SERIES]
    return {"lines": lines, "peak": peak, "width": WIDTH, "height": HEIGHT, "pad": PAD,
            "start": start, "days": [_day_mark(start, d) for d in range(8)]}


def _per_hour(queryset, field: str) -> dict[datetime, int]:
    rows = (queryset.annotate(hour=TruncHour(field)).values("hour")
            .annotate(total=Count("pk")).order_by())
    return {row["hour"]: row["total"] for row in rows}


def _points(values: list[int], peak: int) -> str:
    step = (WIDTH - 2 * PAD) / (len(values) - 1)
    height = HEIGHT - 2 * PAD
    return " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - value / peak * height:.1f}"
                    for i, value in enumerate(values))


def _day_mark(start: datetime, day: int) -> dict:
    x = PAD + day * 24 * (WIDTH - 2 * PAD) / (HOURS - 1)
    return {"x": round(min(x, WIDTH - PAD), 1), "label": f"{start + timedelta(days=day):%a %d}"}


def attach_feedback_rates(integrations: list, now: datetime) -> list:
    """Each integration's bounce and complaint rates over 7 days (per sent message), from two
    grouped queries: joining the events into the dashboard's counts would multiply them."""
    since = now - timedelta(days=7)
    sent = dict(Message.objects.filter(status=Status.SENT, sent_at__gte=since)
                .values_list("integration_id").annotate(total=Count("pk")).order_by())
    events: dict[tuple[int, str], int] = {
        (row["message__integration_id"], row["kind"]): row["total"]
        for row in FeedbackEvent.objects.filter(created_at__gte=since)
        .values("message__integration_id", "kind").annotate(total=Count("pk")).order_by()
    }
    for integration in integrations:
        count = sent.get(integration.pk, 0)
        bounced = events.get((integration.pk, FeedbackKind.BOUNCE), 0)
        complained = events.get((integration.pk, FeedbackKind.COMPLAINT), 0)
        integration.sent_7d = count
        integration.bounce_rate = 100.0 * bounced / count if count else None
        integration.complaint_rate = 100.0 * complained / count if count else None
    return integrations
