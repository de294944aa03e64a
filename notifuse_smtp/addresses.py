"""Email addresses: one valid address from what a caller wrote, and its SMTP envelope form.

Domains go on the wire as IDNA 2008 A-labels after UTS 46 mapping (what browsers and the
`idna` package do): Python's "idna" codec is IDNA 2003, which maps straße.de to strasse.de,
another domain. A local part may be non-ASCII (RFC 6531): such a message needs SMTPUTF8.
"""

from __future__ import annotations

import re
from email.utils import getaddresses
from functools import lru_cache

import idna
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
# A display name holding one of these is written as a quoted string (as the email package does).
NAME_SPECIALS = re.compile(r'[()<>@,:;.\\"\[\]]')
# Format characters some scripts need inside words (ZWNJ, ZWJ); other invisible or control
# characters in a local part would make an address that looks like another.
JOINERS = frozenset("\u200c\u200d")


class AddressError(ValueError):
    """Not one valid email address; the text says why."""


def normalize_address(raw) -> str:
    """Return `raw` as one valid address ("Name <a@b>" or "a@b"), IDN domains (IDNA 2008)
    and non-ASCII local parts (RFC 6531) accepted; the domain is stored as written."""
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
    try:
        encoded = ascii_domain(domain)
    except UnicodeError as exc:
        raise AddressError(
            f"{raw!r}: {domain!r} is not a valid internationalized domain name (IDNA 2008: {exc})"
        ) from None
    _validate(f"{_ascii_stand_in(local, raw)}@{encoded}", raw)
    return format_address(name, f"{local}@{domain}")


def _ascii_stand_in(local: str, raw: str) -> str:
    """`local` with each non-ASCII character as an ASCII letter, for Django's ASCII checks:
    RFC 6531 lets any printable non-ASCII character stand where a letter may."""
    if local.isascii():
        return local
    if not all(char.isprintable() or char in JOINERS for char in local):
        raise AddressError(f"{raw!r}: invisible or control characters before the @")
    return "".join(char if char.isascii() else "a" for char in local)


def ascii_domain(domain: str) -> str:
    """`domain` as DNS and SMTP carry it: its IDNA 2008 A-labels after UTS 46 mapping.

    An ASCII domain is returned as it is (an A-label already, or a host name IDNA's label
    rules would refuse, such as "r3--sn-a.example"). Raises UnicodeError (idna.IDNAError)
    for a domain IDNA 2008 cannot encode.
    """
    if domain.isascii():
        return domain
    return idna.encode(domain, uts46=True).decode("ascii")


def is_international(address: str) -> bool:
    """Whether the address's local part is not ASCII: sending it needs SMTPUTF8 (RFC 6531)."""
    if address.isascii():
        return False
    return not getaddresses([address])[0][1].rpartition("@")[0].isascii()


def format_address(name: str, addr_spec: str) -> str:
    """'Name <addr>' (the name quoted where it must be), or the bare address without a name."""
    if not name:
        return addr_spec
    if NAME_SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr_spec}>"


def _validate(address: str, raw: str) -> None:
    try:
        validate_email(address)
    except ValidationError:
        raise AddressError(f"{raw!r} is not a valid email address") from None


@lru_cache(maxsize=4096)
def envelope_address(address: str) -> str:
    """The bare address for MAIL FROM / RCPT TO, its domain as IDNA 2008 A-labels (a
    non-ASCII local part is kept: it goes out with SMTPUTF8).

    Called for every sender and recipient of every message sent: a stored bare ASCII
    address is returned as it is, and senders repeat, so answers are remembered.
    """
    if address.isascii() and NOT_BARE.isdisjoint(address):
        return address
    addr = getaddresses([address])[0][1]
    local, _, domain = addr.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


@lru_cache(maxsize=4096)
def header_address(address: str) -> str:
    """The address as From/To/Cc/Reply-To carry it: its domain as A-labels, the display name
    and local part as they are (the message encodes the name; see is_international)."""
    if address.isascii():
        return address
    name, addr = getaddresses([address])[0]
    local, _, domain = addr.rpartition("@")
    return format_address(name, f"{local}@{ascii_domain(domain)}")
