"""SMTPUTF8 (RFC 6531): whether a transaction needs it, and the MAIL parameter that asks for it.

An address with non-ASCII before the @ cannot be downgraded without changing it, so a server
that does not offer SMTPUTF8 gets nothing: the message fails for good, naming the addresses.
"""

from __future__ import annotations

import smtplib

from .failures import catalog

HEADERS_END = b"\r\n\r\n"


def mail_options(smtp: smtplib.SMTP, addresses: list[str], content: bytes = b"") -> list[str]:
    """["SMTPUTF8"] when the envelope or the headers carry UTF-8, else []; raises the
    catalog's DeliveryError when the server does not offer it."""
    international = [address for address in addresses if not address.isascii()]
    head_end = content.find(HEADERS_END)
    # Headers are ASCII (RFC 2047 encoded words) but for the UTF-8 addresses of RFC 6532.
    if not international and content[: head_end if head_end >= 0 else None].isascii():
        return []
    if not smtp.has_extn("smtputf8"):
        raise catalog.local_failure(
            "smtputf8-unsupported",
            addresses=", ".join(international) or "an address in its headers",
        )
    smtp.command_encoding = "utf-8"  # for the pipelined commands; smtplib's RSET resets it
    return ["SMTPUTF8"]
