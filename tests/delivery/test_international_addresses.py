"""International addresses on the wire, through real SMTP servers (issue 14, acceptance 4).

IDN domains go out as their IDNA 2008 A-labels (UTS 46 mapping) in the envelope, the headers
and click redirects; a non-ASCII local part goes out with SMTPUTF8 (RFC 6531) and UTF-8
address headers (RFC 6532) where the server offers it, and fails for good, clearly, where not.
"""

from __future__ import annotations

import email
import email.policy
import re

import idna
import pytest

from delivery import engine
from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from integrations.failures.catalog import rule
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db

# IDNA 2003 (Python's "idna" codec) made the first strasse.de: another domain.
A_LABELS = {
    "straße.de": "xn--strae-oqa.de",
    "ευχαριστώ.gr": "xn--mxahn5algcq2e.gr",
    "ドメイン.jp": "xn--eckwd4c7c.jp",
}


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = 0.01
    settings.DELIVERY_RETRY_MAX_SECONDS = 0.05
    settings.SMTP_TIMEOUT = 5
    settings.TRACKING_BASE_URL = "http://testserver"


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def pipelining(request) -> bool:
    return request.param


def header_lines(content: bytes) -> dict[str, str]:
    """The top-level header fields as sent (unfolded, UTF-8), by name."""
    head = content.partition(b"\r\n\r\n")[0].decode()
    fields = re.split(r"\r\n(?![ \t])", head)
    return {
        f.partition(":")[0]: re.sub(r"\r\n[ \t]", " ", f.partition(":")[2]).strip() for f in fields
    }


def utf8_parsed(content: bytes):
    """The message parsed as RFC 6532 text (received.parsed reads 8-bit headers as bytes)."""
    return email.message_from_string(content.decode(), policy=email.policy.default)


def longest_line(content: bytes) -> int:
    return max(len(line) for line in content.split(b"\r\n"))


@pytest.mark.parametrize("domain", A_LABELS)
def test_an_idn_goes_out_as_its_idna_2008_a_label_everywhere(domain, pipelining, client):
    a_label = A_LABELS[domain]
    assert idna.encode(domain, uts46=True).decode() == a_label  # the reference agrees
    with SmtpTestServer(pipelining=pipelining) as server:
        integration = make_integration(server, sender=f"news@{domain}")
        send_email(
            from_email=f"News <news@{domain}>",
            to=[f"Anna <anna@{domain}>"],
            cc=[f"cc@{domain}"],
            bcc=[f"bcc@{domain}"],
            reply_to=[f"help@{domain}"],
            subject="Hi",
            track=True,
            html=f'<p><a href="https://{domain}/x?q=1|2">go</a></p>',
        )
        engine.drain(integration.pk)
        [received] = server.wait_for_messages(1)
    assert received.mail_from == f"news@{a_label}"
    assert sorted(received.rcpt_tos) == sorted(f"{who}@{a_label}" for who in ("anna", "cc", "bcc"))
    assert not received.smtputf8 and received.content.isascii()
    headers = header_lines(received.content)
    assert headers["From"] == f"News <news@{a_label}>"
    assert headers["To"] == f"Anna <anna@{a_label}>"
    assert headers["Cc"] == f"cc@{a_label}"
    assert headers["Reply-To"] == f"help@{a_label}"
    assert headers["Message-ID"].endswith(f"@{a_label}>")
    html = received.parsed.get_body(("html",)).get_content()
    [click] = re.findall(r'href="http://testserver(/t/c/[^"]+)"', html)
    redirect = client.get(click)
    assert redirect.status_code == 302
    # As a browser follows it: the A-label, and "|" as it is (Django's iri_to_uri escaped it).
    assert redirect["Location"] == f"https://{a_label}/x?q=1|2"


