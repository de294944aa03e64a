"""When the retry schedule gives up, and how it says so."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from delivery.retry import give_up_reason


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
