"""Reports are read for what they are: each bounce format, ARF complaints, auto-replies."""

from __future__ import annotations

import pytest

from delivery.bounces.reports import (
    AUTO_REPLY,
    BOUNCE,
    COMPLAINT,
    OTHER,
    is_hard,
    read_report,
)
from tests.delivery.bounce_samples import AUTO_REPLIES, BOUNCES, COMPLAINTS, sample

MESSAGE_ID = "<notifuse-smtp.42.1764584100@example.com>"


def _read(name: str):
    return read_report(sample(name, message_id=MESSAGE_ID, recipient="gone@example.org",
                              sender="app@example.com"))


@pytest.mark.parametrize("name", sorted(BOUNCES))
def test_each_bounce_format_names_the_recipient_the_kind_and_our_message(name):
    hard, status = BOUNCES[name]
    report = _read(name)
    assert report.kind == BOUNCE
    assert [(f.recipient, f.hard, f.status) for f in report.failures] == [
        ("gone@example.org", hard, status)]
    assert report.our_messages == [(42, 1764584100)]


def test_the_dsn_diagnostic_is_kept_on_one_line():
    [failure] = _read("postfix_dsn").failures
    assert failure.diagnostic == ("smtp; 550 5.1.1 <gone@example.org>: Recipient address "
                                  "rejected: User unknown in virtual mailbox table")


@pytest.mark.parametrize("name", COMPLAINTS)
def test_an_arf_report_is_a_complaint_about_our_message(name):
    report = _read(name)
    assert (report.kind, report.complainants, report.feedback_type) == (
        COMPLAINT, ["gone@example.org"], "abuse")
    assert report.our_messages == [(42, 1764584100)]


@pytest.mark.parametrize("name", AUTO_REPLIES)
def test_out_of_office_replies_are_auto_replies_not_bounces(name):
    report = _read(name)
    assert report.kind == AUTO_REPLY and report.failures == []


def test_unrelated_mail_is_other():
    assert _read("unrelated").kind == OTHER


@pytest.mark.parametrize(("status", "diagnostic", "hard"), [
    ("5.1.1", "", True),
    ("5.1.10", "", True),
    ("5.2.1", "mailbox disabled", True),
    ("5.2.2", "mailbox full", False),
    ("5.7.1", "blocked as spam", False),
    ("4.4.7", "", False),
    ("5.0.0", "550 No such user here", True),
    ("5.0.0", "550 rejected by policy", False),
])
def test_hard_means_the_address_does_not_exist(status, diagnostic, hard):
    assert is_hard(status, diagnostic) is hard
