"""Headers folded within 78 characters whose text a reader decodes exactly as given.

The email package's folder (and Django's, through `email.header.Header`) splits a long
display name inside its encoded words and leaves a long ASCII word whole: the receiver reads a
name with spaces that were never in it, or the server refuses a line over 998 bytes. Here a
name that does not fit as it is goes out as UTF-8 encoded words (RFC 2047) of whole
characters, one per line; the whitespace between adjacent encoded words is no part of the
text, so it decodes to exactly the name given.
"""

from __future__ import annotations

import base64
import re
from email.policy import SMTP, Compat32
from email.utils import getaddresses, quote

from notifuse_smtp.addresses import ascii_domain

MAX_LINE = 78  # RFC 5322's recommended limit, as email.policy.SMTP folds
MAX_SMTP_LINE = 998  # RFC 5322's limit (bytes, without CRLF): servers refuse longer lines
# A display name that can go out as words: atext (RFC 5322) runs, one space apart.
PLAIN_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+( [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
PRINTABLE = re.compile(r"[ -~]*")
# Bytes of UTF-8 per encoded word: 60 base64 characters, a 72-character word.
WORD_BYTES = 45


class FoldedValue(str):
    """A header value already folded: lines joined by "\\n", each later one led by a space."""


class WirePolicy(Compat32):
    """Django's serialisation, but a header line it would leave over 998 bytes (a long
    filename, a long Content-ID) is folded as email.policy.SMTP folds it, and a FoldedValue
    goes out as it was folded.

    Compat32 otherwise: the generator gives the message its policy while writing it, and
    under SMTP's every header read (a part's Content-Type, many times) is parsed again; its
    folding alone made the full path half as slow again."""

    def fold_binary(self, name, value):
        if isinstance(value, FoldedValue):
            # UTF-8 only in an address with a non-ASCII local part (RFC 6532), which goes
            # with SMTPUTF8 (delivery.utf8_headers writes those fields again).
            return f"{name}: {value}".replace("\n", self.linesep).encode() + (
                self.linesep.encode("ascii"))
        if isinstance(value, str) and _longest_line(name, value) > MAX_SMTP_LINE:
            return SMTP.fold_binary(name, value)
        return super().fold_binary(name, value)


def _longest_line(name: str, value: str) -> int:
    lines = value.splitlines() or [""]
    return max([len(name) + 2 + len(lines[0]), *(len(line) for line in lines[1:])])


WIRE = WirePolicy(linesep="\r\n")


def address_header(name: str, addresses: list[str]) -> FoldedValue:
    """The value of header `name` for `addresses` (as validation stores them)."""
    tokens = []
    for index, address in enumerate(addresses):
        mailbox = _mailbox_tokens(address)
        if index < len(addresses) - 1:
            mailbox[-1] += ","
        tokens += mailbox
    return _folded(name, tokens)


def text_header(name: str, value: str) -> str:
    """An unstructured value (Subject, an extra header): as it is when the SMTP policy can
    fold it at its spaces, else encoded words of whole characters, one per line."""
    words = value.split(" ")
    fits = PRINTABLE.fullmatch(value) and all(0 < len(word) < MAX_LINE - 8 for word in words)
    if fits or not value:
        return value
    return _folded(name, _encoded_words(value, first_line=len(name) + 2))


def list_header(name: str, value: str) -> str:
    """A List-* value (RFC 2369: <URL>): folded inside the brackets, where a reader
    ignores whitespace; an encoded word there would not be decoded."""
    if len(name) + 2 + len(value) <= MAX_LINE:
        return value
    width = MAX_LINE - 1
    return FoldedValue("\n ".join(value[i : i + width] for i in range(0, len(value), width)))


def _folded(name: str, tokens: list[str]) -> FoldedValue:
    lines, line = [], f"{name}:"
    for token in tokens:
        if len(line) + 1 + len(token) > MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return FoldedValue("\n".join(lines)[len(name) + 2 :])


def _mailbox_tokens(address: str) -> list[str]:
    display_name, addr_spec = getaddresses([address])[0]
    local, _, domain = addr_spec.rpartition("@")
    addr_spec = f"{local}@{ascii_domain(domain)}" if domain else addr_spec
    if not display_name:
        return [addr_spec]
    return [*_name_tokens(display_name), f"<{addr_spec}>"]


def _name_tokens(display_name: str) -> list[str]:
    words = display_name.split(" ")
    if PLAIN_PHRASE.fullmatch(display_name) and max(map(len, words)) < MAX_LINE - 8:
        return words
    quoted = f'"{quote(display_name)}"'
    if PRINTABLE.fullmatch(display_name) and len(quoted) < MAX_LINE - 8:
        return [quoted]
    return _encoded_words(display_name)


def _encoded_words(text: str, first_line: int = 0) -> list[str]:
    """`text` as base64 encoded words of whole characters, each within WORD_BYTES; the first
    within what is left of a line that starts with `first_line` characters."""
    room = (MAX_LINE - first_line - len("=?utf-8?b??=")) // 4 * 3
    chunks, chunk, limit = [], b"", max(4, min(WORD_BYTES, room))
    for character in text:
        encoded = character.encode()
        if len(chunk) + len(encoded) > limit:
            limit = WORD_BYTES
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks]
