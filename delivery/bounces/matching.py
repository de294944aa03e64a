"""Match a report to the message it is about, and record what it says for each recipient."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction

from delivery import feedback, suppressions
from delivery.models import Message
from notifuse_smtp.addresses import AddressError

from .reports import AUTO_REPLY, BOUNCE, COMPLAINT, Report, read_report

# Stored with each event for staff to read; a report with a large attachment is cut.
MAX_STORED_REPORT = 200_000


@dataclass
class Outcome:
    """What one mailbox message came to: recorded (it is about our mail), or left alone."""

    kind: str
    events: int = 0
    matched: bool = False


def process(raw: bytes, *, integration_id: int | None = None) -> Outcome:
    """Read a report, match it by its returned Message-ID and recipient, record the events.

    Auto-replies, other mail and reports about no message of ours record nothing (the
    caller leaves those untouched in the mailbox).
    """
    report = read_report(raw)
    if report.kind not in (BOUNCE, COMPLAINT):
        return Outcome(report.kind)
    message = find_message(report, integration_id)
    if message is None:
        return Outcome(report.kind)
    digest = hashlib.sha256(raw).hexdigest()
    text = raw[:MAX_STORED_REPORT].decode("utf-8", "replace")
    with transaction.atomic():
        events = (_record_bounces(message, report, text, digest) if report.kind == BOUNCE
                  else _record_complaints(message, report, text, digest))
    return Outcome(report.kind, events=events, matched=True)


def find_message(report: Report, integration_id: int | None = None) -> Message | None:
    """The message one of the report's Message-IDs names (its id and its queueing second),
    sent through `integration_id` when given, with a recipient the report names."""
    for pk, stamp in report.our_messages:
        candidates = Message.objects.filter(pk=pk)
        if integration_id is not None:
            candidates = candidates.filter(integration_id=integration_id)
        message = candidates.first()
        if message is None or int(message.created_at.timestamp()) != stamp:
            continue
        if _named_recipients(message, report) or report.kind == COMPLAINT:
            return message
    return None


def _named_recipients(message: Message, report: Report) -> dict[str, str]:
    """{normalised: the recipient as the message stores it} for the recipients the report
    names that the message was sent to."""
    ours = {_normalised(a): a for a in message.all_recipients}
    named = [f.recipient for f in report.failures] + report.complainants
    return {key: ours[key] for key in map(_normalised, named) if key in ours}


def _record_bounces(message: Message, report: Report, text: str, digest: str) -> int:
    ours = _named_recipients(message, report)
    recorded = 0
    for failure in report.failures:
        recipient = ours.get(_normalised(failure.recipient))
        if recipient is None:
            continue  # a recipient of another message, or of none
        recorded += feedback.record_bounce(
            message, recipient, hard=failure.hard, enhanced_code=failure.status,
            diagnostic=failure.diagnostic, report=text, digest=digest,
        ) is not None
    return recorded


def _record_complaints(message: Message, report: Report, text: str, digest: str) -> int:
    named = list(_named_recipients(message, report).values())
    if not named and not report.complainants and len(message.all_recipients) == 1:
        named = message.all_recipients  # the provider redacted it: the one recipient
    return sum(feedback.record_complaint(message, recipient, report=text, digest=digest,
                                         feedback_type=report.feedback_type) is not None
               for recipient in named)


def _normalised(address: str) -> str:
    try:
        return suppressions.normalize(address)
    except (AddressError, UnicodeError):
        return address.lower()


__all__ = ["AUTO_REPLY", "Outcome", "find_message", "process"]
