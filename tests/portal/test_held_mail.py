"""Held mail is a state staff can see: on its page, in the log, and on the dashboard."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from delivery.models import Message, Status
from integrations.failures.catalog import rule
from tests.factories import make_integration
from tests.portal.helpers import count_queries, make_message, page_of

pytestmark = pytest.mark.django_db
REASON = "auth: 535 5.7.8 Authentication credentials invalid"


def broken_integration(name: str = "Broken", hours_ago: float = 2):
    since = timezone.now().replace(microsecond=0) - timedelta(hours=hours_ago)
    return make_integration(name=name, needs_attention_reason=REASON,
                            needs_attention_hint=rule("smtp.535").hint,
                            needs_attention_since=since)


def held_message(integration, subject: str = "Held one", **fields) -> Message:
    """Queued, its next try an hour ahead, as a configuration failure leaves it."""
    return make_message(integration, status=Status.QUEUED, subject=subject,
                        next_attempt_at=timezone.now() + timedelta(hours=1), **fields)


def shown(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def test_the_message_page_says_held_why_and_since_when_instead_of_the_next_attempt(staff):
    broken = broken_integration()
    html = page_of(staff, f"/portal/messages/{held_message(broken).pk}/")
    assert 'id="message-status">Held</span>' in html
    assert f"Held: {REASON} since {shown(broken.needs_attention_since)}" in html
    assert rule("smtp.535").hint in html
    assert "Next attempt" not in html

    waiting = make_message(make_integration(), status=Status.QUEUED, subject="Backing off")
    html = page_of(staff, f"/portal/messages/{waiting.pk}/")
    assert 'id="message-status">Queued</span>' in html and "Next attempt" in html
    assert "Held:" not in html


def test_the_log_filters_held_mail_and_labels_its_rows(staff):
    broken = broken_integration()
    held_message(broken, subject="Stuck invoice")
    make_message(broken, subject="Sent before it broke")
    make_message(make_integration(), status=Status.QUEUED, subject="Healthy queued")
    held = page_of(staff, "/portal/messages/?status=held")
    assert "Stuck invoice" in held
    assert "Healthy queued" not in held and "Sent before it broke" not in held
    everything = page_of(staff, "/portal/messages/")
    row = everything[everything.rindex("<tr", 0, everything.index("Stuck invoice")):]
    assert f'title="{REASON}">Held</span>' in row[:row.index("</tr>")]
    healthy = everything[everything.rindex("<tr", 0, everything.index("Healthy queued")):]
    assert ">Queued</span>" in healthy[:healthy.index("</tr>")]


def test_labelling_held_rows_costs_no_query_per_row(staff):
    broken = broken_integration()
    held_message(broken)
    one = count_queries(staff, "/portal/messages/")
    for n in range(10):
        held_message(broken_integration(name=f"Broken {n}"))
    assert count_queries(staff, "/portal/messages/") == one


def test_the_dashboard_counts_held_mail_and_its_wait_as_the_oldest(staff):
    broken = broken_integration()
    for _ in range(2):
        message = held_message(broken)
        Message.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(hours=3, minutes=1))
    make_message(make_integration(name="Healthy"), status=Status.QUEUED,
                 next_attempt_at=timezone.now() - timedelta(minutes=1))
    html = page_of(staff, "/portal/")
    assert '<div class="figure" id="queue-depth">3</div>' in html
    assert '?status=held">2</a>' in html
    assert ">3 h 1 min</div>" in html  # the held mail, not the one due a minute ago
    row = html[html.index('data-integration="Broken"'):]
    assert "2 messages held</a>" in row[:row.index("</tr>")]


def test_the_dashboard_shows_no_held_mail_while_every_integration_is_healthy(staff):
    make_message(make_integration(), status=Status.QUEUED,
                 next_attempt_at=timezone.now() + timedelta(hours=1))  # backing off
    html = page_of(staff, "/portal/")
    assert '?status=held">0</a>' in html and "card-held" not in html
    assert ">—</div>" in html  # nothing due, nothing held: nothing waits


def test_the_oldest_held_message_leaves_out_scheduled_mail_and_healthy_integrations():
    broken = broken_integration()
    now = timezone.now()
    scheduled = held_message(broken, send_at=now + timedelta(days=1))
    elsewhere = make_message(make_integration(), status=Status.QUEUED,
                             next_attempt_at=now + timedelta(hours=1))
    Message.objects.filter(pk__in=[scheduled.pk, elsewhere.pk]).update(
        created_at=now - timedelta(days=2))
    assert Message.objects.oldest_held_at(now) is None
    held = held_message(broken)
    assert Message.objects.oldest_held_at(now) == Message.objects.get(pk=held.pk).created_at


def test_the_export_says_held_for_held_mail(staff):
    held_message(broken_integration(), subject="Stuck invoice")
    make_message(make_integration(), status=Status.QUEUED, subject="Waiting its turn")
    response = staff.get("/portal/messages/export.csv")
    rows = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert {row["subject"]: row["status"] for row in rows} == {
        "Stuck invoice": "held", "Waiting its turn": "queued"}
