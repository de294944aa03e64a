"""CHUNKING (RFC 3030): a server that offers it with PIPELINING gets each message in one
write, the content as `BDAT <size> LAST` (test_pipelining shows the one write), and receives
exactly what DATA would have carried."""

from __future__ import annotations

import smtplib
import threading
import time

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from delivery import engine
from delivery.api import send_email
from delivery.models import Status
from integrations.failures.errors import DeliveryError
from integrations.pipelined_send import CHUNK_IN_ONE_WRITE_MAX
from integrations.smtp_client import SmtpSession
from tests.factories import drain_until_settled, make_integration
from tests.support.raw_servers import listen
from tests.support.scripted_smtp import ScriptedSmtpServer
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


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


@pytest.mark.parametrize("chunking", [True, False], ids=["bdat", "data"])
def test_a_421_to_the_content_keeps_the_recipients_refused_before_it(settings, chunking):
    settings.SMTP_CHUNKING = chunking
    with SmtpTestServer(pipelining=True, chunking=True,
                        reject_rcpt={"gone@example.org": "550 5.1.1 No such user"},
                        reject_data="421 4.3.2 Shutting down") as server:
        session = SmtpSession(make_integration(server))
        session.open()
        with pytest.raises(DeliveryError) as caught:
            session.send("app@example.com", ["gone@example.org", "ok@example.org"],
                         b"Subject: x\r\n\r\nhi\r\n")
    assert (caught.value.stage, caught.value.smtp_code) == ("data", 421)
    assert list(caught.value.refused_recipients) == ["gone@example.org"]


def test_a_large_message_goes_as_data_so_a_421_to_mail_is_read(settings):
    settings.SMTP_TIMEOUT = 5
    # A 421 closes the scripted server's connection with the rest unread, as a server
    # going down does (RFC 5321 §3.8).
    refusing = {"MAIL": "421 4.7.0 Try again later, closing connection"}
    with ScriptedSmtpServer(extensions=("PIPELINING", "CHUNKING"), replies=refusing) as server:
        session = SmtpSession(make_integration(server))
        session.open()
        with pytest.raises(DeliveryError) as caught:
            session.send("app@example.com", ["a@example.org"], _lines(4_000_000))
    assert (caught.value.stage, caught.value.smtp_code) == ("mail", 421)
    with SmtpTestServer(pipelining=True, chunking=True) as chunking:
        session = SmtpSession(make_integration(chunking))
        session.open()
        for size in (CHUNK_IN_ONE_WRITE_MAX - 100, CHUNK_IN_ONE_WRITE_MAX + 100):
            session.send("app@example.com", ["a@example.org"], _lines(size))
        session.close()
    assert [r.by_bdat for r in chunking.messages] == [True, False]


def _lines(size: int) -> bytes:
    """A message of `size` octets in 72-octet lines."""
    body = (b"z" * 70 + b"\r\n") * (size // 72 + 1)
    return (b"Subject: x\r\n\r\n" + body)[:size - 2] + b"\r\n"


class SlowToAnswerMail:
    """A server whose first MAIL check outlasts the client's timeout, and which keeps the
    message it then reads whole (as a queue does, whoever hears the reply)."""

    def __init__(self) -> None:
        self.listener = listen(0)
        self.port = self.listener.getsockname()[1]
        self.kept = 0
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections == 1),
                             daemon=True).start()

    def _serve(self, conn, slow: bool) -> None:
        with conn, conn.makefile("rb") as stream:
            conn.sendall(b"220 test ESMTP\r\n")
            stream.readline()  # EHLO
            conn.sendall(b"250-test\r\n250-PIPELINING\r\n250 CHUNKING\r\n")
            while (line := stream.readline()).startswith((b"MAIL", b"RSET")):
                if line.startswith(b"RSET"):
                    conn.sendall(b"250 OK\r\n")
                    continue
                if slow:
                    time.sleep(2)
                stream.readline()  # RCPT
                size = int(stream.readline().split()[1])  # BDAT <size> LAST
                if len(stream.read(size)) == size:
                    self.kept += 1
                try:
                    conn.sendall(b"250 OK\r\n250 OK\r\n250 2.0.0 queued\r\n")
                except OSError:
                    return


def test_no_reply_once_the_chunk_went_is_recorded_as_a_silence_after_the_content(settings):
    """The price of one round trip: the server may hold the message before any reply, so
    a timeout there is what a timeout after DATA's final dot is (catalog: it may have been
    taken, and a retry may deliver it twice)."""
    settings.SMTP_TIMEOUT = 1
    server = SlowToAnswerMail()
    integration = make_integration(host="127.0.0.1", port=server.port, auth_type="none")
    message = drain_until_settled(integration, _queue(integration, "a@example.org"))
    attempts = list(message.attempts.order_by("number"))
    assert [(a.stage, a.failure_class) for a in attempts] == [
        ("data", "transient"), ("data", "")]
    assert message.status == Status.SENT
    deadline = time.monotonic() + 10
    while server.kept < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.kept == 2, "the slow server kept the first copy too"


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
