"""A failure nothing classified is still an attempt: recorded, retried, the batch goes on."""

from __future__ import annotations

import pytest

from delivery import batch_session, engine
from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


def queue_three(integration) -> list[Message]:
    return [send_email(to=[f"user{n}@example.org"], subject=f"n{n}", text="hi",
                       integration=integration) for n in range(3)]


def test_a_message_that_cannot_be_built_is_retried_and_the_rest_of_the_batch_goes_out():
    with SmtpTestServer() as server:
        integration = make_integration(server)
        first, broken, last = queue_three(integration)
        # A row no longer valid for rendering (written around send_email's checks).
        Message.objects.filter(pk=broken.pk).update(attachments=[
            {"filename": "a.bin", "mimetype": "no-subtype", "content_b64": "AAAA"}
        ])
        engine.drain(integration.pk)
        assert {m.rcpt_tos[0] for m in server.messages} == {"user0@example.org",
                                                              "user2@example.org"}
    broken.refresh_from_db()
    assert broken.status == Status.QUEUED and broken.claim_token is None
    attempt = SendAttempt.objects.get(message=broken)
    assert (attempt.stage, attempt.failure_class) == ("data", "transient")
    assert "could not be built" in attempt.error and "worker log" in attempt.hint
    assert set(Message.objects.filter(status=Status.SENT).values_list("pk", flat=True)) == {
        first.pk, last.pk}


def test_an_unexpected_error_is_recorded_without_secrets_and_the_batch_goes_on(monkeypatch):
    with SmtpTestServer(credentials={"app": "s3cret-password"}) as server:
        integration = make_integration(server)
        first, unlucky, last = queue_three(integration)
        check_sender = batch_session.BatchSession._check_sender

        def failing_once(self, message):
            if message.pk == unlucky.pk:
                # Stands in for a bug: nothing local fails this way on purpose.
                raise RuntimeError(f"bug while handling {self.integration.password}")
            return check_sender(self, message)

        monkeypatch.setattr(batch_session.BatchSession, "_check_sender", failing_once)
        engine.drain(integration.pk)
        assert len(server.messages) == 2
    unlucky.refresh_from_db()
    assert unlucky.status == Status.QUEUED and unlucky.claim_token is None
    attempt = SendAttempt.objects.get(message=unlucky)
    assert attempt.failure_class == "transient"
    assert "Unexpected error: RuntimeError" in attempt.error and "s3cret" not in attempt.error
    assert Message.objects.filter(status=Status.SENT).count() == 2


def test_the_worker_log_of_an_unexpected_error_has_no_secret_either(monkeypatch, caplog):
    # The attempt is redacted with the integration's secrets; the log line (with its
    # traceback) that the hint sends staff to must not carry them either.
    import logging

    from notifuse_smtp.logs import JsonFormatter, RedactingFilter

    with SmtpTestServer(credentials={"app": "s3cret-password"}) as server:
        integration = make_integration(server)
        (message,) = queue_three(integration)[:1]
        Message.objects.exclude(pk=message.pk).delete()

        def failing(self, message):
            raise RuntimeError(f"bug while handling {self.integration.password}")

        monkeypatch.setattr(batch_session.BatchSession, "_check_sender", failing)
        with caplog.at_level(logging.ERROR, logger="delivery.engine"):
            engine.drain(integration.pk)
    records = [r for r in caplog.records if r.name == "delivery.engine"]
    assert records
    for record in records:
        RedactingFilter().filter(record)  # as the console handler does
        for formatter in (logging.Formatter(), JsonFormatter()):
            assert "s3cret-password" not in formatter.format(record)


def test_a_message_with_no_recipient_left_is_finished_without_reaching_the_server():
    with SmtpTestServer() as server:
        integration = make_integration(server)
        message = send_email(to=["gone@example.org"], subject="x", text="x",
                             integration=integration)
        Message.objects.filter(pk=message.pk).update(
            refused_recipients={"gone@example.org": [550, "5.1.1 no such user"]})
        engine.drain(integration.pk)
        assert server.connections == 0
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "refused for good earlier: gone@example.org" in message.last_error


def test_a_refusal_is_read_with_the_rules_of_the_integrations_provider():
    # SES refuses an unverified sandbox recipient with 554 "not verified": its rule calls that
    # configuration (verify it, then it goes out), not a recipient refused for good.
    from django.utils import timezone

    from delivery.lifecycle.outcomes import Outcome, record_outcomes

    integration = make_integration(None, host="email-smtp.eu-west-1.amazonaws.com")
    message = send_email(to=["ok@example.org", "new@example.org"], subject="x", text="x",
                         integration=integration)
    message.attempt_count = 1
    refusal = (554, "Message rejected: Email address is not verified. new@example.org")
    record_outcomes([Outcome(message, timezone.now(), "data", accepted=["ok@example.org"],
                          refused={"new@example.org": refusal})], integration)
    message.refresh_from_db()
    assert message.refused_recipients == {}
    assert message.status == Status.QUEUED and message.delivered_to == ["ok@example.org"]
