"""Delivery through real SMTP servers: EHLO, TLS modes, AUTH, and every failure classified."""

from __future__ import annotations

import pytest
from django.utils import timezone

from delivery import engine
from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from tests.factories import drain_until_settled, make_integration
from tests.support.certs import TestCA
from tests.support.smtp_servers import HandshakeDropServer, SmtpTestServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = 0.01
    settings.DELIVERY_RETRY_MAX_SECONDS = 0.05
    settings.SMTP_TIMEOUT = 5


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def pipelining(request) -> bool:
    """Every test with `server` runs against a server without and with PIPELINING."""
    return request.param


@pytest.fixture
def server(request, pipelining):
    with SmtpTestServer(pipelining=pipelining, **getattr(request, "param", {})) as running:
        yield running


def queue(integration, **kwargs) -> Message:
    arguments = {"to": ["bob@example.org"], "subject": "Hello", "text": "Hi Bob", **kwargs}
    return send_email(integration=integration, **arguments)


def test_it_sends_the_configured_ehlo_hostname(server):
    integration = make_integration(server, ehlo_hostname="mail.example.com")
    queue(integration)
    engine.drain(integration.pk)
    assert server.ehlo_hostnames == ["mail.example.com"]


def test_an_empty_ehlo_hostname_sends_the_smtp_host(server):
    integration = make_integration(server, ehlo_hostname="")
    queue(integration)
    engine.drain(integration.pk)
    assert server.ehlo_hostnames == ["127.0.0.1"]


def test_it_delivers_and_records_a_successful_attempt(server):
    integration = make_integration(server)
    message = queue(integration, html="<p>Hi <b>Bob</b></p>", cc=["carol@example.org"])
    engine.drain(integration.pk)
    [received] = server.wait_for_messages(1)
    assert sorted(received.rcpt_tos) == ["bob@example.org", "carol@example.org"]
    assert received.parsed["Subject"] == "Hello"
    message.refresh_from_db()
    assert message.status == Status.SENT and message.sent_at is not None
    attempt = message.attempts.get()
    assert attempt.succeeded and attempt.stage == "data" and attempt.number == 1


@pytest.fixture(scope="module")
def ca():
    return TestCA()


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_tls_delivers_with_a_certificate_from_a_trusted_ca(mode, test_ca, settings):
    context = test_ca.server_context()
    with SmtpTestServer(tls=mode, ssl_context=context, credentials={"app": "s3cret"}) as server:
        if mode == "implicit":  # the test server's port stands in for 465
            settings.SMTP_IMPLICIT_TLS_PORTS = [server.port]
        integration = make_integration(server, use_tls=True)
        assert integration.implicit_tls == (mode == "implicit")
        queue(integration)
        engine.drain(integration.pk)
        server.wait_for_messages(1)
    assert server.auth_attempts and server.auth_attempts[0][1] == "app"


def test_an_untrusted_certificate_fails_at_the_tls_stage(test_ca, ca):
    untrusted = ca.server_context()  # a CA nobody trusts
    with SmtpTestServer(tls="starttls", ssl_context=untrusted, credentials={"app": "x"}) as server:
        integration = make_integration(server, use_tls=True)
        message = queue(integration)
        engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.succeeded) == ("tls", False)
    assert "certificate" in attempt.error.lower() and attempt.hint
    assert server.messages == []


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_a_connection_lost_during_the_tls_handshake_is_retried(mode, reset, settings):
    with HandshakeDropServer(tls=mode, reset=reset) as server:
        if mode == "implicit":
            settings.SMTP_IMPLICIT_TLS_PORTS = [server.port]
        integration = make_integration(host=server.host, port=server.port, use_tls=True)
        message = queue(integration)
        engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("tls", "transient")
    assert "retried" in attempt.hint and "handshake failed" not in attempt.error
    integration.refresh_from_db()
    assert not integration.needs_attention
    message.refresh_from_db()
    assert message.status == Status.QUEUED


def test_implicit_tls_to_a_plain_text_server_stays_a_configuration_failure(server, settings):
    settings.SMTP_IMPLICIT_TLS_PORTS = [server.port]  # TLS to a server that speaks none
    integration = make_integration(server, use_tls=True)
    message = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("tls", "configuration")
    assert "TLS handshake failed" in attempt.error


def test_without_starttls_nothing_is_sent_in_plain_text(test_ca):
    context = test_ca.server_context()
    with SmtpTestServer(
        tls="starttls", ssl_context=context, advertise_starttls=False, credentials={"app": "x"}
    ) as server:
        integration = make_integration(server, use_tls=True)
        message = queue(integration)
        engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert attempt.stage == "tls"
    assert "does not offer STARTTLS" in attempt.error
    assert server.auth_attempts == [] and server.messages == []


