"""PIPELINING (RFC 2920): MAIL, RCPT and DATA in one write, and every reply read in order;
with CHUNKING (RFC 3030) the content in that write too, as BDAT."""

from __future__ import annotations

import threading

import pytest

from delivery import engine
from delivery.api import send_email
from delivery.models import Status
from integrations.smtp_client import SmtpSession
from tests.factories import make_integration
from tests.support.raw_servers import listen
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


class RepliesOnlyAfterEverything:
    """A server that answers nothing until MAIL, RCPT and DATA arrived, or, offering
    CHUNKING, until MAIL, RCPT, BDAT and the whole chunk did.

    A client that waited for any reply before sending the rest would wait forever here (its
    timeout fails the test): delivering through it proves how few round trips it took.
    """

    def __init__(self, chunking: bool) -> None:
        self.chunking = chunking
        self.listener = listen(0)
        self.port = self.listener.getsockname()[1]
        self.commands: list[bytes] = []
        self.content = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        last = b"BDAT" if self.chunking else b"DATA"
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 test ESMTP\r\n")
            lines.readline()  # EHLO
            conn.sendall(b"250-test\r\n250-PIPELINING\r\n250 "
                         + (b"CHUNKING" if self.chunking else b"8BITMIME") + b"\r\n")
            while not self.commands or not self.commands[-1].startswith(last):
                self.commands.append(lines.readline().rstrip(b"\r\n"))
            if self.chunking:
                self.content = lines.read(int(self.commands[-1].split()[1]))
                conn.sendall(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.0.0 queued\r\n")
            else:
                conn.sendall(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 go ahead\r\n")
                while (line := lines.readline()) != b".\r\n":
                    self.content += line
                conn.sendall(b"250 2.0.0 queued\r\n")
            lines.readline()  # QUIT
            conn.sendall(b"221 bye\r\n")


@pytest.mark.parametrize(("chunking", "last_command", "content"), [
    (False, b"DATA", b"Subject: x\r\n\r\n..hi\r\n"),  # the leading dot doubled
    (True, b"BDAT 19 LAST", b"Subject: x\r\n\r\n.hi\r\n"),  # counted, sent as it is
], ids=["data", "bdat"])
def test_commands_go_together_when_the_server_offers_pipelining(
    settings, chunking, last_command, content
):
    settings.SMTP_TIMEOUT = 3
    server = RepliesOnlyAfterEverything(chunking)
    try:
        integration = make_integration(host="127.0.0.1", port=server.port, auth_type="none")
        session = SmtpSession(integration)
        session.open()
        refused = session.send("app@example.com", ["bob@example.org"], b"Subject: x\r\n\r\n.hi")
        session.close()
    finally:
        server.listener.close()
    assert refused == {}
    assert server.commands == [b"MAIL FROM:<app@example.com>", b"RCPT TO:<bob@example.org>",
                               last_command]
    assert server.content == content


@pytest.fixture(params=[False, True], ids=["data", "bdat"])
def pipelining_server(request):
    """With CHUNKING too the content goes as BDAT in the same write: the same outcomes."""
    with SmtpTestServer(pipelining=True, chunking=request.param) as server:
        yield server


def _queue(integration, *recipients: str):
    return send_email(to=list(recipients), subject="Hi", text="x", integration=integration)


def test_a_refused_mail_from_leaves_the_session_usable_for_the_next_message(
    pipelining_server,
):
    pipelining_server.fail_first_n = (1, "451 4.3.0 Try again later")
    integration = make_integration(pipelining_server)
    first, second = _queue(integration, "a@example.org"), _queue(integration, "b@example.org")
    engine.drain(integration.pk)
    first.refresh_from_db(), second.refresh_from_db()
    attempt = first.attempts.get()
    assert (attempt.stage, attempt.smtp_code, attempt.failure_class) == ("mail", 451, "transient")
    assert first.status == Status.QUEUED and second.status == Status.SENT
    assert [m.rcpt_tos for m in pipelining_server.messages] == [["b@example.org"]]
    assert pipelining_server.connections == 1


def test_every_recipient_refused_then_the_next_message_goes_out_on_the_same_session(
    pipelining_server,
):
    pipelining_server.reject_rcpt = {"gone@example.org": "550 5.1.1 No such user"}
    integration = make_integration(pipelining_server)
    gone, fine = _queue(integration, "gone@example.org"), _queue(integration, "ok@example.org")
    engine.drain(integration.pk)
    gone.refresh_from_db(), fine.refresh_from_db()
    assert gone.status == Status.FAILED
    assert (gone.attempts.get().stage, gone.attempts.get().smtp_code) == ("rcpt", 550)
    assert fine.status == Status.SENT
    assert [m.rcpt_tos for m in pipelining_server.messages] == [["ok@example.org"]]
    assert pipelining_server.connections == 1


def test_a_refused_data_is_classified_at_the_data_stage(pipelining_server):
    pipelining_server.reject_data = "554 5.6.0 Message rejected"
    integration = make_integration(pipelining_server)
    message = _queue(integration, "a@example.org")
    engine.drain(integration.pk)
    attempt = message.attempts.get()
    assert (attempt.stage, attempt.smtp_code, attempt.enhanced_code) == ("data", 554, "5.6.0")
    assert pipelining_server.messages == []
