"""A server's reply, however long, is read in linear time and kept bounded (issue 15 item 11).

Through a scripted server that answers MAIL FROM with 8,000 lines or 10 MB, the worker
records a classified attempt whose text holds the first lines and says what was cut.
bench/replies.py prints what the reading costs at growing sizes.
"""

from __future__ import annotations

import pytest

from delivery import engine
from delivery.api import send_email
from delivery.models import Status
from integrations.failures import catalog, replies
from integrations.failures.errors import parse_enhanced_code
from integrations.failures.rules import Context
from tests.factories import make_integration
from tests.support.scripted_smtp import ScriptedSmtpServer

# Blank lines without a code: the former pattern scanned all of them from each line start.
EIGHT_THOUSAND_LINES = (b"550-Requested action not taken:\r\n" + b"550-\r\n" * 7_999
                        + b"550 Blocked by policy\r\n")
TEN_MB = b"550-5.7.1 " + b"x" * 990 + b"\r\n"
TEN_MB = TEN_MB * 10_000 + b"550 5.7.1 Blocked\r\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reply", "enhanced", "first_line", "lines"),
    [(EIGHT_THOUSAND_LINES, "", "Requested action not taken:", 8_001),
     (TEN_MB, "5.7.1", "x" * 990, 10_001)],
    ids=["8k lines", "10 MB"],
)
def test_a_huge_reply_is_classified_and_stored_bounded(reply, enhanced, first_line, lines):
    # No extensions: the client goes command by command and reads MAIL's reply whole.
    with ScriptedSmtpServer(extensions=(), replies={"MAIL": reply}) as server:
        integration = make_integration(host=server.host, port=server.port)
        message = send_email(to="bob@example.org", subject="Hi", text="x",
                             integration=integration)
        engine.drain(integration.pk)
    message.refresh_from_db()
    attempt = message.attempts.get()
    assert (attempt.stage, attempt.smtp_code, attempt.enhanced_code, attempt.failure_class) == (
        "mail", 550, enhanced, "permanent")
    assert message.status == Status.FAILED
    assert attempt.error.startswith(first_line)
    characters = len(_joined(reply).decode())
    assert attempt.error.endswith(f"[reply cut: {lines:,} lines, {characters:,} characters in all]")
    for kept in (attempt.error, message.last_error):
        assert len(kept.encode()) <= replies.MAX_BYTES + len("mail: 550 5.7.1 ")
        assert kept.count("\n") < replies.MAX_LINES


def _joined(reply: bytes) -> bytes:
    """The reply as smtplib hands it over: each line's text after its code, joined by LF."""
    return b"\n".join(line[4:] for line in reply.split(b"\r\n")[:-1])


def test_short_text_is_kept_as_it_is_and_bounding_twice_cuts_once():
    text = "5.1.1 No such user\nsee https://help.example/5.1.1"
    assert replies.bounded(text) == text
    long = "\n".join(f"line {n}" for n in range(100))
    once = replies.bounded(long)
    assert once.splitlines() == [f"line {n}" for n in range(19)] + [
        "[reply cut: 100 lines, 789 characters in all]"]
    assert replies.bounded(once) == once


@pytest.mark.parametrize("unit", ["x", "é", "€", "\N{GRINNING FACE}"])
def test_one_long_line_is_cut_at_a_character_within_the_byte_bound(unit):
    kept = replies.bounded(unit * 3_000_000)
    assert len(kept.encode()) <= replies.MAX_BYTES
    head, marker = kept.split("\n")
    assert set(head) == {unit} and marker.startswith("[reply cut: 1 lines, 3,000,000 ")


def test_a_secret_across_the_byte_bound_is_redacted_before_the_cut():
    secret = "s3cret-" + "p" * 60
    text = "5.7.0 " + "a" * (replies.MAX_BYTES - 80) + secret + "b" * 50_000
    error = catalog.from_reply("auth", 535, text, Context(secrets=(secret,)))
    assert "s3cret" not in error.text and "[redacted]" in error.text
    assert len(error.text.encode()) <= replies.MAX_BYTES


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("\n" * 20_000 + "  5.1.1 gone", "5.1.1"),
        (" \t\n" * 20_000 + "4.2.2 full", "4.2.2"),
        ("Blocked\n" + "\n" * 20_000 + "see 5.7.1", ""),
        ("\n \n5.7.1", "5.7.1"),
    ],
    ids=["after blank lines", "after lines of blanks", "not at a line start", "short"],
)
def test_the_enhanced_code_is_read_at_a_line_start_whatever_comes_before(text, code):
    assert parse_enhanced_code(text) == code


def test_a_refusal_kept_per_recipient_is_bounded():
    kept = catalog.decoded(b"5.1.1 " + b"y" * 100_000)
    assert len(kept.encode()) <= replies.MAX_BYTES and kept.startswith("5.1.1 yyy")
