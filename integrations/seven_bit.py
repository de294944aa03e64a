"""A message made 7-bit for a server that does not offer 8BITMIME (RFC 6152 §3).

Such a server may take 8-bit bytes, mangle them, or refuse them: each part that carries
8-bit text is re-encoded as quoted-printable (base64 for `binary`), and the rest of the
message, headers and boundaries included, is written back as it came.
"""

from __future__ import annotations

import base64
import binascii
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from io import BytesIO

# Source headers are written back as they came (not refolded); SMTP's CRLF line ends.
_AS_RECEIVED = policy.SMTP.clone(refold_source="none")
_EIGHT_BIT = ("8bit", "binary")


def is_8bit(content: bytes) -> bool:
    """Whether any byte of the message is outside 7-bit ASCII (BODY=8BITMIME territory)."""
    return not content.isascii()


def downgraded(content: bytes) -> bytes:
    """`content` with every 8-bit part re-encoded in 7 bits; 7-bit content is returned as is.

    What a reader decodes is unchanged. Headers are left alone: 8-bit header text is
    internationalised mail (RFC 6532), which needs SMTPUTF8 rather than a downgrade.
    """
    if not is_8bit(content):
        return content
    message = BytesParser(policy=_AS_RECEIVED).parsebytes(content)
    for part in message.walk():
        _downgrade(part)
    out = BytesIO()
    BytesGenerator(out, policy=_AS_RECEIVED).flatten(message)
    return out.getvalue()


def _downgrade(part: Message) -> None:
    encoding = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    if part.is_multipart():
        # A container may only be labelled 7bit, 8bit or binary (RFC 2045 §6.4); walk()
        # re-encodes what it holds.
        if encoding in _EIGHT_BIT:
            _set_encoding(part, "7bit")
        return
    payload = part.get_payload()
    if encoding not in _EIGHT_BIT and (not isinstance(payload, str) or payload.isascii()):
        return
    data = part.get_payload(decode=True) or b""
    if encoding == "binary":
        part.set_payload(base64.encodebytes(data).decode("ascii"))  # lines of 76
        _set_encoding(part, "base64")
        return
    part.set_payload(quoted_printable(data))
    _set_encoding(part, "quoted-printable")


def quoted_printable(data: bytes) -> str:
    """Line-oriented bytes as quoted-printable, each line break kept as a line break."""
    lines = data.splitlines()
    ends_with_break = data.endswith((b"\n", b"\r"))
    encoded = binascii.b2a_qp(b"\n".join(lines), quotetabs=False, istext=True)
    return encoded.decode("ascii") + ("\n" if ends_with_break else "")


def _set_encoding(part: Message, encoding: str) -> None:
    if "Content-Transfer-Encoding" in part:
        part.replace_header("Content-Transfer-Encoding", encoding)
    else:
        part["Content-Transfer-Encoding"] = encoding
