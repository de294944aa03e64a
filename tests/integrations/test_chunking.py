"""CHUNKING (RFC 3030): a server that offers it with PIPELINING gets each message in one
write, the content as `BDAT <size> LAST`, and receives exactly what DATA would have carried."""

from __future__ import annotations

import smtplib
import socket
import threading

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from delivery import engine
from delivery.api import send_email
from delivery.models import Status
from integrations.smtp_client import SmtpSession
from tests.factories import drain_until_settled, make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


class RepliesOnlyAfterTheChunk:
    """A server that answers nothing until MAIL, RCPT, BDAT and the whole chunk arrived.

    A client that waited for any reply before sending the content would wait forever here
    (its timeout fails the test): delivering through it proves one round trip.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.commands: list[bytes] = []
        self.content = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as stream:
            conn.sendall(b"220 test ESMTP\r\n")
            stream.readline()  # EHLO
            conn.sendall(b"250-test\r\n250-PIPELINING\r\n250 CHUNKING\r\n")
            while not self.commands or not self.commands[-1].startswith(b"BDAT"):
                self.commands.append(stream.readline().rstrip(b"\r\n"))
            self.content = stream.read(int(self.commands[-1].split()[1]))
            conn.sendall(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.0.0 queued\r\n")
            stream.readline()  # QUIT
            conn.sendall(b"221 bye\r\n")

    def close(self) -> None:
        self.listener.close()


def test_the_whole_message_goes_in_one_write_as_bdat(settings):
    settings.SMTP_TIMEOUT = 3
    server = RepliesOnlyAfterTheChunk()
    try:
        integration = make_integration(host="127.0.0.1", port=server.port, auth_type="none")
        session = SmtpSession(integration)
        session.open()
        refused = session.send("app@example.com", ["bob@example.org"], b"Subject: x\r\n\r\n.hi")
        session.close()
    finally:
        server.close()
    assert refused == {}
    assert server.commands == [b"MAIL FROM:<app@example.com>", b"RCPT TO:<bob@example.org>",
                               b"BDAT 19 LAST"]
    # Counted, not ended by a dot line: the leading dot goes as it is.
    assert server.content == b"Subject: x\r\n\r\n.hi\r\n"


@pytest.fixture
def chunking_server():
    with SmtpTestServer(pipelining=True, chunking=True) as server:
        yield server


def _queue(integration, *recipients: str, subject: str = "Hi"):
    return send_email(to=list(recipients), subject=subject, text="x", integration=integration)


def test_queued_mail_reaches_a_chunking_server_as_bdat(chunking_server):
    integration = make_integration(chunking_server)
    messages = [_queue(integration, f"r{n}@example.org", subject=f"n{n}") for n in range(3)]
    engine.drain(integration.pk)
    assert {m.status for m in type(messages[0]).objects.filter(pk__in=[m.pk for m in messages])
            } == {Status.SENT}
    received = chunking_server.messages
    assert [r.by_bdat for r in received] == [True, True, True]
    assert [r.parsed["Subject"] for r in received] == ["n0", "n1", "n2"]
    assert chunking_server.connections == 1


def test_with_chunking_off_the_same_server_gets_data(chunking_server, settings):
    settings.SMTP_CHUNKING = False
    integration = make_integration(chunking_server)
    message = _queue(integration, "a@example.org")
    engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert [r.by_bdat for r in chunking_server.messages] == [False]


def test_a_refused_chunk_is_classified_and_the_next_message_goes_on_the_same_session(
    chunking_server,
):
    chunking_server.reject_data = "554 5.6.0 Message rejected"
    integration = make_integration(chunking_server)
    refused = _queue(integration, "a@example.org")
    engine.drain(integration.pk)
    attempt = refused.attempts.get()
    assert (attempt.stage, attempt.smtp_code, attempt.enhanced_code) == ("data", 554, "5.6.0")
    chunking_server.reject_data = ""
    taken = _queue(integration, "b@example.org")
    engine.drain(integration.pk)
    taken.refresh_from_db()
    assert taken.status == Status.SENT
    assert [(r.rcpt_tos, r.by_bdat) for r in chunking_server.messages] == [
        (["b@example.org"], True)]
    assert chunking_server.connections == 1


def test_one_recipient_refused_the_others_get_the_chunk(chunking_server):
    chunking_server.reject_rcpt = {"gone@example.org": "550 5.1.1 No such user"}
    integration = make_integration(chunking_server)
    message = _queue(integration, "gone@example.org", "ok@example.org")
    engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert [(r.rcpt_tos, r.by_bdat) for r in chunking_server.messages] == [
        (["ok@example.org"], True)]
    assert list(message.refused_recipients) == ["gone@example.org"]


def test_a_connection_dropped_after_the_chunk_is_retried_and_delivered_once():
    with SmtpTestServer(pipelining=True, chunking=True, drop_in_data_first_n=1) as server:
        integration = make_integration(server)
        message = drain_until_settled(integration, _queue(integration, "a@example.org"))
        assert message.status == Status.SENT
        attempts = list(message.attempts.order_by("number"))
        assert [(a.stage, a.failure_class) for a in attempts] == [
            ("data", "transient"), ("data", "")]
        assert [r.by_bdat for r in server.messages] == [True]


# Lines as the MIME layer writes them (CRLF-ended, at most 998 octets), drawn to hit what
# DATA must escape: lone dots, leading dots, empty lines, 8-bit octets.
LINE = st.one_of(
    st.sampled_from([b"", b".", b"..", b". ", b".\t", b"From x", b"\xc3\xa9t\xc3\xa9"]),
    st.binary(max_size=120).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


@pytest.fixture(scope="module")
def servers():
    with SmtpTestServer(pipelining=True, chunking=True) as ours, SmtpTestServer() as plain:
        yield ours, plain


@hypothesis_settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=12), ends_with_crlf=st.booleans())
def test_a_chunking_server_receives_what_smtplib_sends_with_data(
    servers, lines, ends_with_crlf
):
    """Held to smtplib: the bytes a server takes from our BDAT are the bytes it takes from
    smtplib.SMTP.sendmail (DATA, dot-stuffed and unstuffed) for the same content."""
    ours, plain = servers
    content = b"Subject: t\r\n\r\n" + b"\r\n".join(lines) + (b"\r\n" if ends_with_crlf else b"")
    before_ours, before_plain = len(ours.messages), len(plain.messages)
    session = SmtpSession(make_integration(ours))
    session.open()
    try:
        session.send("app@example.com", ["bob@example.org"], content)
    finally:
        session.close()
    with smtplib.SMTP(plain.host, plain.port) as client:
        client.sendmail("app@example.com", ["bob@example.org"], content,
                        mail_options=["BODY=8BITMIME"])
    ours.wait_for_messages(before_ours + 1)
    plain.wait_for_messages(before_plain + 1)
    by_bdat, by_data = ours.messages[-1], plain.messages[-1]
    assert by_bdat.by_bdat and not by_data.by_bdat
    assert by_bdat.content == by_data.content
