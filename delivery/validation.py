"""Input checks for queued mail: every refusal names the field and nothing is stored."""

from __future__ import annotations

import re

from notifuse_smtp import addresses
from notifuse_smtp.addresses import LINE_BREAK, envelope_address

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
