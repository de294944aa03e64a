"""Self-tests for tests.support.smtp_servers, with the standard library's smtplib as client."""

from __future__ import annotations

import base64
import json
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.support.certs import TestCA
from tests.support.smtp_servers import BlackholeServer, SmtpTestServer, unused_port

FAST = 5  # seconds: generous for a local socket, short enough to fail fast


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Each test stops its servers: no aiosmtpd thread outlives it."""
    before = set(threading.enumerate())
    yield
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture
def trusting(ca: TestCA, tmp_path) -> ssl.SSLContext:
    """A client context that trusts `ca` only, loaded from the PEM bundle it writes."""
    return ssl.create_default_context(cafile=ca.write_bundle(str(tmp_path / "ca.pem")))


def message(subject: str = "Hello", to: str = "bob@example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.com", to, subject
    msg.set_content("Hi")
    return msg


def client(server: SmtpTestServer, **kwargs) -> smtplib.SMTP:
    return smtplib.SMTP(server.host, server.port, timeout=FAST, **kwargs)


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def accept_token(user: str, token: str) -> bool:
    return token == "good-token"


# -- plain delivery ---------------------------------------------------------------------------
def test_it_delivers_and_records_envelope_content_and_ehlo_name() -> None:
    with SmtpTestServer() as server, client(server, local_hostname="mail.example.com") as smtp:
        smtp.send_message(message(subject="Grüße"), to_addrs=["bob@example.org", "c@example.org"])
        [received] = server.wait_for_messages(1)
    assert received.mail_from == "alice@example.com"
    assert received.rcpt_tos == ["bob@example.org", "c@example.org"]
    assert received.parsed["Subject"] == "Grüße"
    assert b"Subject:" in received.content
    assert server.ehlo_hostnames == ["mail.example.com"]
    assert server.connections == 1  # aiosmtpd's start-up probe is not counted


def test_it_records_helo_names_and_counts_connections() -> None:
    with SmtpTestServer() as server:
        for name in ("first.example", "second.example"):
            with client(server, local_hostname=name) as smtp:
                smtp.helo()
                smtp.sendmail("a@example.com", ["b@example.org"], b"Subject: x\r\n\r\nx")
        assert len(server.wait_for_messages(2)) == 2
    assert server.ehlo_hostnames == ["first.example", "second.example"]
    assert server.connections == 2


def test_wait_for_messages_fails_listing_what_arrived() -> None:
    with SmtpTestServer() as server, client(server) as smtp:
        smtp.send_message(message(subject="Only one"))
        with pytest.raises(AssertionError, match="expected 2 message.*Only one"):
            server.wait_for_messages(2, timeout=0.05)


def test_a_restarted_server_keeps_its_port_and_records() -> None:
    server = SmtpTestServer().start()
    try:
        port = server.port
        with client(server) as smtp:
            smtp.send_message(message())
        server.stop()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((server.host, port), timeout=FAST)
        server.start()
        assert server.port == port
        with client(server) as smtp:
            smtp.send_message(message())
        assert len(server.wait_for_messages(2)) == 2
    finally:
        server.stop()


# -- TLS --------------------------------------------------------------------------------------
def test_starttls_is_required_before_auth_and_mail(ca: TestCA, trusting) -> None:
    options = {"tls": "starttls", "ssl_context": ca.server_context(), "credentials": {"u": "p"}}
    with SmtpTestServer(**options) as server, client(server) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        assert smtp.mail("a@example.com")[0] == 530
        smtp.starttls(context=trusting)
        smtp.ehlo()
        assert smtp.has_extn("auth") and not smtp.has_extn("starttls")
        smtp.login("u", "p")
        smtp.send_message(message())
        server.wait_for_messages(1)
    assert server.auth_attempts == [("PLAIN", "u")]


def test_implicit_tls_speaks_tls_from_the_first_byte(ca: TestCA, trusting) -> None:
    options = {"tls": "implicit", "ssl_context": ca.server_context(), "credentials": {"u": "p"}}
    with SmtpTestServer(**options) as server:
        with smtplib.SMTP_SSL(server.host, server.port, context=trusting, timeout=FAST) as smtp:
            smtp.login("u", "p")
            smtp.send_message(message())
        server.wait_for_messages(1)
    assert server.auth_attempts == [("PLAIN", "u")]


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_a_certificate_from_another_ca_is_not_trusted(trusting, mode) -> None:
    untrusted = TestCA().server_context()
    with SmtpTestServer(tls=mode, ssl_context=untrusted) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            if mode == "implicit":
                smtplib.SMTP_SSL(server.host, server.port, context=trusting, timeout=FAST)
            else:
                with client(server) as smtp:
                    smtp.starttls(context=trusting)


def test_a_server_can_withhold_starttls(ca: TestCA, trusting) -> None:
    options = {"tls": "starttls", "ssl_context": ca.server_context(), "advertise_starttls": False}
    with SmtpTestServer(**options) as server, client(server) as smtp:
        with pytest.raises(smtplib.SMTPNotSupportedError):
            smtp.starttls(context=trusting)


# -- AUTH -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_wrong_password_is_refused_with_535_and_never_recorded(mechanism) -> None:
    with SmtpTestServer(credentials={"app": "right"}) as server, client(server) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = "app", "wrong-secret"
        authobject = getattr(smtp, f"auth_{mechanism.lower()}")
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.auth(mechanism, authobject)
        assert smtp.mail("a@example.com")[0] == 530  # AUTH is required
    assert refused.value.smtp_code == 535 and b"5.7.8" in refused.value.smtp_error
    assert server.auth_attempts == [(mechanism, "app")]
    assert "wrong-secret" not in repr(server.__dict__)


def test_xoauth2_accepts_a_valid_token() -> None:
    with SmtpTestServer(xoauth2_validator=accept_token) as server, client(server) as smtp:
        smtp.ehlo()
        assert "XOAUTH2" in smtp.esmtp_features["auth"].split()
        code, _ = smtp.auth("XOAUTH2", lambda challenge=None: xoauth2("me@x.org", "good-token"))
        smtp.send_message(message())
        server.wait_for_messages(1)
    assert code == 235
    assert server.auth_attempts == [("XOAUTH2", "me@x.org")]


def test_xoauth2_can_ask_for_the_token_with_an_empty_challenge() -> None:
    with SmtpTestServer(xoauth2_validator=accept_token) as server, client(server) as smtp:
        smtp.ehlo()
        code, _ = smtp.auth(
            "XOAUTH2", lambda challenge=None: xoauth2("me@x.org", "good-token"),
            initial_response_ok=False,
        )
    assert code == 235


def test_a_refused_token_fails_like_gmail_334_then_535() -> None:
    challenges: list[bytes] = []

    def respond(challenge: bytes | None = None) -> str:
        if challenge is None:
            return xoauth2("me@gmail.com", "stale-token")
        challenges.append(challenge)
        return ""  # what clients send to get Gmail's final reply

    with SmtpTestServer(xoauth2_validator=accept_token) as server, client(server) as smtp:
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.auth("XOAUTH2", respond)
    assert [json.loads(c) for c in challenges] == [
        {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
    ]
    assert refused.value.smtp_code == 535
    assert refused.value.smtp_error.startswith(b"5.7.8 Username and Password not accepted")
    assert server.auth_attempts == [("XOAUTH2", "me@gmail.com")]


def test_a_refused_token_fails_like_microsoft_with_535_at_once() -> None:
    options = {"xoauth2_validator": accept_token, "xoauth2_style": "microsoft"}
    def respond(challenge: bytes | None = None) -> str:
        assert challenge is None, "Microsoft sends no error challenge"
        return xoauth2("me@x.org", "bad")

    with SmtpTestServer(**options) as server, client(server) as smtp:
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.auth("XOAUTH2", respond)
    assert refused.value.smtp_code == 535 and b"5.7.3" in refused.value.smtp_error


def test_xoauth2_answers_garbage_with_501() -> None:
    with SmtpTestServer(xoauth2_validator=accept_token) as server, client(server) as smtp:
        smtp.ehlo()
        assert smtp.docmd("AUTH", "XOAUTH2 !!not-base64")[0] == 501
        assert smtp.noop()[0] == 250  # the session goes on
    assert server.auth_attempts == []


def test_without_a_validator_xoauth2_is_not_offered() -> None:
    with SmtpTestServer(credentials={"u": "p"}) as server, client(server) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        code, reply = smtp.docmd("AUTH", "XOAUTH2 " + base64.b64encode(b"x").decode())
    assert code == 504


# -- scripted failures ------------------------------------------------------------------------
def test_fail_first_n_replies_421_and_hangs_up_then_recovers() -> None:
    busy = "421 4.7.0 Try again later, closing connection."
    with SmtpTestServer(fail_first_n=(2, busy)) as server:
        for _ in range(2):
            with client(server) as smtp:
                smtp.ehlo()
                code, text = smtp.mail("a@example.com")
                assert (code, text) == (421, b"4.7.0 Try again later, closing connection.")
                with pytest.raises(smtplib.SMTPServerDisconnected):
                    smtp.noop()
        with client(server) as smtp:
            smtp.send_message(message())
        assert len(server.wait_for_messages(1)) == 1
    assert server.connections == 3


def test_fail_first_n_with_a_non_421_reply_keeps_the_connection() -> None:
    with SmtpTestServer(fail_first_n=(1, "451 4.3.0 Temporary failure")) as server:
        with client(server) as smtp:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                smtp.send_message(message())
            smtp.send_message(message())  # same connection, after smtplib's RSET
        assert refused.value.smtp_code == 451
        assert len(server.wait_for_messages(1)) == 1


def test_reject_rcpt_refuses_only_those_recipients() -> None:
    gone = "550 5.1.1 The email account that you tried to reach does not exist"
    with SmtpTestServer(reject_rcpt={"Bad@Example.com": gone}) as server, client(server) as smtp:
        refused = smtp.sendmail(
            "a@example.com", ["one@example.org", "bad@example.com", "two@example.org"],
            b"Subject: x\r\n\r\nx",
        )
        [received] = server.wait_for_messages(1)
    assert refused == {"bad@example.com": (550, gone[4:].encode())}
    assert received.rcpt_tos == ["one@example.org", "two@example.org"]


def test_drop_in_data_loses_the_connection_before_the_250() -> None:
    with SmtpTestServer(drop_in_data_first_n=1) as server:
        with client(server) as smtp, pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.send_message(message(subject="lost"))
        with client(server) as smtp:
            smtp.send_message(message(subject="kept"))
        [received] = server.wait_for_messages(1)
    assert received.parsed["Subject"] == "kept"


def test_hold_data_from_stalls_the_reply_until_released() -> None:
    with SmtpTestServer(hold_data_from=2) as server, client(server) as smtp:
        smtp.send_message(message(subject="first"))
        second = threading.Thread(target=smtp.send_message, args=(message(subject="second"),))
        second.start()
        assert server.wait_until(lambda: server.held == 1)
        assert [m.parsed["Subject"] for m in server.messages] == ["first"]
        server.release_held()
        second.join(10)
        assert not second.is_alive()
        assert [m.parsed["Subject"] for m in server.wait_for_messages(2)] == ["first", "second"]
        assert server.held == 0


def test_reject_data_refuses_every_message() -> None:
    with SmtpTestServer(reject_data="554 5.2.0 Message rejected") as server:
        with client(server) as smtp, pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.send_message(message())
    assert refused.value.smtp_code == 554 and server.messages == []


# -- servers that are not there ---------------------------------------------------------------
def test_unused_port_refuses_connections() -> None:
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", unused_port(), timeout=FAST)


def test_blackhole_accepts_and_never_answers() -> None:
    with BlackholeServer() as silent:
        # The TCP connect succeeds; the wait for the 220 greeting times out.
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
            smtplib.SMTP(silent.host, silent.port, timeout=0.2)
