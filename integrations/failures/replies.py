"""How much of a server's reply is kept: at most MAX_LINES lines and MAX_BYTES bytes.

A server may answer with megabytes: a hostile one, or a broken one echoing the message back.
All of it would go into the attempt log, the portal, webhook payloads and every rule's text
search, and hold the worker or the web request that reads it. What a person needs is at the
start (the code, the enhanced code, the first lines of text); the end says what was cut.
Each step here is linear in the reply (str.find, str.count), so a reply is read once.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_LINES = 20
MAX_BYTES = 4096
# What is read before redaction, which must see whole secrets: a secret cut off at the
# final byte bound would have to be longer than this minus MAX_BYTES to leave a piece
# behind unredacted (no line break is in a secret, so cutting lines splits none).
READ_AHEAD = 4 * MAX_BYTES


def bounded(text: str, redact: Callable[[str], str] | None = None) -> str:
    """`text` (redacted by `redact`, before anything is cut) within MAX_LINES lines and
    MAX_BYTES bytes, a last line saying how long it was when it was cut. Bounded text comes
    back as it is, so bounding twice cuts once."""
    head = _first_lines(text, MAX_LINES, READ_AHEAD)
    shown = redact(head) if redact else head
    if len(head) == len(text) and len(shown.encode()) <= MAX_BYTES:
        return shown
    lines = text.count("\n") + 1
    marker = f"[reply cut: {lines:,} lines, {len(text):,} characters in all]"
    room = MAX_BYTES - len(marker.encode()) - 1
    shown = _first_lines(shown, MAX_LINES - 1, room)
    shown = shown.encode()[:room].decode("utf-8", "ignore")
    return f"{shown}\n{marker}"


def _first_lines(text: str, count: int, most: int) -> str:
    """The first `count` lines of `text` (without the break after the last), and at most
    `most` characters of them."""
    end = -1
    for _ in range(count):
        end = text.find("\n", end + 1, most)
        if end < 0:
            return text[:most]
    return text[:end]