@pytest.mark.parametrize("server", [{"credentials": {"app": "right"}}], indirect=True)
def test_a_wrong_password_gives_535_at_auth_with_a_hint(server):
    integration = make_integration(server, auth_type="basic", username="app", password="wrong")
    message = queue(integration)
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.smtp_code, attempt.enhanced_code) == ("auth", 535, "5.7.8")
    assert attempt.hint and attempt.failure_class == "configuration"
    assert "wrong" not in attempt.error
    integration.refresh_from_db()
    assert integration.needs_attention and "535" in integration.needs_attention_reason
    message.refresh_from_db()
    assert message.status == Status.QUEUED  # held, not failed


@pytest.mark.parametrize("server", [{"credentials": {"app": "Grüße-aus-Köln-42"}}], indirect=True)
def test_a_non_ascii_password_logs_in_over_utf8_and_is_never_recorded(server):
    integration = make_integration(server)
    message = queue(integration)
    engine.drain(integration.pk)  # smtplib alone raised UnicodeEncodeError, its repr holding it
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert "Köln" not in SendAttempt.objects.get(message=message).error


class OnlyLoginServer(SmtpTestServer):
    """Offers AUTH LOGIN alone, which smtplib sends in ASCII."""

    def _new_protocol(self):
        protocol = super()._new_protocol()
        protocol._auth_methods = {"LOGIN": protocol._auth_methods["LOGIN"]}
        return protocol


def test_a_non_ascii_password_without_auth_plain_is_a_configuration_failure_that_hides_it():
    with OnlyLoginServer(credentials={"app": "Grüße-aus-Köln-42"}) as server:
        integration = make_integration(server)
        message = queue(integration)
        engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("auth", "configuration")
    assert "AUTH PLAIN" in attempt.error and "Köln" not in attempt.error
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.claim_token is None


class OnlyXoauth2Server(SmtpTestServer):
    """Offers AUTH XOAUTH2 alone (as servers offering only NTLM or GSSAPI do: nothing
    smtplib's login() can use)."""

    def _new_protocol(self):
        protocol = super()._new_protocol()
        protocol._auth_methods = {"XOAUTH2": protocol._auth_methods["XOAUTH2"]}
        return protocol


def test_no_usable_auth_mechanism_is_a_configuration_failure_not_a_network_error():
    with OnlyXoauth2Server(credentials={"app": "right"}, xoauth2_validator=lambda *_: False) as s:
        integration = make_integration(s, auth_type="basic", username="app", password="right")
        message = queue(integration)
        engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("auth", "configuration")
    assert "mechanism" in attempt.hint
    integration.refresh_from_db()
    assert integration.needs_attention


@pytest.mark.parametrize("server", [{"credentials": {"app": "right"}}], indirect=True)
def test_mail_held_by_a_wrong_password_goes_out_once_it_is_fixed(server):
    integration = make_integration(server, auth_type="basic", username="app", password="wrong")
    message = queue(integration)
    engine.drain(integration.pk)
    integration.password = "right"
    integration.save()
    message = drain_until_settled(integration, message)
    assert message.status == Status.SENT
    assert len(server.wait_for_messages(1)) == 1
    integration.refresh_from_db()
    assert not integration.needs_attention


