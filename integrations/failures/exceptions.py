"""Exceptions a session step raises without an SMTP reply: network, TLS, DNS, smtplib, encoding.

A reply the server gave (smtplib.SMTPResponseException) is read by the reply rules instead.
"""

from __future__ import annotations

import binascii
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from integrations.bounded_replies import ReplyTooLong, UnreadableReply

from .rules import C, T, Context, Rule

RULES: tuple[Rule, ...] = (
    Rule("exception.not-supported", C, "The server does not offer this step (for AUTH: no "
         "mechanism was offered, often because TLS is off or the server does not authenticate "
         "on this port).", says="{reason}"),
    Rule("exception.disconnected", T, "The server dropped the connection; the message will be "
         "retried.", says="Connection closed by the server: {reason}"),
    # smtplib's own refusals, with no reply code: above all "No suitable authentication method
    # found" (the server offers only mechanisms it lacks).
    Rule("exception.smtplib", C, "The server offers no AUTH mechanism this client can use with "
         "these credentials (PLAIN, LOGIN and CRAM-MD5 for a password; XOAUTH2 for OAuth2): "
         "check the port and auth type, or ask for SMTP AUTH to be enabled.", says="{reason}"),
    Rule("exception.certificate", C, "The server's TLS certificate could not be verified "
         "(unknown or private CA, self-signed, expired, or issued for another host name). "
         "Certificates are always verified: use the host name on the certificate, or add the "
         "CA to the system trust store (or SSL_CERT_FILE).", stage="tls",
         says="Certificate not trusted: {reason}"),
    # The connection ended mid-handshake (closed, or reset, which may also arrive as
    # ConnectionResetError): the network or a busy server, not the TLS setup, which fails with
    # an alert (protocol version, handshake failure) instead. (Exchange resets TLS 1.0/1.1
    # clients, but the session's TLS context offers 1.2 or later.)
    Rule("exception.tls-lost", T, "The server closed the connection before TLS was set up; the "
         "message will be retried. If it keeps happening, check the port and TLS mode (465 is "
         "implicit TLS, 587 is STARTTLS).", says="Connection lost during TLS: {reason}"),
    Rule("exception.tls", C, "TLS could not be negotiated. Check the port and the TLS mode (465 "
         "is implicit TLS, 587 is STARTTLS) and that the server supports TLS 1.2 or later.",
         stage="tls", says="TLS handshake failed: {reason}"),
    # smtplib sends commands and AUTH strings as ASCII. The error's repr carries the whole
    # string (at AUTH: the password or the XOAUTH2 token), so none of it is kept.
    Rule("exception.encoding-credentials", C, "Use a username and password (or app password / "
         "API key) of ASCII characters only.",
         says="The credentials contain non-ASCII characters, which smtplib cannot send here."),
    Rule("exception.encoding-command", C, "Use ASCII envelope addresses (the domain is "
         "IDNA-encoded; the local part must be ASCII).",
         says="The command contains non-ASCII characters, which smtplib cannot send here."),
    # What a hostile or broken server answers to AUTH: a challenge that is not base64, a line
    # that is not a reply, a reply too long to be one. Nothing the server sent is kept.
    Rule("exception.auth-challenge", C, "The server's AUTH challenge (a 334 reply) was not "
         "valid base64, as RFC 4954 requires: check that host and port lead to the SMTP "
         "submission server you expect.", stage="auth",
         says="The server's AUTH challenge could not be decoded ({reason})."),
    Rule("exception.unreadable-reply", C, "The server's answer was not an SMTP reply (three "
         "digits, then text): check that host and port lead to an SMTP server.",
         says="The server answered with something that is not an SMTP reply."),
    Rule("exception.reply-too-long", C, "The server's answer was far longer than any SMTP "
         "reply: check that host and port lead to the SMTP server you expect. The rest was "
         "not read.", says="The server's reply exceeded {limit}; the connection was closed."),
    Rule("exception.dns", C, "Check the SMTP host for typos; the name is not known to DNS.",
         stage="connect", says="Host name does not resolve: {host} ({reason})"),
    Rule("exception.timeout", T, "The server did not answer in time; check host, port and "
         "firewalls. The message will be retried.", says="Timed out after {seconds:g} s"),
    # A reply that never came on an open connection: smtplib reports the read timeout as a
    # disconnection, although the server may still be working on the command.
    Rule("exception.reply-timeout", T, "The server accepted the connection but did not answer "
         "within the timeout (overloaded, or slow to check the message). The message will be "
         "retried; after a silence once the message was sent (at the end of DATA, or after a "
         "BDAT chunk) the server may have kept it, so the recipient could receive it twice.",
         says="Timed out after {seconds:g} s waiting for the server"),
    Rule("exception.network", T, "Could not reach the server (refused or reset). Check host and "
         "port; the message will be retried.", says="Network error: {reason}"),
)