@pytest.mark.parametrize("recipient", ["用户@例子.广告", "Jörg Müller <jörg@example.com>"])
def test_a_non_ascii_local_part_is_delivered_with_smtputf8(recipient, pipelining):
    envelope = {"用户@例子.广告": "用户@xn--fsqu00a.xn--4rr70v"}.get(recipient, "jörg@example.com")
    with SmtpTestServer(pipelining=pipelining, smtputf8=True) as server:
        integration = make_integration(server)
        message = send_email(to=[recipient, "bob@example.org"], subject="Grüße", text="Hallo")
        engine.drain(integration.pk)
        [received] = server.wait_for_messages(1)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert received.smtputf8
    assert received.rcpt_tos == [envelope, "bob@example.org"]
    to = header_lines(received.content)["To"]
    # UTF-8 in the header itself (RFC 6532), never an encoded word inside the address.
    assert envelope in to and "=?" not in to.replace("=?utf-8?b?SsO2cmcgTcO8bGxlcg==?=", "")
    first = utf8_parsed(received.content)["To"].addresses[0]
    assert (first.username, first.domain) == tuple(envelope.split("@"))
    assert longest_line(received.content) <= 998


def test_a_non_ascii_reply_to_alone_needs_smtputf8_too(pipelining):
    with SmtpTestServer(pipelining=pipelining, smtputf8=True) as server:
        integration = make_integration(server)
        send_email(
            to=["bob@example.org"],
            reply_to=["Kundendienst <größe@straße.de>"],
            subject="Hi",
            text="x",
        )
        engine.drain(integration.pk)
        [received] = server.wait_for_messages(1)
    assert received.smtputf8 and received.rcpt_tos == ["bob@example.org"]
    assert header_lines(received.content)["Reply-To"] == "Kundendienst <größe@xn--strae-oqa.de>"


def test_long_utf8_address_lists_and_names_fold_under_998_bytes(pipelining):
    recipients = [f"{'Ä' * 400} <用户{n}@例子.广告>" for n in range(30)]
    with SmtpTestServer(pipelining=pipelining, smtputf8=True) as server:
        integration = make_integration(server)
        send_email(to=recipients, subject="Hi", text="x")
        engine.drain(integration.pk)
        [received] = server.wait_for_messages(1)
    assert longest_line(received.content) <= 998
    parsed = utf8_parsed(received.content)["To"].addresses
    # The long names fold as several encoded words; Python's address parser puts a space
    # between adjacent ones (RFC 2047 §6.2 says to drop it), so spaces are not compared.
    assert [a.display_name.replace(" ", "") for a in parsed] == ["Ä" * 400] * 30
    assert [a.username for a in parsed] == [f"用户{n}" for n in range(30)]
    assert {a.domain for a in parsed} == {"xn--fsqu00a.xn--4rr70v"}


def test_a_server_without_smtputf8_refuses_clearly_and_the_next_message_still_goes(pipelining):
    with SmtpTestServer(pipelining=pipelining) as server:
        integration = make_integration(server)
        refused = send_email(to=["用户@例子.广告"], subject="Hi", text="x")
        plain = send_email(to=["bob@straße.de"], subject="Hi", text="x")
        engine.drain(integration.pk)
        [received] = server.wait_for_messages(1)
    refused.refresh_from_db()
    assert refused.status == Status.FAILED  # permanent: retrying cannot help
    attempt = SendAttempt.objects.get(message=refused)
    assert attempt.stage == "mail" and attempt.failure_class == "permanent"
    assert attempt.error == (
        "The server does not support SMTPUTF8, which 用户@xn--fsqu00a.xn--4rr70v needs "
        "(non-ASCII before the @); nothing was sent."
    )
    assert attempt.hint == rule("local.smtputf8-unsupported").hint
    assert "internationalized addresses" in attempt.hint
    # Nothing of the refused message reached the server; the next one went as usual.
    assert len(server.mail_commands) == 1
    assert received.rcpt_tos == ["bob@xn--strae-oqa.de"]
    assert Message.objects.get(pk=plain.pk).status == Status.SENT
