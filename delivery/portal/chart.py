"""The dashboard's chart: sent, failed, bounced and complaints per hour over the last 7 days,
drawn on the server as SVG (no script, nothing to vendor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncHour

from delivery.choices import FeedbackKind
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


def window_start(now: datetime) -> datetime:
    """The first hour the chart shows (and the rates count from)."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


def sent_per_hour_and_integration(start: datetime) -> dict[tuple[datetime, int], int]:
    """{(hour, integration id): messages sent} since `start`: one index-only scan of
    (sent_at, integration_id), which the chart and the rates both read. sent_at is set once,
    when a message is sent, so no status is needed (a status would read every row)."""
    rows = (Message.objects.filter(sent_at__gte=start)
            .annotate(hour=TruncHour("sent_at")).values("hour", "integration_id")
            .annotate(total=Count("*")).order_by())
    return {(row["hour"], row["integration_id"]): row["total"] for row in rows}


def hourly_chart(now: datetime, sent: dict[tuple[datetime, int], int]) -> dict:
    """The chart's lines, axis maximum and size: `sent` (sent_per_hour_and_integration) and
    three grouped queries."""
    start = window_start(now)
    sent_per_hour: dict[datetime, int] = {}
    for (hour, _), total in sent.items():
        sent_per_hour[hour] = sent_per_hour.get(hour, 0) + total
    counts = {
        # failed_at is set when a message fails for good and kept by a staff retry, so an
        # outage stays on the chart as on the 24-hour figures (its partial index, index-only).
        "sent": sent_per_hour,
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
            .annotate(total=Count("*")).order_by())
    return {row["hour"]: row["total"] for row in rows}


def _points(values: list[int], peak: int) -> str:
    step = (WIDTH - 2 * PAD) / (len(values) - 1)
    height = HEIGHT - 2 * PAD
    return " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - value / peak * height:.1f}"
                    for i, value in enumerate(values))


def _day_mark(start: datetime, day: int) -> dict:
    x = PAD + day * 24 * (WIDTH - 2 * PAD) / (HOURS - 1)
    return {"x": round(min(x, WIDTH - PAD), 1), "label": f"{start + timedelta(days=day):%a %d}"}


def attach_feedback_rates(integrations: list, now: datetime,
                          sent_per_hour: dict[tuple[datetime, int], int]) -> list:
    """Each integration's bounce and complaint rates over the chart's 7 days (per sent
    message): `sent_per_hour` (sent_per_hour_and_integration) and one grouped query of the
    events; joining the events into the dashboard's counts would multiply them."""
    since = window_start(now)
    sent: dict[int, int] = {}
    for (_, integration_id), total in sent_per_hour.items():
        sent[integration_id] = sent.get(integration_id, 0) + total
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
