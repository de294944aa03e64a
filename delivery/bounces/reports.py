"""Read one message from a bounce mailbox: a bounce, a complaint, an auto-reply, or other mail.

- RFC 3464 delivery-status reports, per recipient (Action, Status, Diagnostic-Code,
  Final-Recipient), whoever wrote them (Postfix, Exim, Exchange Online, Gmail);
- RFC 5965 ARF complaints (feedback loops);
- RFC 3834 auto-replies (out of office, vacation): recognised so they are never counted;
- the formats that are not standard (older Exchange, Yahoo, qmail, …) through flufl.bounce,
  GNU Mailman's detectors.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

BOUNCE, COMPLAINT, AUTO_REPLY, OTHER = "bounce", "complaint", "auto_reply", "other"
# The Message-IDs this service writes (delivery.mime.message_id).
OUR_MESSAGE_ID = re.compile(rb"<?notifuse-smtp\.(\d+)\.(\d+)@[^>\s\"]+>?")
STATUS_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# Senders of bounces: an auto-reply from one of these is a bounce in a format we may know.
DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon")
AUTO_REPLY_SUBJECTS = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|"
    r"absence|vacation|away from)", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    """One recipient the report says was not delivered."""

    recipient: str
    hard: bool
    status: str = ""
    diagnostic: str = ""


@dataclass
class Report:
    kind: str
    failures: list[Failure] = field(default_factory=list)
    # Complaints: who complained (Original-Rcpt-To), when the report says.
    complainants: list[str] = field(default_factory=list)
    feedback_type: str = ""
    # (message pk, created-at timestamp) of every Message-ID of ours the report returns.
    our_messages: list[tuple[int, int]] = field(default_factory=list)


def read_report(raw: bytes) -> Report:
    """What `raw` (a whole message from the mailbox) is, and what it says."""
    message = email.message_from_bytes(raw)
    ours = our_message_ids(raw, message)
    report_type = message.get_param("report-type", "", header="content-type")
    if message.get_content_type() == "multipart/report":
        if str(report_type).lower() == "delivery-status":
            failures = dsn_failures(message)
            return Report(BOUNCE if failures else OTHER, failures=failures, our_messages=ours)
        if str(report_type).lower() == "feedback-report":
            return _complaint(message, ours)
    if is_auto_reply(message):
        return Report(AUTO_REPLY, our_messages=ours)
    failures = _detected_failures(message)
    return Report(BOUNCE if failures else OTHER, failures=failures, our_messages=ours)


def dsn_failures(message: EmailMessage) -> list[Failure]:
    """Each failed recipient of an RFC 3464 report (delayed, delivered and relayed are not)."""
    failures = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _status_blocks(part)[1:]:  # the first block is about the whole message
            if str(block.get("Action", "")).strip().lower() != "failed":
                continue
            recipient = _address_field(block.get("Final-Recipient")
                                       or block.get("Original-Recipient"))
            if not recipient:
                continue
            status = str(block.get("Status", "")).strip().split()[0:1]
            diagnostic = _one_line(block.get("Diagnostic-Code", ""))
            code = status[0] if status else _status_in(diagnostic)
            failures.append(Failure(recipient, is_hard(code, diagnostic), code, diagnostic))
    return failures


def _status_blocks(part: EmailMessage) -> list[EmailMessage]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    # A part the parser left as text (a transfer encoding): its blocks are separated by a
    # blank line, each in header syntax.
    text = part.get_payload(decode=True) or b""
    blocks = re.split(rb"\r?\n\r?\n", text.strip())
    return [email.message_from_bytes(block) for block in blocks]


def _address_field(value) -> str:
    """`rfc822; user@example.org` (the address type is optional in practice)."""
    if not value:
        return ""
    text = _one_line(value)
    text = text.split(";", 1)[1] if ";" in text else text
    return parseaddr(text.strip())[1] or text.strip().strip("<>")


def _one_line(value) -> str:
    return " ".join(str(value).split())


def _status_in(text: str) -> str:
    match = STATUS_CODE.search(text)
    return ".".join(match.groups()) if match else ""


# Enhanced codes that say the address itself is bad: the mailbox or domain does not exist
# (X.1.x: addressing; 5.2.1: the mailbox is disabled). Everything else that failed (full,
# too big, blocked as spam, policy) may work later or from another sender: a soft bounce.
HARD_SUBJECTS = ("1",)
HARD_CODES = frozenset({"5.2.1"})
NO_SUCH_USER = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|"
    r"recipient not found|mailbox unavailable|invalid recipient|address rejected|"
    r"not a valid mailbox|unrouteable|no mailbox here", re.IGNORECASE)


def is_hard(status: str, diagnostic: str = "") -> bool:
    """A permanent failure because the address does not exist (or is closed for good)."""
    parts = status.split(".")
    if len(parts) != 3 or parts[0] != "5":
        return False
    if parts[1] in HARD_SUBJECTS or status in HARD_CODES:
        return True
    # 5.0.0 says only "permanent": the server's text tells whether the user is unknown.
    return parts[1:] == ["0", "0"] and bool(NO_SUCH_USER.search(diagnostic))


def _complaint(message: EmailMessage, ours: list[tuple[int, int]]) -> Report:
    """An RFC 5965 report: Feedback-Type and, when the sender of the report reveals it,
    Original-Rcpt-To (many providers redact it: then the message's recipient is meant)."""
    fields: dict[str, list[str]] = {}
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        for block in _status_blocks(part):
            for name, value in block.items():
                fields.setdefault(name.lower(), []).append(_one_line(value))
    recipients = [addr for _, addr in getaddresses(fields.get("original-rcpt-to", [])) if addr]
    feedback_type = (fields.get("feedback-type") or ["abuse"])[0].lower()
    return Report(COMPLAINT, complainants=recipients, feedback_type=feedback_type,
                  our_messages=ours)


def is_auto_reply(message: EmailMessage) -> bool:
    """RFC 3834 and the headers mail systems actually set on out-of-office replies, from a
    person's mailbox (a mailer daemon's report is not a vacation notice)."""
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    if sender.split("@")[0] in DAEMONS:
        return False
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    return (
        not auto_submitted.startswith("no")
        or any(name in message for name in ("X-Autoreply", "X-Autorespond",
                                             "X-Auto-Response-Suppress"))
        or str(message.get("Precedence", "")).strip().lower() == "auto_reply"
        or bool(AUTO_REPLY_SUBJECTS.match(str(message.get("Subject", ""))))
    )


def _detected_failures(message: EmailMessage) -> list[Failure]:
    """flufl.bounce's detectors: permanent failures count as hard, temporary as soft."""
    temporary, permanent = all_failures(message)
    return ([Failure(a.decode("ascii", "replace"), True) for a in sorted(permanent)]
            + [Failure(a.decode("ascii", "replace"), False) for a in sorted(temporary)])


def our_message_ids(raw: bytes, message: EmailMessage) -> list[tuple[int, int]]:
    """Our Message-IDs in the report's returned headers or copy of the message (also inside
    a base64 or quoted-printable part); the report's own headers do not count."""
    own = {m.groups() for m in OUR_MESSAGE_ID.finditer(
        str(message.get("Message-ID", "")).encode())}
    found: list[tuple[int, int]] = []
    for text in _texts(raw, message):
        for match in OUR_MESSAGE_ID.finditer(text):
            key = (int(match.group(1)), int(match.group(2)))
            if match.groups() not in own and key not in found:
                found.append(key)
    return found


def _texts(raw: bytes, message: EmailMessage):
    yield raw
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            yield payload
