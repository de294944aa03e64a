"""Input checks for queued mail: every refusal names the field and nothing is stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifuse_smtp import addresses
from notifuse_smtp.addresses import LINE_BREAK, envelope_address

from .choices import DEFAULT_PRIORITY, Kind, Priority

__all__ = ["InvalidMessage", "envelope_address"]

# A header name (RFC 5322 ftext): printable ASCII but the colon, so no space, tab or NUL.
HEADER_NAME = re.compile(r"[!-9;-~]+")
# ASCII control characters but tab: they would go out raw in a header (a bell, an escape
# sequence for the reader's terminal); line breaks are refused with their own reason.
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


class InvalidMessage(ValueError):
    """A message was refused before being queued; `field` names the offending input."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def check_text(field: str, value: str) -> str:
    """Refuse what PostgreSQL cannot store: NUL characters, and lone surrogates (such as
    bytes decoded with errors="surrogateescape"), which have no UTF-8 encoding."""
    if "\x00" in value:
        raise InvalidMessage(field, "NUL characters are not allowed")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise InvalidMessage(field, "not valid Unicode text (a lone surrogate)") from None
    return value


def check_header_value(field: str, value: str) -> str:
    if LINE_BREAK.search(value):
        raise InvalidMessage(field, "line breaks are not allowed (header injection)")
    check_text(field, value)
    if CONTROL.search(value):
        raise InvalidMessage(field, "control characters are not allowed")
    return value


def normalize_address(field: str, raw) -> str:
    """Return `raw` as one valid address ("Name <a@b>" or "a@b"), IDN domains accepted."""
    try:
        return addresses.normalize_address(raw)
    except addresses.AddressError as exc:
        raise InvalidMessage(field, str(exc)) from None


def normalize_addresses(field: str, values, *, required: bool = False) -> list[str]:
    if isinstance(values, str):
        values = [values]
    values = list(values or ())
    if required and not values:
        raise InvalidMessage(field, "at least one address is required")
    return [normalize_address(field, value) for value in values]


# Headers that would bypass what send_email checks: a From or Sender that is not one of the
# integration's senders, or a Bcc that every recipient could read (and that adds nobody).
ARGUMENT_FOR_HEADER = {"from": "from_email", "sender": "from_email", "bcc": "bcc"}
# Headers the message builds itself: given again they went out twice, or replaced or dropped
# what the arguments say depending on how the name was spelt.
BUILT_HEADERS = {
    "subject": "pass subject= instead",
    "to": "pass to= instead",
    "cc": "pass cc= instead",
    "reply-to": "pass reply_to= instead",
    "date": "it is set when the message is sent",
    "mime-version": "the message sets it",
    "content-type": "the message sets it from its bodies and attachments",
    "content-transfer-encoding": "the message sets it from its bodies and attachments",
    "content-disposition": "the message sets it from its bodies and attachments",
    "content-id": "give content_id= to encode_attachment instead",
}
# Built only for marketing mail, from unsubscribe_url= (transactional mail may set its own).
UNSUBSCRIBE_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")
MESSAGE_ID = "Message-ID"
# <id-left@id-right> in atext and dots, short enough for its header line (998 bytes).
MSG_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+>")
MAX_MSG_ID = 998 - len("Message-ID: ")  # bytes in a line, without the CRLF (RFC 5322)


def check_headers(headers: dict | None, *, kind: str = "") -> dict[str, str]:
    """The caller's extra headers, each once; a Message-ID replaces the one the message
    would make and is stored under that spelling (the portal searches it)."""
    checked: dict[str, str] = {}
    spelt: dict[str, str] = {}
    for name, value in (headers or {}).items():
        name = _header_name(str(name), kind)
        if name.lower() in spelt:
            problem = f"{spelt[name.lower()]} and {name} are the same header: give it once"
            raise InvalidMessage("headers", problem)
        spelt[name.lower()] = name
        value = check_header_value(f"headers[{name}]", str(value))
        if name.lower() == MESSAGE_ID.lower():
            name = MESSAGE_ID
            _check_message_id(f"headers[{name}]", value)
        checked[name] = value
    return checked