@pytest.mark.parametrize("server", [{"credentials": {"app": "right"}}], indirect=True)
def test_mail_given_back_after_a_failed_login_waits_for_the_retry_time(server, settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = settings.DELIVERY_RETRY_MAX_SECONDS = 60
    integration = make_integration(server, auth_type="basic", username="app", password="wrong")
    for _ in range(3):
        queue(integration)
    engine.drain(integration.pk)
    assert server.connections == 1  # one failed login
    queued = Message.objects.filter(status=Status.QUEUED)
    assert queued.count() == 3
    assert not queued.filter(next_attempt_at__lte=timezone.now()).exists()
    engine.drain(integration.pk)  # as the sweeper's wake-up would: nothing is due yet
    assert server.connections == 1


@pytest.mark.parametrize(
    "server", [{"fail_first": (2, "421 4.7.0 Try again later, closing connection.")}],
    indirect=True,
)
def test_it_delivers_on_the_third_try_after_two_421(server):
    integration = make_integration(server)
    message = drain_until_settled(integration, queue(integration))
    assert message.status == Status.SENT
    attempts = list(message.attempts.order_by("number"))
    assert [(a.smtp_code, a.failure_class) for a in attempts] == [
        (421, "transient"), (421, "transient"), (None, ""),
    ]
    assert len(server.messages) == 1


@pytest.mark.parametrize(
    "server",
    [{"reject_rcpt": {"gone@example.org": "550 5.1.1 The email account does not exist"}}],
    indirect=True,
)
def test_550_at_rcpt_fails_the_message_at_once(server):
    integration = make_integration(server)
    message = drain_until_settled(integration, queue(integration, to=["gone@example.org"]))
    assert message.status == Status.FAILED
    attempt = message.attempts.get()
    assert (attempt.stage, attempt.smtp_code, attempt.enhanced_code) == ("rcpt", 550, "5.1.1")
    assert attempt.failure_class == "permanent" and attempt.hint


@pytest.mark.parametrize(
    "server",
    [{"reject_rcpt": {"gone@example.org": "550 5.1.1 The email account does not exist"}}],
    indirect=True,
)
def test_one_refused_recipient_of_three_does_not_stop_the_other_two(server):
    integration = make_integration(server)
    message = queue(integration, to=["a@example.org", "gone@example.org", "b@example.org"])
    message = drain_until_settled(integration, message)
    [received] = server.messages
    assert sorted(received.rcpt_tos) == ["a@example.org", "b@example.org"]
    assert message.status == Status.SENT
    assert message.refused_recipients["gone@example.org"][0] == 550
    attempt = message.attempts.get()
    assert "gone@example.org refused: 550" in attempt.error
    # What to do about it is said, as for a failed attempt.
    assert "check the address" in attempt.hint


@pytest.mark.parametrize(
    "server", [{"reject_rcpt": {"c@example.org": "552 5.5.3 Too many recipients"}}], indirect=True
)
def test_a_recipient_refused_with_552_at_rcpt_is_tried_again_not_dropped(server, settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = settings.DELIVERY_RETRY_MAX_SECONDS = 60
    integration = make_integration(server)
    message = queue(integration, to=["a@example.org", "b@example.org", "c@example.org"])
    engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.refused_recipients == {}
    server.reject_rcpt = {}
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert [m.rcpt_tos for m in server.messages] == [
        ["a@example.org", "b@example.org"], ["c@example.org"],
    ]


@pytest.mark.parametrize(
    "server",
    [{"reject_rcpt": {"gone@example.org": "550 5.1.1 The email account does not exist",
                      "full@example.org": "452 4.2.2 Mailbox full, try again later"}}],
    indirect=True,
)
def test_every_recipient_refused_the_permanent_ones_are_recorded_and_not_retried(
    server, settings
):
    settings.DELIVERY_RETRY_BASE_SECONDS = settings.DELIVERY_RETRY_MAX_SECONDS = 60
    integration = make_integration(server)
    message = queue(integration, to=["gone@example.org", "full@example.org"])
    engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert list(message.refused_recipients) == ["gone@example.org"]
    assert message.attempts.get().failure_class == "transient"
    server.reject_rcpt = {}
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert [m.rcpt_tos for m in server.messages] == [["full@example.org"]]


@pytest.mark.parametrize("server", [{"drop_in_data_first": 1}], indirect=True)
def test_a_connection_dropped_mid_data_is_retried_and_delivered_once(server):
    integration = make_integration(server)
    message = drain_until_settled(integration, queue(integration))
    assert message.status == Status.SENT
    assert [a.stage for a in message.attempts.order_by("number")] == ["data", "data"]
    assert message.attempts.order_by("number").first().failure_class == "transient"
    assert len(server.messages) == 1


def test_idn_and_utf8_addresses_are_encoded_on_the_wire(server):
    integration = make_integration(server)
    queue(integration, to=["Jürgen Groß <juergen@bücher.example>"], subject="Grüße aus Köln")
    engine.drain(integration.pk)
    [received] = server.wait_for_messages(1)
    assert received.rcpt_tos == ["juergen@xn--bcher-kva.example"]
    assert received.parsed["To"].addresses[0].display_name == "Jürgen Groß"
    assert received.parsed["Subject"] == "Grüße aus Köln"
    assert received.content.isascii()


def test_a_sender_removed_after_queueing_holds_the_message_with_a_hint(server, settings):
    # Not due again within this drain, however fast it claims (one attempt to look at).
    settings.DELIVERY_RETRY_BASE_SECONDS = settings.DELIVERY_RETRY_MAX_SECONDS = 60
    integration = make_integration(server)
    message = queue(integration)
    integration.senders.all().delete()
    engine.drain(integration.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.stage, attempt.failure_class) == ("mail", "configuration")
    assert "no longer a sender" in attempt.error and attempt.hint
    message.refresh_from_db()
    assert message.status == Status.QUEUED and server.messages == []


def test_a_sender_added_a_moment_ago_is_not_refused_by_a_worker_that_read_the_old_list(server):
    from delivery.routing import sender_addresses
    from senders.models import Sender

    integration = make_integration(server)
    sender_addresses(integration)  # this worker read the senders just now
    Sender.objects.create(integration=integration, email="new@example.com")
    message = queue(integration, from_email="new@example.com")
    engine.drain(integration.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT
