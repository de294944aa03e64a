"""The SMTP connection under a session: smtplib's, ended at the first 421, and its TLS setup."""

from __future__ import annotations

import smtplib
import ssl

from .bounded_replies import read_reply

# RFC 5321 §3.8: the server sends 421 when it is about to close the channel.
CLOSING = 421


def tls_context() -> ssl.SSLContext:
    """A client context that verifies certificates and host names against the system store."""
    return ssl.create_default_context()


class Smtp(smtplib.SMTP):
    """smtplib.SMTP that treats a 421, whatever it answers, as the end of the connection.

    smtplib reads a 421 like any other refusal: login() then tries its next AUTH mechanism
    on a connection the server has closed, and what gets recorded is "Connection unexpectedly
    closed" with no code. Raised here, the 421 reaches the session with its code and text.
    """

    # Set by `bounded_replies` while a reply must not be read whole (AUTH).
    reply_limit: int | None = None

    def getreply(self) -> tuple[int, bytes]:
        if self.reply_limit is None:
            code, reply = super().getreply()
        else:
            code, reply = read_reply(self, self.reply_limit)
        if code == CLOSING:
            self.close()
            raise smtplib.SMTPResponseException(code, reply)
        return code, reply


class ImplicitTlsSmtp(Smtp):
    """SMTP over a socket that is wrapped in TLS before the greeting (port 465)."""

    def __init__(self, sock, host: str, port: int, local_hostname: str, timeout: float):
        super().__init__(local_hostname=local_hostname, timeout=timeout)
        self._host = host
        self.sock = tls_context().wrap_socket(sock, server_hostname=host)
        self.file = None
        code, reply = self.getreply()
        if code != 220:
            self.close()
            raise smtplib.SMTPConnectError(code, reply)


def quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass
