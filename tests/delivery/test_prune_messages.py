"""`manage.py prune_messages --older-than DAYS` deletes old sent mail and its attempts."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


def message(status: str, age_days: int) -> Message:
    sent = send_email(to="bob@example.org", subject=f"{status} {age_days}", text="x")
    created = timezone.now() - timedelta(days=age_days)
    Message.objects.filter(pk=sent.pk).update(status=status, created_at=created)
    SendAttempt.objects.create(message=sent, integration=sent.integration, number=1,
                               started_at=created, stage="data", succeeded=status == "sent")
    return sent


def test_it_deletes_old_sent_messages_with_their_attempts_in_batches():
    make_integration()
    old = [message(Status.SENT, 100) for _ in range(5)]
    recent = message(Status.SENT, 10)
    failed = message(Status.FAILED, 100)
    out = io.StringIO()
    call_command("prune_messages", "--older-than", "90", "--batch-size", "2", stdout=out)
    assert "Deleted 5 message(s) and 5 attempt(s)" in out.getvalue()
    remaining = set(Message.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, failed.pk}
    assert not SendAttempt.objects.filter(message_id__in=[m.pk for m in old]).exists()


def test_zero_days_is_refused():
    with pytest.raises(CommandError, match="at least 1 day"):
        call_command("prune_messages", "--older-than", "0")


def test_a_number_of_days_beyond_the_calendar_is_refused_clearly():
    with pytest.raises(CommandError, match="before year 1"):
        call_command("prune_messages", "--older-than", "99999999999")