def _header_name(name: str, kind: str) -> str:
    if not HEADER_NAME.fullmatch(name):
        raise InvalidMessage("headers", f"{name!r} is not a valid header name")
    lowered = name.lower()
    if lowered in ARGUMENT_FOR_HEADER:
        argument = ARGUMENT_FOR_HEADER[lowered]
        raise InvalidMessage(
            "headers", f"{name} cannot be set as a header: pass {argument}= instead"
        )
    if lowered in BUILT_HEADERS:
        reason = BUILT_HEADERS[lowered]
        raise InvalidMessage("headers", f"{name} cannot be set as a header: {reason}")
    if lowered in UNSUBSCRIBE_HEADERS and kind == Kind.MARKETING:
        problem = f"{name} is set for marketing mail: pass unsubscribe_url= instead"
        raise InvalidMessage("headers", problem)
    return name


def _check_message_id(field: str, value: str) -> None:
    if not MSG_ID.fullmatch(value) or len(value) > MAX_MSG_ID:
        raise InvalidMessage(
            field, f"must be one <id@domain> (printable ASCII, no spaces, at most "
            f"{MAX_MSG_ID} characters)",
        )


# RFC 2046: a multipart is the message's own structure, and message/partial and
# message/external-body may only be sent as 7bit, never inside an encoding.
NOT_ATTACHABLE = ("multipart/", "message/partial", "message/external-body")
SMTP_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
MAX_LINE = 998  # bytes, without the CRLF (RFC 5322)


def check_attachment_type(filename: str, mimetype: str, content: bytes) -> None:
    """Refuse what cannot go out as an attachment of this type."""
    mimetype = mimetype.lower()
    if mimetype.startswith(NOT_ATTACHABLE):
        raise InvalidMessage(
            "attachments", f"{filename!r}: {mimetype} cannot be attached (RFC 2046); "
            "send it as application/octet-stream",
        )
    # A message/rfc822 attachment goes out as it is (RFC 2046 allows it no encoding), so its
    # lines must already fit SMTP's limit.
    if mimetype == "message/rfc822" and any(
        len(line) > MAX_LINE for line in SMTP_LINE_BREAK.split(content)
    ):
        raise InvalidMessage(
            "attachments", f"{filename!r}: message/rfc822 content has a line over "
            f"{MAX_LINE} bytes; send it as application/octet-stream",
        )


def check_priority(priority, kind: str) -> int:
    """A number 0-100 or a name (low, normal, high, urgent); None: the kind's default."""
    if priority is None:
        return DEFAULT_PRIORITY.get(kind, Priority.NORMAL)
    if isinstance(priority, str) and priority.strip().upper() in Priority.names:
        return Priority[priority.strip().upper()]
    if isinstance(priority, int) and not isinstance(priority, bool) and 0 <= priority <= 100:
        return priority
    names = ", ".join(name.lower() for name in Priority.names)
    problem = f"{priority!r} is not a number from 0 to 100 or one of {names}"
    raise InvalidMessage("priority", problem)


def check_send_at(send_at) -> datetime | None:
    """An aware datetime (or ISO 8601 text with a time zone); None: send as soon as possible."""
    if send_at is None or send_at == "":
        return None
    if isinstance(send_at, str):
        parsed = parse_datetime(send_at.strip())
        if parsed is None:
            raise InvalidMessage("send_at", f"{send_at!r} is not an ISO 8601 date and time")
        send_at = parsed
    if not isinstance(send_at, datetime):
        raise InvalidMessage("send_at", "must be a datetime")
    if timezone.is_naive(send_at):
        raise InvalidMessage("send_at", "needs a time zone (an aware datetime, or +00:00 in text)")
    try:
        # In UTC: PostgreSQL refuses offsets past 15:59, which ISO 8601 text may carry.
        send_at = send_at.astimezone(UTC)
        send_at + timedelta(seconds=settings.DELIVERY_MAX_AGE)  # the deadline must exist
    except OverflowError:
        raise InvalidMessage("send_at", f"{send_at.isoformat()} is out of range") from None
    return send_at
