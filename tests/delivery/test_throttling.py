"""A provider's throttling reply pauses the whole integration; its mail waits, not fails."""

from __future__ import annotations

from dataclasses import replace

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery import engine
from delivery.api import send_bulk, send_email
from delivery.lifecycle.backoff import THROTTLED, attempts_counted
from delivery.models import Message, SendAttempt, Status
from delivery.pauses import pause_key, paused_for, start_pause
from delivery.throttling import THROTTLES, throttle_for
from integrations.failures.catalog import from_reply
from integrations.failures.rules import Context
from integrations.failures.errors import DeliveryError, FailureClass
from tests.conftest import wait_until
from tests.factories import make_integration
from notifuse_smtp.redis_connection import redis_client
from tests.support.smtp_servers import SmtpTestServer

EXCHANGE_RATE = (
    "421 4.4.2 Message submission rate for this client has exceeded the configured limit"
)


def reply(code: int, enhanced: str, text: str) -> DeliveryError:
    return from_reply("mail", code, f"{enhanced} {text}".strip(), Context())


@pytest.mark.parametrize(("code", "enhanced", "text", "name", "first_pause"), [
    (421, "4.4.2", "Message submission rate for this client has exceeded the configured limit",
     "exchange-rate", 60),
    (432, "4.3.2", "Concurrent connections limit exceeded", "exchange-connections", 60),
    (554, "5.2.0", "STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed "
     "to process message", "exchange-daily", 3600),
    (550, "5.4.5", "Daily user sending limit exceeded. - gsmtp", "gmail-daily", 3600),
    (454, "", "Throttling failure: Maximum sending rate exceeded.", "ses-rate", 5),
    (454, "", "Throttling failure: Daily message quota exceeded.", "ses-daily", 3600),
    (454, "4.7.0", "Too many login attempts, please try again later.", "gmail-logins", 120),
])
def test_throttling_replies_are_known_with_the_pause_the_provider_documents(
    code, enhanced, text, name, first_pause, settings
):
    settings.DELIVERY_THROTTLE_PAUSE_SECONDS = None
    throttle = throttle_for(reply(code, enhanced, text))
    assert throttle is not None and throttle.name == name
    assert throttle.pause_seconds(1) == first_pause


@pytest.mark.parametrize(("code", "enhanced", "text"), [
    (421, "4.7.0", "Try again later, closing connection."),
    (550, "5.1.1", "The email account that you tried to reach does not exist."),
    (554, "5.2.0", "STOREDRV.Submission.Exception:SendAsDeniedException"),
    (451, "4.3.0", "Temporary local problem"),
])
def test_other_replies_are_not_throttling(code, enhanced, text):
    assert throttle_for(reply(code, enhanced, text)) is None


def test_a_throttling_that_goes_on_takes_longer_pauses_then_starts_over(settings):
    settings.DELIVERY_THROTTLE_PAUSE_SECONDS = None
    [ses_rate] = [t for t in THROTTLES if t.name == "ses-rate"]
    assert [ses_rate.pause_seconds(n) for n in range(1, 6)] == [5, 10, 30, 1200, 5]


@pytest.mark.django_db
def test_a_pause_is_shared_through_redis_and_shown_on_the_integration(settings):
    settings.DELIVERY_THROTTLE_PAUSE_SECONDS = None
    integration = make_integration()
    [ses_rate] = [t for t in THROTTLES if t.name == "ses-rate"]
    error = reply(454, "", "Throttling failure: Maximum sending rate exceeded.")
    first = start_pause(integration, ses_rate, error)
    second = start_pause(integration, ses_rate, error)  # throttled again: a longer pause
    assert 4 < (first - timezone.now()).total_seconds() <= 5
    assert 9 < (second - timezone.now()).total_seconds() <= 10
    assert 9 < paused_for(integration.pk) <= 10
    integration.refresh_from_db()
    assert integration.health == "throttled"
    assert integration.throttled_until == second
    assert "maximum sending rate" in integration.throttled_reason.lower()


@pytest.mark.django_db
def test_a_throttling_reply_pauses_the_integration_and_its_mail_waits_uncounted(settings):
    settings.DELIVERY_THROTTLE_PAUSE_SECONDS = 600
    with SmtpTestServer(fail_first_n=(1, EXCHANGE_RATE)) as server:
        integration = make_integration(server)
        messages = [send_email(to=f"user{n}@example.org", subject="x", text="x")
                    for n in range(3)]
        engine.drain(integration.pk)
        engine.drain(integration.pk)  # paused: claims nothing, connects nowhere
        assert len(server.mail_commands) == 1 and server.connections == 1
    integration.refresh_from_db()
    assert integration.health == "throttled"
    assert 595 < integration.throttled_for() <= 600
    assert "4.4.2" in integration.throttled_reason
    waiting = list(Message.objects.order_by("pk"))
    assert [m.status for m in waiting] == [Status.QUEUED] * 3
    until, grain = integration.throttled_until, timedelta(milliseconds=10)
    assert all(until <= m.next_attempt_at <= until + grain for m in waiting)
    [attempt] = SendAttempt.objects.all()
    assert attempt.message_id == messages[0].pk and attempt.failure_class == THROTTLED
    assert attempt.smtp_code == 421 and attempt.enhanced_code == "4.4.2"
    assert [m.attempt_count for m in waiting] == [1, 0, 0]


