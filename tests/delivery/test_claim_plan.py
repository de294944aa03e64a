"""A claim reads its batch off the due-mail index in order: it never sorts the backlog."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.utils import timezone

from delivery.api import send_bulk
from delivery.lifecycle.claiming import _claim_sql
from delivery.models import Status
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _claim_plan(integration_id: int) -> list[str]:
    now = timezone.now()
    params = [Status.SENDING, "00000000-0000-0000-0000-000000000000", now, now,
              integration_id, Status.QUEUED, now, 100]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + _claim_sql(connection.alias), params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return [node["Node Type"] for node in _plan_nodes(plan[0]["Plan"])]


@pytest.mark.parametrize("statistics", ["none yet", "analyzed"])
def test_claiming_from_a_backlog_reads_the_index_in_order_without_sorting(statistics):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    integration = make_integration()
    send_bulk([{"to": [f"reader{n}@example.org"], "subject": "News", "text": "x",
                "integration": integration} for n in range(3000)])
    if statistics == "analyzed":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE delivery_message")
    nodes = _claim_plan(integration.pk)
    # Before statistics exist the planner takes the backlog for a few rows: with an index
    # not in the claim's full order it sorted every due row for each batch.
    assert not [n for n in nodes if "Sort" in n], nodes
    assert "Index Scan" in nodes or "Index Only Scan" in nodes, nodes
