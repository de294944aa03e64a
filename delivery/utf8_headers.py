"""The address headers of a message with a non-ASCII local part, in UTF-8 (RFC 6532).

Such a message goes out with SMTPUTF8 (RFC 6531), and its From/To/Cc/Reply-To carry the local
part as UTF-8. Django writes it as an RFC 2047 encoded word instead, which RFC 2047 (§5) does
not allow in an address: a reader would see another, invalid mailbox. Those fields of the
rendered message are written again here; everything else stays as Django wrote it.
"""

from __future__ import annotations

import re
from email.header import Header
from email.utils import getaddresses

from django.conf import settings

from notifuse_smtp.addresses import ascii_domain, format_address, is_international

from .models import Message

# A header field starts at a line that does not begin with folding white space.
FIELD_START = re.compile(rb"\r\n(?![ \t])")
# A longer display name goes as encoded words, which fold, so no line nears 998 bytes.
LONGEST_PLAIN_NAME = 60
CRLF = "\r\n"


def address_fields(message: Message) -> dict[str, list[str]]:
    """The address fields Django writes from the message's own fields, by lowercase name
    (`headers=` may replace To, Cc and Reply-To, under those exact names)."""
    extra = message.headers or {}
    fields = {"from": [message.from_email or settings.DEFAULT_FROM_EMAIL]}
    for name, addresses in (("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to)):
        if addresses and name not in extra:
            fields[name.lower()] = list(addresses)
    return fields


def needs_utf8(message: Message) -> bool:
    """Whether an address the headers carry has a non-ASCII local part."""
    return any(
        is_international(a) for addresses in address_fields(message).values() for a in addresses
    )


def with_utf8_addresses(message: Message, content: bytes) -> bytes:
    """`content` (a rendered message) with its address fields in UTF-8 where one needs it."""
    if not needs_utf8(message):
        return content
    fields = address_fields(message)
    head, separator, body = content.partition(b"\r\n\r\n")
    out = []
    for field in FIELD_START.split(head):
        name = field.partition(b":")[0].decode("ascii", "replace")
        addresses = fields.pop(name.lower(), None)
        out.append(field if addresses is None else _field(name, addresses))
    return b"\r\n".join(out) + separator + body


def _field(name: str, addresses: list[str]) -> bytes:
    # One address a line: an addr-spec is at most 64 + 1 + 255 octets, a name folds.
    return f"{name}: {f',{CRLF} '.join(_mailbox(a) for a in addresses)}".encode()


def _mailbox(address: str) -> str:
    name, addr = getaddresses([address])[0]
    local, _, domain = addr.rpartition("@")
    addr_spec = f"{local}@{ascii_domain(domain)}"
    if not name or (name.isascii() and len(name) <= LONGEST_PLAIN_NAME):
        return format_address(name, addr_spec)
    return f"{Header(name, 'utf-8').encode(linesep=CRLF)} <{addr_spec}>"