Facts = Callable[[BaseException, Context], dict]


def _redacted_text(exc: BaseException, context: Context) -> dict:
    return {"reason": context.redacted(str(exc))}


def _ssl_reason(exc: BaseException, context: Context) -> dict:
    return {"reason": getattr(exc, "reason", None) or exc}


def _no_facts(exc: BaseException, context: Context) -> dict:
    return {}


@dataclass(frozen=True)
class ByType:
    """Which rule an exception type maps to, and the facts its text is made of."""

    types: type[BaseException] | tuple[type[BaseException], ...]
    rule: str
    facts: Facts = _no_facts
    # Only at this stage (the same exception means something else elsewhere).
    only_at: str = ""
    # Only when raised while handling this one (smtplib wraps a read timeout in a disconnect).
    caused_by: type[BaseException] | None = None


# Tried in order, so subclasses come before their bases (every ssl error and DNS failure is an
# OSError; SMTPServerDisconnected is an SMTPException).
BY_TYPE: tuple[ByType, ...] = (
    ByType(UnreadableReply, "exception.unreadable-reply"),
    ByType(ReplyTooLong, "exception.reply-too-long",
           lambda exc, context: {"limit": exc.limit}),
    ByType(smtplib.SMTPNotSupportedError, "exception.not-supported", _redacted_text),
    ByType(smtplib.SMTPServerDisconnected, "exception.reply-timeout",
           lambda exc, context: {"seconds": context.timeout}, caused_by=TimeoutError),
    ByType(smtplib.SMTPServerDisconnected, "exception.disconnected", _redacted_text),
    ByType(smtplib.SMTPException, "exception.smtplib", _redacted_text),
    ByType(ssl.SSLCertVerificationError, "exception.certificate",
           lambda exc, context: {"reason": getattr(exc, "verify_message", None) or exc}),
    ByType((ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError),
           "exception.tls-lost", _ssl_reason),
    ByType(ssl.SSLError, "exception.tls", _ssl_reason),
    ByType(UnicodeEncodeError, "exception.encoding-credentials", only_at="auth"),
    # smtplib decodes a 334 challenge with base64.decodebytes; its message names no secret.
    ByType(binascii.Error, "exception.auth-challenge", _redacted_text),
    ByType(UnicodeEncodeError, "exception.encoding-command"),
    ByType(socket.gaierror, "exception.dns",
           lambda exc, context: {"host": context.host, "reason": getattr(exc, "strerror", "")}),
    ByType(TimeoutError, "exception.timeout",
           lambda exc, context: {"seconds": context.timeout}),
    ByType(OSError, "exception.network",
           lambda exc, context: {"reason": getattr(exc, "strerror", None) or exc}),
)

# Everything a session step may raise that the catalog classifies (replies included).
CLASSIFIED = (smtplib.SMTPException, OSError, UnicodeEncodeError, binascii.Error)


def by_type(exc: BaseException, stage: str) -> ByType:
    """The first row for the exception's type (and stage)."""
    for row in BY_TYPE:
        if isinstance(exc, row.types) and (not row.only_at or row.only_at == stage) and (
            row.caused_by is None or isinstance(exc.__context__, row.caused_by)
        ):
            return row
    raise TypeError(f"no failure rule reads {exc.__class__.__name__}")
