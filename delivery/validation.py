"""Input checks for queued mail: every refusal names the field and nothing is stored."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import getaddresses

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.functional import Promise

from integrations.smtp_client import envelope_address

__all__ = ["InvalidMessage", "envelope_address"]

# local@domain in printable ASCII with no spaces, quotes, brackets, commas or line breaks.
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
# A header name (RFC 5322 ftext): printable ASCII but the colon, so no space, tab or NUL.
HEADER_NAME = re.compile(r"[!-9;-~]+")
# Every character str.splitlines() breaks at, not only CR and LF: the email package folds
# header values with it, so a vertical tab or form feed would start a new header line in the
# worker (or make rendering fail there) just as a newline would.
LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


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


def normalize_address(field: str, raw: str) -> str:
    """Return `raw` as one valid address ("Name <a@b>" or "a@b"), IDN domains accepted."""
    if isinstance(raw, Promise):
        raw = str(raw)  # a lazy translation, e.g. a display name from gettext_lazy
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidMessage(field, "an address is empty")
    if PLAIN_ADDRESS.fullmatch(raw):
        # Most addresses are plain ASCII ones: no name to parse, no domain to encode.
        try:
            validate_email(raw)
        except ValidationError:
            raise InvalidMessage(field, f"{raw!r} is not a valid email address") from None
        return raw
    check_header_value(field, raw)
    parsed = getaddresses([raw])
    if len(parsed) != 1 or not parsed[0][1]:
        raise InvalidMessage(field, f"{raw!r} is not one email address")
    name, addr = parsed[0]
    local, _, domain = addr.rpartition("@")
    if not local or not domain:
        raise InvalidMessage(field, f"{raw!r} is not a valid email address")
    if not local.isascii():
        raise InvalidMessage(field, f"{raw!r}: non-ASCII before the @ is not supported")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
        validate_email(f"{local}@{ascii_domain}")
    except (UnicodeError, ValidationError):
        raise InvalidMessage(field, f"{raw!r} is not a valid email address") from None
    return str(Address(display_name=name, addr_spec=f"{local}@{domain}")) if name else addr


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
