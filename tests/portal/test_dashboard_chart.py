"""The dashboard's 7-day chart and each integration's bounce and complaint rates."""

from __future__ import annotations

import pytest
from django.utils import timezone

from delivery import feedback
from delivery.models import Message, Status
from delivery.portal import chart as dashboard_chart
from delivery.portal.chart import HOURS
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


def _sent(integration, n: int) -> Message:
    now = timezone.now()
    return Message.objects.create(
        integration=integration, from_email="app@example.com", to=[f"r{n}@example.org"],
        subject="s", text="x", status=Status.SENT, sent_at=now, next_attempt_at=now,
        deadline=now)


def chart_at(now):
    start = dashboard_chart.window_start(now)
    return dashboard_chart.hourly_chart(now, dashboard_chart.sent_per_hour_and_integration(start))


def test_the_chart_counts_each_series_in_its_hour():
    integration = make_integration()
    messages = [_sent(integration, n) for n in range(4)]
    feedback.record_bounce(messages[0], "r0@example.org", hard=True, digest="a")
    feedback.record_complaint(messages[1], "r1@example.org", digest="b")
    chart = chart_at(timezone.now())
    totals = {line.key: line.total for line in chart["lines"]}
    assert totals == {"sent": 4, "failed": 0, "bounced": 1, "complaints": 1}
    assert all(len(line.points.split()) == HOURS for line in chart["lines"])


def test_the_dashboard_shows_the_chart_and_the_rates(admin_client):
    integration = make_integration()
    messages = [_sent(integration, n) for n in range(4)]
    feedback.record_bounce(messages[0], "r0@example.org", hard=True, digest="a")
    page = admin_client.get("/portal/").content.decode()
    assert 'id="hourly-chart"' in page and 'class="series-bounced"' in page
    assert "25.0 % / 0.00 %" in page


def test_the_chart_counts_failures_by_when_they_failed_also_after_a_retry():
    integration = make_integration()
    now = timezone.now()
    failed, retried = _sent(integration, 1), _sent(integration, 2)
    Message.objects.filter(pk=failed.pk).update(status=Status.FAILED, sent_at=None, failed_at=now)
    # A staff retry puts it back in the queue and keeps failed_at: the outage stays visible.
    Message.objects.filter(pk=retried.pk).update(status=Status.QUEUED, sent_at=None,
                                                 failed_at=now)
    totals = {line.key: line.total for line in chart_at(now)["lines"]}
    assert (totals["sent"], totals["failed"]) == (0, 2)