@pytest.mark.django_db
def test_a_drain_that_finds_a_pause_set_by_another_worker_gives_its_batch_back_unconnected():
    with SmtpTestServer() as server:
        integration = make_integration(server)
        for n in range(3):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        # Another worker's pause, not yet on the row this drain read.
        redis_client().set(pause_key(integration.pk), "throttled", px=60_000)
        engine.drain(integration.pk)
        assert server.connections == 0
    waiting = Message.objects.all()
    assert [m.status for m in waiting] == [Status.QUEUED] * 3
    assert all(m.attempt_count == 0 and not m.attempts.exists() for m in waiting)
    assert all(55 < (m.next_attempt_at - timezone.now()).total_seconds() <= 60
               for m in waiting)


@pytest.mark.django_db
def test_after_the_pause_all_the_mail_goes_and_none_failed(settings):
    settings.DELIVERY_THROTTLE_PAUSE_SECONDS = 0.3
    with SmtpTestServer(fail_first_n=(1, EXCHANGE_RATE)) as server:
        integration = make_integration(server)
        for n in range(3):
            send_email(to=f"user{n}@example.org", subject="x", text="x")
        engine.drain(integration.pk)
        assert not Message.objects.due().exists()
        wait_until(lambda: Message.objects.due().count() == 3, timeout=5)
        engine.drain(integration.pk)
        assert len(server.messages) == 3
    assert sorted(Message.objects.values_list("status", flat=True)) == [Status.SENT] * 3


@pytest.mark.django_db
def test_the_try_that_met_the_throttling_does_not_count_against_the_message(settings):
    settings.DELIVERY_THROTTLE_PAUSE_SECONDS = 0.2
    settings.DELIVERY_MAX_ATTEMPTS = 2
    with SmtpTestServer(fail_first_n=(1, EXCHANGE_RATE)) as server:
        integration = make_integration(server)
        message = send_email(to="user@example.org", subject="x", text="x")
        engine.drain(integration.pk)
        server.fail_first_n = (1, "451 4.3.0 Temporary local problem")
        wait_until(lambda: Message.objects.due().exists(), timeout=5)
        engine.drain(integration.pk)
    message.refresh_from_db()
    # Two tries, one of them throttled: one counts, one more is allowed.
    assert message.attempt_count == 2 and attempts_counted(message) == 1
    assert message.status == Status.QUEUED


@pytest.mark.django_db
def test_a_throttled_message_waits_even_when_the_reply_reads_as_permanent():
    from delivery.lifecycle.claiming import claim_batch
    from delivery.lifecycle.outcomes import Outcome, record_outcomes

    integration = make_integration()
    send_email(to="user@example.org", subject="x", text="x")
    [message] = claim_batch(integration.pk, 10)
    until = timezone.now() + timedelta(hours=1)
    # As a provider rule might read it: permanent (the catalog's own row says transient).
    error = replace(from_reply("mail", 550, "5.4.5 Daily user sending limit exceeded.",
                               Context()), failure_class=FailureClass.PERMANENT)
    record_outcomes([Outcome(message, timezone.now(), "mail", error=error, paused_until=until)])
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at) == (Status.QUEUED, until)


@pytest.mark.django_db(transaction=True)
def test_two_workers_try_nothing_of_a_throttled_integration_until_its_pause_ends(start_worker):
    pause, count = 3.0, 250
    with SmtpTestServer(fail_first_n=(1, EXCHANGE_RATE)) as server:
        integration = make_integration(server)
        for name in ("throttle1@%h", "throttle2@%h"):
            start_worker(hostname=name, concurrency=2, DELIVERY_THROTTLE_PAUSE_SECONDS=pause)
        # Over 100 messages: several wake-ups, so drains on both workers send at once.
        send_bulk([{"to": f"user{n}@example.org", "subject": "x", "text": "x"}
                   for n in range(count)], kind="marketing")
        server.wait_for_messages(count, timeout=60)
        throttled_at, *later = server.mail_commands
    sent = Message.objects.filter(status=Status.SENT)
    wait_until(lambda: sent.count() == count, message="not every message was recorded sent")
    # A drain already sending on another worker looks at the pause every 50 ms: what it
    # began before it saw the pause is not "meanwhile".
    noticed = throttled_at + 0.5
    during = [t for t in later if noticed <= t < throttled_at + pause]
    resumed = min(t for t in later if t >= noticed) - throttled_at
    in_flight = sum(1 for t in later if t < noticed)
    print(f"\nthrottled at 0; {in_flight} tries begun before the other drains saw the "
          f"pause (within 0.5 s), {len(during)} during it, first try after it at "
          f"+{resumed:.2f} s (pause {pause:g} s)")
    assert during == []
    assert resumed >= pause
    assert not Message.objects.exclude(status=Status.SENT).exists()
    assert SendAttempt.objects.filter(failure_class=THROTTLED).count() == 1
    assert SendAttempt.objects.exclude(failure_class=THROTTLED).filter(succeeded=False)\
        .count() == 0
    assert len({m.parsed["To"] for m in server.messages}) == count
    integration.refresh_from_db()
    assert "4.4.2" in integration.throttled_reason
