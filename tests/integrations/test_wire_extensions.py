"""What goes over the wire against a scripted server: MAIL FROM's SIZE and BODY, the 8BITMIME
downgrade, a 421 at any step, refusals kept when DATA fails, a server that goes silent."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest
from django.utils import timezone

from delivery import engine
from delivery.api import send_email
from delivery.models import Message, Status
from integrations.failures import catalog
from integrations.failures.errors import DeliveryError
from integrations.smtp_client import SmtpSession
from tests.factories import make_integration
from tests.support.scripted_smtp import END_OF_DATA, SILENT, ScriptedSmtpServer

pytestmark = pytest.mark.django_db

GREETING = "Grüße aus Köln — schöne Woche!\n.Punkt am Zeilenanfang\n"
# With and without PIPELINING: the pipelined write and smtplib's command-by-command path.
BOTH_PATHS = pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "stepwise"])


def _extensions(pipelining: bool, *more: str) -> tuple[str, ...]:
    return (*(["PIPELINING"] if pipelining else []), *more)


def _queue(integration, *recipients: str, text: str = GREETING) -> Message:
    return send_email(to=list(recipients), subject="Hallo", text=text, integration=integration)


def _parsed(content: bytes):
    return BytesParser(policy=policy.strict).parsebytes(content)


def _text(part) -> str:
    return part.get_content().replace("\r\n", "\n")


# -- SIZE and BODY ------------------------------------------------------------------------------
@BOTH_PATHS
def test_mail_from_declares_the_size_and_8bit_body_the_server_offers(pipelining):
    extensions = _extensions(pipelining, "SIZE 10240000", "8BITMIME")
    with ScriptedSmtpServer(extensions=extensions) as server:
        message = _queue(make_integration(server), "bob@example.org")
        engine.drain(message.integration_id)
    message.refresh_from_db()
    assert message.status == Status.SENT
    [received] = server.messages
    assert server.mail_commands() == [
        f"MAIL FROM:<app@example.com> BODY=8BITMIME SIZE={len(received)}"
    ]
    assert "Grüße".encode() in received  # sent as it is, 8-bit
    assert _text(_parsed(received)) == GREETING


def test_a_7bit_message_declares_its_size_and_no_body():
    with ScriptedSmtpServer(extensions=("PIPELINING", "SIZE", "8BITMIME")) as server:
        message = _queue(make_integration(server), "bob@example.org", text="plain ascii\n")
        engine.drain(message.integration_id)
    [received] = server.messages
    assert server.mail_commands() == [f"MAIL FROM:<app@example.com> SIZE={len(received)}"]


def test_a_server_without_extensions_gets_a_bare_mail_from():
    with ScriptedSmtpServer(extensions=("PIPELINING",)) as server:
        message = _queue(make_integration(server), "bob@example.org", text="plain ascii\n")
        engine.drain(message.integration_id)
    assert server.mail_commands() == ["MAIL FROM:<app@example.com>"]


@BOTH_PATHS
def test_a_message_over_the_announced_size_is_refused_before_mail_from(pipelining):
    big = "x" * 70 + "\n"
    with ScriptedSmtpServer(extensions=_extensions(pipelining, "SIZE 2000")) as server:
        message = _queue(make_integration(server), "bob@example.org", text=big * 40)
        small = _queue(message.integration, "bob@example.org", text="short\n")
        engine.drain(message.integration_id)
    message.refresh_from_db(), small.refresh_from_db()
    attempt = message.attempts.get()
    rule = catalog.rule("local.message-too-large")
    assert (attempt.stage, attempt.failure_class, attempt.hint) == ("mail", "permanent", rule.hint)
    assert "server takes at most 2000 bytes" in attempt.error
    assert message.status == Status.FAILED
    # Nothing of it reached the server; the next message went out on the same session.
    assert small.status == Status.SENT and len(server.messages) == 1
    assert len(server.mail_commands()) == 1 and server.connections == 1


# -- the 8BITMIME downgrade ---------------------------------------------------------------------
@BOTH_PATHS
def test_a_server_without_8bitmime_receives_7bit_quoted_printable_of_the_same_text(pipelining):
    html = "<p>Grüße — <b>schön</b></p>"
    with ScriptedSmtpServer(extensions=_extensions(pipelining, "SIZE")) as server:
        integration = make_integration(server)
        message = send_email(
            to=["bob@example.org"],
            subject="Hallo",
            text=GREETING,
            html=html,
            integration=integration,
            track=False,
        )
        engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
    [received] = server.messages
    assert received.isascii()
    assert server.mail_commands() == [f"MAIL FROM:<app@example.com> SIZE={len(received)}"]
    parsed = _parsed(received)
    plain, rich = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert _text(plain) == GREETING and html in _text(rich)
    assert parsed["Subject"] == "Hallo"


# -- 421 ends the session with its code ---------------------------------------------------------
def test_a_421_in_answer_to_auth_is_recorded_with_its_code_and_nothing_follows():
    closing = "421 4.7.0 Try again later, closing connection."
    with ScriptedSmtpServer(
        extensions=("AUTH PLAIN LOGIN",), replies={"AUTH PLAIN": closing}
    ) as server:
        integration = make_integration(server, auth_type="basic", username="app", password="pw-1")
        message = _queue(integration, "bob@example.org")
        engine.drain(integration.pk)
    message.refresh_from_db()
    attempt = message.attempts.get()
    assert (attempt.stage, attempt.smtp_code, attempt.enhanced_code) == ("auth", 421, "4.7.0")
    assert attempt.failure_class == "transient" and message.status == Status.QUEUED
    assert attempt.hint == catalog.rule("smtp.421").hint
    assert "closing connection" in attempt.error
    # smtplib's login() would go on with AUTH LOGIN on the closed connection.
    assert [c.split(" ", 2)[:2] for c in server.commands] == [
        ["EHLO", integration.ehlo_name],
        ["AUTH", "PLAIN"],
    ]


@pytest.mark.parametrize(
    ("step", "stage"),
    [
        ("EHLO", "ehlo"),
        ("MAIL FROM", "mail"),
        ("RCPT TO", "rcpt"),
        ("DATA", "data"),
        (END_OF_DATA, "data"),
    ],
)
@BOTH_PATHS
def test_a_421_at_any_step_ends_the_session_with_its_code(step, stage, pipelining):
    closing = "421 4.3.2 Shutting down"
    extensions = _extensions(pipelining)
    with ScriptedSmtpServer(extensions=extensions, replies={step: closing}) as server:
        session = SmtpSession(make_integration(server, auth_type="none"), timeout=5)
        with pytest.raises(DeliveryError) as raised:
            session.open()
            session.send("app@example.com", ["bob@example.org"], b"Subject: x\r\n\r\nhi\r\n")
        connection = session.smtp or session.smtp_in_progress
        assert connection.sock is None  # closed at once, no command after the 421
        session.close()
    error = raised.value
    assert (error.stage, error.smtp_code, error.enhanced_code) == (stage, 421, "4.3.2")
    assert error.rule == "smtp.421" and "Shutting down" in error.text
    assert server.connections == 1 and "QUIT" not in server.commands


# -- refusals kept when DATA is refused ---------------------------------------------------------
@BOTH_PATHS
def test_a_recipient_refused_before_data_was_refused_stays_refused(pipelining):
    replies = {
        "RCPT TO:<gone@example.org>": "550 5.1.1 No such user",
        "DATA": "554 5.6.0 Message rejected",
    }
    with ScriptedSmtpServer(extensions=_extensions(pipelining), replies=replies) as server:
        message = _queue(make_integration(server), "ok@example.org", "gone@example.org")
        engine.drain(message.integration_id)
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.refused_recipients == {"gone@example.org": [550, "5.1.1 No such user"]}
    attempt = message.attempts.get()
    assert (attempt.stage, attempt.smtp_code, attempt.enhanced_code) == ("data", 554, "5.6.0")
    assert "gone@example.org refused: 550 5.1.1 No such user" in attempt.error
    assert server.messages == []


@BOTH_PATHS
def test_after_a_temporary_data_refusal_only_the_recipients_not_refused_are_tried_again(
    pipelining,
):
    replies = {
        "RCPT TO:<gone@example.org>": "550 5.1.1 No such user",
        "DATA": "451 4.3.0 Try again later",
    }
    with ScriptedSmtpServer(extensions=_extensions(pipelining), replies=replies) as server:
        message = _queue(make_integration(server), "ok@example.org", "gone@example.org")
        engine.drain(message.integration_id)
        message.refresh_from_db()
        assert message.status == Status.QUEUED
        assert list(message.refused_recipients) == ["gone@example.org"]
        server.replies = {}
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        engine.drain(message.integration_id)
    message.refresh_from_db()
    assert message.status == Status.SENT
    rcpts = [c for c in server.commands if c.startswith("RCPT ")]
    assert rcpts == [
        "RCPT TO:<ok@example.org>",
        "RCPT TO:<gone@example.org>",
        "RCPT TO:<ok@example.org>",
    ]


# -- a server that goes silent ------------------------------------------------------------------
@BOTH_PATHS
def test_a_server_silent_after_the_message_is_recorded_as_a_timeout(settings, pipelining):
    settings.SMTP_TIMEOUT = 0.5
    with ScriptedSmtpServer(
        extensions=_extensions(pipelining), replies={END_OF_DATA: SILENT}
    ) as server:
        message = _queue(make_integration(server), "bob@example.org")
        engine.drain(message.integration_id)
    message.refresh_from_db()
    attempt = message.attempts.get()
    rule = catalog.rule("exception.reply-timeout")
    assert (attempt.stage, attempt.smtp_code, attempt.failure_class) == ("data", None, "transient")
    assert attempt.error == "Timed out after 0.5 s waiting for the server"
    assert attempt.hint == rule.hint != catalog.rule("exception.disconnected").hint
    assert message.status == Status.QUEUED
    assert len(server.messages) == 1  # the whole message went; its answer never came


def test_a_server_silent_after_rcpt_fails_the_session_step_by_step_at_rcpt():
    with ScriptedSmtpServer(extensions=(), replies={"RCPT": SILENT}) as server:
        session = SmtpSession(make_integration(server, auth_type="none"), timeout=0.3)
        session.open()
        with pytest.raises(DeliveryError) as raised:
            session.send("app@example.com", ["bob@example.org"], b"Subject: x\r\n\r\nhi\r\n")
        session.close()
    assert (raised.value.rule, raised.value.stage) == ("exception.reply-timeout", "rcpt")
    assert raised.value.text == "Timed out after 0.3 s waiting for the server"
