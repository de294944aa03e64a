"""When the retry schedule gives up, and how it says so."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery import sweeper
from delivery.api import send_email
from delivery.models import Message, Status
from delivery.retry import give_up_reason
from tests.factories import make_integration


def test_it_says_how_many_attempts_were_made(settings):
    now = timezone.now()
    later = now + timedelta(days=1)
    settings.DELIVERY_MAX_ATTEMPTS = 1
    assert give_up_reason(1, now, later) == "gave up after 1 attempt"
    settings.DELIVERY_MAX_ATTEMPTS = 3
    assert give_up_reason(2, now, later) == ""
    assert give_up_reason(3, now, later) == "gave up after 3 attempts"


def test_it_gives_up_when_the_next_attempt_would_pass_the_deadline(settings):
    now = timezone.now()
    assert "deadline" in give_up_reason(1, now + timedelta(hours=2), now + timedelta(hours=1))


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["attempts", "deadline"])
def test_the_sweeper_gives_up_on_a_message_whose_worker_keeps_dying(case, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    message = send_email(to=["bob@example.org"], subject="x", text="x",
                         integration=make_integration())
    now = timezone.now()
    # Claimed again and again by workers that died before reporting (a message that crashes
    # or exhausts the worker): every claim counted an attempt.
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, claim_token=uuid.uuid4(),
        lease_expires_at=now - timedelta(seconds=1),
        attempt_count=3 if case == "attempts" else 1,
        deadline=now + timedelta(days=1) if case == "attempts" else now - timedelta(seconds=1),
    )
    sweeper.requeue_expired_leases()
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "gave up" in message.last_error and message.claim_token is None
    assert message.attempts.get().failure_class == sweeper.INTERRUPTED
