"""The dashboard shows a throttling pause and each integration's pace against its limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import Status
from delivery.ratelimit import shared_limiter
from tests.factories import make_integration
from tests.portal.helpers import count_queries, make_message, page_of
from tests.portal.test_portal_pages import row_of

pytestmark = pytest.mark.django_db


def test_a_throttled_integration_shows_until_when_and_why(staff):
    make_integration(name="Paused", last_success_at=timezone.now(),
                     throttled_until=timezone.now() + timedelta(minutes=1),
                     throttled_reason="Gmail's daily sending limit is used up")
    row = row_of(page_of(staff, "/portal/"), "Paused")
    assert "Paused until" in row and "nothing is lost" in row
    assert "Gmail&#x27;s daily sending limit is used up" in row
    assert "Pace:" not in row  # no limits, no pace


def test_the_pace_shows_the_last_minute_the_rolling_day_and_when_the_queue_empties(staff):
    limited = make_integration(name="Limited", rate_limit_per_minute=30,
                               rate_limit_per_day=10_000, daily_limit_counts="recipients")
    make_message(limited, sent_at=timezone.now() - timedelta(seconds=20))
    make_message(limited, sent_at=timezone.now() - timedelta(seconds=90))  # over a minute ago
    for _ in range(60):
        make_message(limited, status=Status.QUEUED)
    shared_limiter().acquire(limited, recipients=7)
    row = row_of(page_of(staff, "/portal/"), "Limited")
    assert "1 / 30 in the last minute" in row and "7 / 10000 recipients in 24 h" in row
    assert "queue empty in about 2 min" in row  # 60 queued at 30 a minute


def test_the_pace_costs_no_query_per_integration(staff):
    for n in range(2):
        make_message(make_integration(name=f"a{n}", rate_limit_per_minute=30))
    few = count_queries(staff, "/portal/")
    for n in range(18):
        integration = make_integration(name=f"b{n}", rate_limit_per_minute=30,
                                       rate_limit_per_day=100)
        make_message(integration, status=Status.QUEUED)
    assert count_queries(staff, "/portal/") == few
