"""Reading the server's replies to AUTH with a bound, as smtplib does not.

smtplib's getreply keeps every line of a multi-line reply, so a server answering AUTH with
10 MB of "334-" lines had all of it read into memory and carried into the error text; a
line that is not a reply came back as code -1. Here a reply longer than MAX_REPLY_BYTES
ends the session (`ReplyTooLong`), and a line that does not start with three digits does
too (`UnreadableReply`); neither keeps what the server sent.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

# An AUTH reply is a line or two (Gmail's JSON challenge is about 100 bytes).
MAX_REPLY_BYTES = 16 * 1024
MAX_LINE_BYTES = 8192  # smtplib's own limit for one line


class ReplyTooLong(smtplib.SMTPException):
    """The server's reply went past the bound; the connection was closed."""

    def __init__(self, limit: int) -> None:
        self.limit = f"{limit // 1024} KB"
        super().__init__(f"reply longer than {self.limit}")


class UnreadableReply(smtplib.SMTPException):
    """A line of the server's reply did not start with a three-digit code."""

    def __init__(self) -> None:
        super().__init__("not an SMTP reply")


@contextmanager
def bounded_replies(smtp: smtplib.SMTP, max_bytes: int = MAX_REPLY_BYTES) -> Iterator[None]:
    """Within the block, every reply `smtp` reads is bounded to `max_bytes`
    (`smtp_connection.Smtp` reads its replies through `read_reply` then)."""
    smtp.reply_limit = max_bytes
    try:
        yield
    finally:
        smtp.reply_limit = None


def read_reply(smtp: smtplib.SMTP, max_bytes: int) -> tuple[int, bytes]:
    """One reply, as smtplib.SMTP.getreply returns it: (code, lines joined by \\n)."""
    if smtp.file is None:
        smtp.file = smtp.sock.makefile("rb")
    lines: list[bytes] = []
    size = 0
    while True:
        line = _read_line(smtp, min(MAX_LINE_BYTES, max_bytes - size) + 1)
        size += len(line)
        if size > max_bytes or len(line) > MAX_LINE_BYTES:
            smtp.close()
            raise ReplyTooLong(max_bytes)
        code, separator = line[:3], line[3:4]
        if not (code.isdigit() and separator in (b" ", b"-", b"\r", b"\n", b"")):
            smtp.close()
            raise UnreadableReply()
        lines.append(line[4:].strip(b" \t\r\n"))
        if separator != b"-":
            return int(code), b"\n".join(lines)


def _read_line(smtp: smtplib.SMTP, limit: int) -> bytes:
    try:
        line = smtp.file.readline(limit)
    except TimeoutError:
        smtp.close()
        raise  # classified as a timeout, with the session's timeout in its text
    except OSError as exc:
        smtp.close()
        raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {exc}") from None
    if not line:
        smtp.close()
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    return line
