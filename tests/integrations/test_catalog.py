"""The error catalog: classes and hints, provider rows only for the provider's hosts."""

from __future__ import annotations

import pytest

from integrations.failures.catalog import explain_reply
from integrations.failures.errors import FailureClass, parse_enhanced_code


def classify(stage, code, enhanced, text, host="", auth_type=""):
    rule = explain_reply(stage, code, enhanced, text, host, auth_type)
    return rule.failure_class, rule.hint


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("5.7.8 Username and Password not accepted", "5.7.8"),
        ("Try again later\n4.7.0 later", "4.7.0"),
        ("Authentication unsuccessful", ""),
        ("5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled", "5.7.139"),
    ],
)
def test_it_reads_the_enhanced_code_at_the_start_of_a_line(text, code):
    assert parse_enhanced_code(text) == code


def test_ses_wording_gets_the_ses_hint_only_on_an_ses_host():
    args = ("auth", 535, "", "Authentication Credentials Invalid")
    _, ses_hint = classify(*args, host="email-smtp.eu-west-1.amazonaws.com")
    _, other_hint = classify(*args, host="mail.example.com")
    assert "region" in ses_hint
    assert "SES" not in other_hint and "credentials" in other_hint


@pytest.mark.parametrize(
    ("stage", "code", "enhanced", "text", "expected"),
    [
        ("mail", 421, "4.7.0", "Try again later, closing connection.", FailureClass.TRANSIENT),
        ("rcpt", 450, "4.2.1", "Mailbox busy", FailureClass.TRANSIENT),
        ("rcpt", 550, "5.1.1", "No such user", FailureClass.PERMANENT),
        ("data", 552, "5.3.4", "Message too big", FailureClass.PERMANENT),
        ("auth", 535, "5.7.3", "Authentication unsuccessful", FailureClass.CONFIGURATION),
        # Account and tenant blocks hold the mail (and flag the integration), whatever stage.
        ("mail", 550, "5.7.501", "Access denied, spam abuse detected", FailureClass.CONFIGURATION),
        ("data", 550, "5.7.511", "Access denied, banned sender", FailureClass.CONFIGURATION),
        ("mail", 550, "5.7.705", "Access denied, tenant has exceeded threshold",
         FailureClass.CONFIGURATION),
        ("data", 550, "5.7.708", "Access denied, traffic not accepted from this IP",
         FailureClass.CONFIGURATION),
        ("mail", 550, "5.7.750", "Client blocked from sending from unregistered domains",
         FailureClass.CONFIGURATION),
        ("auth", 535, "5.7.139", "SmtpClientAuthentication is disabled for the Tenant",
         FailureClass.CONFIGURATION),
        ("mail", 530, "5.7.0", "Must issue a STARTTLS command first", FailureClass.CONFIGURATION),
        ("auth", 454, "4.7.0", "Too many login attempts", FailureClass.TRANSIENT),
        ("rcpt", 550, "5.4.5", "Daily user sending limit exceeded.", FailureClass.TRANSIENT),
        # RFC 5321 4.5.3.1.10: 552 at RCPT means too many recipients; treat it as 452.
        ("rcpt", 552, "5.5.3", "Too many recipients", FailureClass.TRANSIENT),
    ],
)
def test_replies_are_classified_for_the_retry_policy(stage, code, enhanced, text, expected):
    failure_class, hint = classify(stage, code, enhanced, text)
    assert failure_class is expected
    assert hint
