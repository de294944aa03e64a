"""One SMTP transaction in as few round trips as the server allows (RFC 2920, RFC 3030).

With PIPELINING, MAIL, every RCPT and DATA go in one write and the replies are read in
order; the content follows the 354: two round trips a message. With CHUNKING as well, the
content goes in that same write as one `BDAT <size> LAST` chunk (RFC 3030 §4.1, §4.2): one
round trip, and no pass over the content to double its leading dots. Gmail and Exchange
Online offer both. A chunk is counted in bytes, not ended by a line, so a refused MAIL or
RCPT cannot desynchronise the session: the server reads the chunk and refuses it.
"""

from __future__ import annotations

import re
import smtplib
from typing import TYPE_CHECKING

from django.conf import settings

from . import smtputf8
from .failures import catalog
from .failures.errors import DeliveryError

if TYPE_CHECKING:
    from .mail_parameters import Prepared
    from .smtp_client import SmtpSession

ACCEPTED_RCPT = (250, 251)
# Larger envelopes go command by command: a pipelined write that big could fill both
# directions' buffers while the server waits for us to read its replies.
PIPELINE_MAX_RECIPIENTS = 100
# Larger messages go as DATA, after the replies: a server that refuses MAIL and hangs up
# (421) stops reading, and a write that big would fail before its reply could be read.
CHUNK_IN_ONE_WRITE_MAX = 64 * 1024
LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def can_pipeline(session: SmtpSession, smtp: smtplib.SMTP, recipients: list[str]) -> bool:
    # A session with an observer (Test integration) goes step by step, so each step reports
    # its own reply and time.
    return (session.observer is None and smtp.has_extn("pipelining")
            and len(recipients) <= PIPELINE_MAX_RECIPIENTS)


def send_pipelined(
    session: SmtpSession, smtp: smtplib.SMTP, envelope_from: str, recipients: list[str],
    prepared: Prepared,
) -> dict:
    """MAIL, every RCPT and DATA (or the whole content as BDAT) in one write, then every
    reply in order; return the refused recipients as {address: (code, text)}.

    Every reply is read before acting on any, so the connection stays in step; a 421 ends it
    at once (Smtp). Raises DeliveryError as SmtpSession.send does.
    """
    chunked = (settings.SMTP_CHUNKING and smtp.has_extn("chunking")
               and len(prepared.content) <= CHUNK_IN_ONE_WRITE_MAX)
    with session.step("mail"):
        _write_transaction(smtp, envelope_from, recipients, prepared, chunked)
    # Once the chunk is written the server may hold the whole message: a reply that never
    # comes, to any of the commands, leaves it unknown whether the message was taken, as a
    # silence after DATA's final dot does, and is recorded as that.
    silence = "data" if chunked else None
    with session.step("mail", silence=silence):
        mail_reply = smtp.getreply()
    refused = _rcpt_replies(session, smtp, recipients, silence)
    with refusals_kept(refused), session.step("data"):
        data_code, data_reply = smtp.getreply()
        if not chunked and data_code == 354 and (
            mail_reply[0] != 250 or len(refused) == len(recipients)
        ):
            # The server took DATA with no transaction to carry it: end it with a lone
            # dot, as RFC 2920 says, so nothing is sent.
            smtp.send(b".\r\n")
            smtp.getreply()
    if mail_reply[0] != 250:
        with session.step("mail"):
            raise smtplib.SMTPSenderRefused(*mail_reply, envelope_from)
    if len(refused) == len(recipients):
        session.reset_quietly()  # the server still holds the accepted MAIL FROM
        raise session.recipients_refused_error(refused)
    with refusals_kept(refused), session.step("data"):
        if not chunked:
            if data_code != 354:
                raise smtplib.SMTPDataError(data_code, data_reply)
            smtp.send(dot_terminated(prepared.content))
            data_code, data_reply = smtp.getreply()
        if data_code != 250:
            # A refused chunk leaves the transaction to RSET (RFC 3030 §2): the next
            # send() does it, as after any unfinished transaction.
            raise smtplib.SMTPDataError(data_code, data_reply)
    session.in_transaction = False
    session.messages_sent += 1
    return refused


def _write_transaction(
    smtp: smtplib.SMTP, envelope_from: str, recipients: list[str], prepared: Prepared,
    chunked: bool,
) -> None:
    """MAIL, every RCPT, then DATA, or the content as one BDAT chunk: one write."""
    # Envelope addresses arrive bare (notifuse_smtp.addresses.envelope_address).
    options = [*prepared.options, *smtputf8.mail_options(
        smtp, [envelope_from, *recipients], prepared.content)]
    commands = [" ".join([f"MAIL FROM:<{envelope_from}>", *options])]
    commands += [f"RCPT TO:<{address}>" for address in recipients]
    if any("\r" in command or "\n" in command for command in commands):
        raise ValueError("an envelope address contains a line break")  # as smtplib
    if not chunked:
        smtp.send("\r\n".join([*commands, "DATA", ""]))
        return
    content = crlf_terminated(prepared.content)
    commands.append(f"BDAT {len(content)} LAST")
    smtp.send("\r\n".join([*commands, ""]).encode(smtp.command_encoding) + content)


def _rcpt_replies(
    session: SmtpSession, smtp: smtplib.SMTP, recipients: list[str], silence: str | None,
) -> dict:
    refused: dict[str, tuple[int, str]] = {}
    with session.step("rcpt", silence=silence):
        for address in recipients:
            code, reply = smtp.getreply()
            if code not in ACCEPTED_RCPT:
                refused[address] = (code, catalog.decoded(reply))
    return refused


def refusals_kept(refused: dict) -> RefusalsKept:
    """A failure once some recipients were refused carries their refusals, so each
    recipient's answer is recorded (a permanent one for good) whatever DATA came to."""
    return RefusalsKept(refused)


class RefusalsKept:
    __slots__ = ("refused",)

    def __init__(self, refused: dict) -> None:
        self.refused = refused

    def __enter__(self) -> None:
        pass

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if isinstance(exc, DeliveryError):
            exc.refused_recipients = {**self.refused, **exc.refused_recipients}
        return False


def crlf_terminated(content: bytes) -> bytes:
    """The content ending in CRLF, as DATA's terminator makes every message end."""
    return content if content.endswith(b"\r\n") else content + b"\r\n"


def dot_terminated(content: bytes) -> bytes:
    """The message as DATA carries it: leading dots doubled, ended by CRLF . CRLF (what
    smtplib.SMTP.data does after its own round trip for DATA, which pipelining has done)."""
    return crlf_terminated(LEADING_DOT.sub(b"..", content)) + b".\r\n"
