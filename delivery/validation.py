"""Input checks for queued mail: every refusal names the field and nothing is stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifuse_smtp import addresses
from notifuse_smtp.addresses import LINE_BREAK, envelope_address

from .choices import DEFAULT_PRIORITY, Priority

__all__ = ["InvalidMessage", "envelope_address"]

# A header name (RFC 5322 ftext): printable ASCII but the colon, so no space, tab or NUL.
HEADER_NAME = re.compile(r"[!-9;-~]+")


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
    return check_text(field, value)


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


def check_headers(headers: dict | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in (headers or {}).items():
        name = str(name)
        if not HEADER_NAME.fullmatch(name):
            raise InvalidMessage("headers", f"{name!r} is not a valid header name")
        argument = ARGUMENT_FOR_HEADER.get(name.lower())
        if argument:
            raise InvalidMessage(
                "headers", f"{name} cannot be set as a header: pass {argument}= instead"
            )
        checked[name] = check_header_value(f"headers[{name}]", str(value))
    return checked


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
