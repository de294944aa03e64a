"""integrations/bounded_replies.read_reply reads a reply as smtplib's getreply does, within its
bound: held to smtplib on generated replies (hypothesis), and its cost on the worst input."""

from __future__ import annotations

import smtplib
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.bounded_replies import ReplyTooLong, UnreadableReply, read_reply

CODES = st.integers(min_value=200, max_value=599)
# Reply text as servers send it: printable ASCII and tabs, no line breaks.
TEXTS = st.text(
    st.characters(min_codepoint=9, max_codepoint=126, blacklist_characters="\n\r\x0b\x0c"),
    max_size=300,
)


def wire(code: int, texts: list[str]) -> bytes:
    last = len(texts) - 1
    return b"".join(f"{code}{' ' if n == last else '-'}{text}\r\n".encode()
                    for n, text in enumerate(texts))


def read_both(data: bytes, limit: int = 16 * 1024):
    """(what smtplib's getreply returns, what read_reply returns or raises) for `data`."""
    answers = []
    for reader in (smtplib.SMTP.getreply, lambda smtp: read_reply(smtp, limit)):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            theirs.sendall(data)
            theirs.shutdown(socket.SHUT_WR)
            smtp = smtplib.SMTP()
            smtp.sock, smtp.file = ours, None
            try:
                answers.append(reader(smtp))
            except (ReplyTooLong, UnreadableReply) as error:
                answers.append(type(error))
    return answers


@settings(max_examples=200, deadline=None)
@given(CODES, st.lists(TEXTS, min_size=1, max_size=12))
def test_a_reply_within_the_bound_reads_as_smtplib_reads_it(code, texts):
    expected, got = read_both(wire(code, texts))
    assert got == expected


@settings(max_examples=50, deadline=None)
@given(CODES, st.lists(TEXTS, min_size=1, max_size=12))
def test_a_reply_over_the_bound_ends_the_session(code, texts):
    data = wire(code, texts)
    _, got = read_both(data, limit=max(1, len(data) - 1))
    assert got is ReplyTooLong


@pytest.mark.parametrize("data", [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"25 short\r\n",
                                  b"250-ok\r\nnot a reply\r\n"])
def test_a_line_that_is_not_a_reply_is_refused_where_smtplib_makes_up_a_code(data):
    # smtplib reads these as code -1, 25 and -1: guesses, from which its login() goes on.
    expected, got = read_both(data)
    assert expected[0] in (-1, 25)
    assert got is UnreadableReply


def test_the_cost_of_a_huge_reply_stops_at_the_bound():
    # 10 MB of continuation lines: read_reply stops after 16 KB; smtplib reads it all.
    data = b"334-" + b"A" * 1020 + b"\r\n"
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.setblocking(False)
        sent = 0
        try:
            while sent < 10 * 1024 * 1024:
                sent += theirs.send(data)
        except BlockingIOError:
            pass  # the socket buffer is full: the reader has to stop well before the end
        smtp = smtplib.SMTP()
        smtp.sock, smtp.file = ours, None
        with pytest.raises(ReplyTooLong):
            read_reply(smtp, 16 * 1024)
