"""Email addresses: one valid address from what a caller wrote, and its SMTP envelope form."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import getaddresses
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.functional import Promise

# local@domain in printable ASCII with no spaces, quotes, brackets, commas or line breaks.
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
# Every character str.splitlines() breaks at, not only CR and LF: the email package folds
# header values with it, so a vertical tab or form feed would start a new header line in the
# worker (or make rendering fail there) just as a newline would.
LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Characters that never occur in a bare ASCII addr-spec as normalize_address stores it.
NOT_BARE = frozenset('<>"(),;: \\')


class AddressError(ValueError):
    """Not one valid email address; the text says why."""


def normalize_address(raw) -> str:
    """Return `raw` as one valid address ("Name <a@b>" or "a@b"), IDN domains accepted."""
    if isinstance(raw, Promise):
        raw = str(raw)  # a lazy translation, e.g. a display name from gettext_lazy
    if not isinstance(raw, str) or not raw.strip():
        raise AddressError("an address is empty")
    if PLAIN_ADDRESS.fullmatch(raw):
        # Most addresses are plain ASCII ones: no name to parse, no domain to encode.
        _validate(raw, raw)
        return raw
    if LINE_BREAK.search(raw):
        raise AddressError("line breaks are not allowed (header injection)")
    if "\x00" in raw:
        raise AddressError("NUL characters are not allowed")
    try:
        raw.encode()
    except UnicodeEncodeError:
        raise AddressError("not valid Unicode text (a lone surrogate)") from None
    parsed = getaddresses([raw])
    if len(parsed) != 1 or not parsed[0][1]:
        raise AddressError(f"{raw!r} is not one email address")
    name, addr = parsed[0]
    local, _, domain = addr.rpartition("@")
    if not local or not domain:
        raise AddressError(f"{raw!r} is not a valid email address")
    if not local.isascii():
        raise AddressError(f"{raw!r}: non-ASCII before the @ is not supported")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise AddressError(f"{raw!r} is not a valid email address") from None
    _validate(f"{local}@{ascii_domain}", raw)
    return str(Address(display_name=name, addr_spec=f"{local}@{domain}")) if name else addr


def _validate(address: str, raw: str) -> None:
    try:
        validate_email(address)
    except ValidationError:
        raise AddressError(f"{raw!r} is not a valid email address") from None


@lru_cache(maxsize=4096)
def envelope_address(address: str) -> str:
    """The bare address for MAIL FROM / RCPT TO, its domain in IDNA (punycode) form.

    Called for every sender and recipient of every message sent: a stored bare ASCII
    address is returned as it is, and senders repeat, so answers are remembered.
    """
    if address.isascii() and NOT_BARE.isdisjoint(address):
        return address
    addr = getaddresses([address])[0][1]
    local, _, domain = addr.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"
