"""When the retry schedule gives up, and how it says so."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery import batch_session, engine
from delivery.lifecycle import transitions
from delivery.api import send_email
from delivery.models import Message, Status
from delivery.lifecycle.backoff import give_up_reason
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer


def try_now(integration, message) -> None:
    """Make the message due, drain its integration, and read the message back."""
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    engine.drain(integration.pk)
    message.refresh_from_db()


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
    transitions.expire_leases()
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.failed_at is not None
    assert "gave up" in message.last_error and message.claim_token is None
    assert message.attempts.get().failure_class == transitions.INTERRUPTED


def test_held_mail_is_not_limited_by_attempts_only_by_its_deadline():
    assert give_up_reason(50, timezone.now(), timezone.now() + timedelta(days=1), held=True) == ""
    past = timezone.now() - timedelta(seconds=1)
    assert "deadline" in give_up_reason(50, timezone.now(), past, held=True)


@pytest.mark.django_db
def test_a_staff_retry_gives_a_message_that_gave_up_a_fresh_set_of_attempts(settings):
    from delivery.lifecycle.transitions import staff_retry

    settings.DELIVERY_MAX_ATTEMPTS = 2
    with SmtpTestServer(fail_first_n=(3, "451 4.3.0 Try again later")) as server:
        integration = make_integration(server)
        message = send_email(to=["bob@example.org"], subject="x", text="x",
                             integration=integration)


        try_now(integration, message)
        try_now(integration, message)
        assert message.status == Status.FAILED and "gave up after 2 attempts" in message.last_error
        failed_at = message.failed_at
        assert failed_at is not None
        assert staff_retry(Message.objects.filter(pk=message.pk)) == 1
        # The third 451: the first attempt since the retry, so it waits again.
        try_now(integration, message)
        assert message.status == Status.QUEUED
        try_now(integration, message)
        assert message.status == Status.SENT
        assert len(server.messages) == 1
    message.refresh_from_db()
    assert message.failed_at == failed_at  # the failure stays counted on the dashboard
    assert list(message.attempts.order_by("number").values_list("number", flat=True)) == [
        1, 2, 3, 4]


@pytest.mark.django_db
def test_a_staff_retry_of_mail_every_recipient_refused_tries_those_recipients_again():
    # A message failed because its one recipient was refused for good (the mailbox did not
    # exist). Staff create the mailbox and press Retry: the retry must send to it, not find
    # no recipient left (the refusal was recorded) and fail with an unexpected error.
    from delivery.lifecycle.transitions import staff_retry

    with SmtpTestServer(reject_rcpt={"bob@example.org": "550 5.1.1 No such user"}) as server:
        integration = make_integration(server)
        message = send_email(to=["bob@example.org"], subject="x", text="x",
                             integration=integration)
        engine.drain(integration.pk)
        message.refresh_from_db()
        assert message.status == Status.FAILED and message.failed_at is not None
        server.reject_rcpt.clear()  # the mailbox now exists
        assert staff_retry(Message.objects.filter(pk=message.pk)) == 1
        engine.drain(integration.pk)
        message.refresh_from_db()
        last = message.attempts.order_by("-number").first()
        assert "Unexpected" not in last.error
        assert message.status == Status.SENT, message.last_error
        assert [m.rcpt_tos for m in server.messages] == [["bob@example.org"]]


@pytest.mark.django_db
def test_the_sweeper_does_not_fail_held_mail_past_the_attempt_limit(settings):
    # Mail held by a wrong password is tried again and again until its deadline; a worker
    # that dies while holding it must not make the sweeper fail it by the attempt count.
    from delivery.models import SendAttempt

    settings.DELIVERY_MAX_ATTEMPTS = 3
    message = send_email(to=["bob@example.org"], subject="x", text="x",
                         integration=make_integration())
    now = timezone.now()
    for number in range(1, 6):
        SendAttempt.objects.create(
            message=message, integration_id=message.integration_id, number=number,
            started_at=now, finished_at=now, stage="auth", smtp_code=535,
            error="auth: 535 5.7.8 bad credentials", failure_class="configuration",
        )
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, claim_token=uuid.uuid4(),
        lease_expires_at=now - timedelta(seconds=1), attempt_count=6,
        deadline=now + timedelta(days=1),
    )
    transitions.expire_leases()
    message.refresh_from_db()
    assert message.status == Status.QUEUED, message.last_error


@pytest.mark.django_db
def test_mail_held_by_a_wrong_password_outlasts_the_attempt_limit_and_any_error_after_the_fix(
    settings,
):
    # DESIGN: configuration failures hold mail until its deadline, so that it goes out once
    # staff fix the integration. Counting them as attempts failed it after a few hours, and
    # after the fix its first temporary failure ended it ("gave up after 5 attempts").
    settings.DELIVERY_MAX_ATTEMPTS = 2
    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server, password="wrong")
        message = send_email(to=["bob@example.org"], subject="x", text="x",
                             integration=integration)
        for _ in range(4):
            try_now(integration, message)
        assert (message.status, message.attempt_count) == (Status.QUEUED, 4)
        integration.password = "right"
        integration.save()
        server.fail_first_n = (1, "451 4.3.0 Try again later")
        try_now(integration, message)
        assert message.status == Status.QUEUED, message.last_error
        # Backed off as a first failure (at most DELIVERY_RETRY_BASE_SECONDS), not as a fifth.
        wait = (message.next_attempt_at - timezone.now()).total_seconds()
        assert wait <= settings.DELIVERY_RETRY_BASE_SECONDS
        try_now(integration, message)
        assert message.status == Status.SENT


@pytest.mark.django_db
def test_a_fix_saved_while_a_drain_fails_with_the_old_settings_is_tried_at_once(monkeypatch):
    # The drain read the wrong password before staff saved the right one: its failed login
    # put the mail it had claimed (which the save could not release) back to its retry time,
    # so the fix waited up to DELIVERY_RETRY_MAX_SECONDS.
    from delivery.lifecycle.transitions import release_held
    from integrations.models import SmtpIntegration

    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server, password="wrong")
        message = send_email(to=["bob@example.org"], subject="x", text="x",
                             integration=integration)
        original_open = batch_session.BatchSession._open

        def staff_save_meanwhile(self, message):
            monkeypatch.setattr(batch_session.BatchSession, "_open", original_open)
            fixed = SmtpIntegration.objects.get(pk=integration.pk)
            fixed.password = "right"
            fixed.save()
            release_held(fixed)  # as the admin's save does
            return original_open(self, message)

        monkeypatch.setattr(batch_session.BatchSession, "_open", staff_save_meanwhile)
        engine.drain(integration.pk)
        message.refresh_from_db()
        assert message.status == Status.QUEUED
        assert message.next_attempt_at <= timezone.now()
        engine.drain(integration.pk)
        message.refresh_from_db()
        assert message.status == Status.SENT, message.last_error
        assert len(server.messages) == 1
