"""An SMTP server that answers from a script, for tests of what goes over the wire.

It offers the EHLO extensions it is given, answers each command with the scripted reply
(else a plain success), and records every command line and every message as received.
It takes BDAT chunks (RFC 3030) when a test offers CHUNKING.
aiosmtpd always offers 8BITMIME and answers by its own rules; this one does what it is told:
refuse one recipient and then DATA, close with 421 in the middle of AUTH, or go silent.
"""

from __future__ import annotations

import socket
import threading

from .raw_servers import listen

# A scripted reply that never comes: the server holds its answer until the client hangs up.
SILENT = object()
# The key of the reply to the end of the message data (the line with a lone dot).
END_OF_DATA = "."


class ScriptedSmtpServer:
    """`replies` maps a command prefix ("AUTH PLAIN", "RCPT TO:<x@example.org>", "DATA", or
    END_OF_DATA) to its reply; the longest matching prefix wins. A reply is a line (str, sent
    with CRLF), raw bytes sent as they are (any size, garbage, a hostile challenge), a callable
    making bytes of the line received (a server echoing it), or SILENT.

    A 421 reply closes the connection after it is sent, as RFC 5321 says a server does. After
    an AUTH reply starting 334, the client's next line (its answer to the challenge) gets the
    AUTH reply again.
    """

    # What tests.factories.make_integration reads: plain text, no login unless a test sets one.
    tls = "none"

    def __init__(
        self,
        *,
        extensions: tuple[str, ...] = ("PIPELINING",),
        replies: dict[str, object] | None = None,
        credentials: dict[str, str] | None = None,
    ) -> None:
        self.extensions = list(extensions)
        self.replies: dict[str, object] = dict(replies or {})
        self.credentials = dict(credentials or {})
        self._challenged, self._auth_reply = False, None
        self.commands: list[str] = []
        self.messages: list[bytes] = []
        self.connections = 0
        self.sock = listen(0)
        self.host, self.port = self.sock.getsockname()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="ScriptedSmtp", daemon=True)

    def __enter__(self) -> ScriptedSmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sock in [self.sock, *self._open]:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() or read
            except OSError:
                pass
            sock.close()
        self._thread.join(timeout=5)

    def mail_commands(self) -> list[str]:
        return [c for c in self.commands if c.startswith("MAIL ")]

    @property
    def auth_lines(self) -> list[str]:
        """The AUTH command and every line after it (the client's answers to challenges)."""
        firsts = [n for n, line in enumerate(self.commands) if line.startswith("AUTH")]
        return list(self.commands[firsts[0]:]) if firsts else []

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed by __exit__
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 scripted.test ESMTP\r\n")
                challenged = False  # the last reply was an AUTH challenge (334)
                while line := lines.readline(65536):
                    command = line.rstrip(b"\r\n").decode("latin-1")
                    if challenged:
                        self.commands.append(command)
                        challenged = self._send(conn, self._auth_reply, command)
                        continue
                    if not self._answer(conn, lines, command):
                        return
                    challenged = self._challenged
        except OSError:
            pass  # the client went away first

    def _answer(self, conn: socket.socket, lines, command: str) -> bool:
        """Answer one command line; False when the session is over. Sets `_challenged`
        (connections are served one command at a time each; tests open one at a time)."""
        self._challenged, self._auth_reply = False, None
        verb, space, rest = command.partition(" ")
        verb = verb.upper()  # verbs are case-insensitive (smtplib sends "mail FROM:")
        command = f"{verb}{space}{rest}"
        self.commands.append(command)
        reply = self._scripted(command)
        if reply is None and verb in ("EHLO", "HELO"):
            offered = ["scripted.test", *self.extensions] if verb == "EHLO" else ["scripted"]
            conn.sendall(_multiline(250, offered))
            return True
        if verb == "BDAT":
            return self._answer_chunk(conn, lines, rest, reply)
        reply = _DEFAULTS.get(verb, "250 2.0.0 OK") if reply is None else reply
        if reply is SILENT:
            lines.read()  # until the client gives up and closes
            return False
        self._challenged = self._send(conn, reply, command) and verb == "AUTH"
        self._auth_reply = reply
        if isinstance(reply, bytes) or callable(reply):
            return True  # raw: the client decides what comes next
        if verb == "DATA" and str(reply).startswith("354"):
            self.messages.append(_message(lines))
            self.commands.append(END_OF_DATA)
            return self._answer_end_of_data(conn, lines)
        return not str(reply).startswith(("421", "221"))

    def _answer_chunk(self, conn: socket.socket, lines, rest: str, reply: object) -> bool:
        """BDAT <size> [LAST] (RFC 3030): the chunk is read whatever the reply (the
        script's, else a success); a LAST chunk is recorded as a message."""
        size, _, last = rest.partition(" ")
        chunk = lines.read(int(size))
        if last:
            self.messages.append(chunk)
        reply = reply or _DEFAULTS[END_OF_DATA]
        conn.sendall(f"{reply}\r\n".encode())
        return not str(reply).startswith("421")

    def _answer_end_of_data(self, conn: socket.socket, lines) -> bool:
        reply = self._scripted(END_OF_DATA) or _DEFAULTS[END_OF_DATA]
        if reply is SILENT:
            lines.read()
            return False
        conn.sendall(f"{reply}\r\n".encode())
        return not str(reply).startswith("421")

    @staticmethod
    def _send(conn: socket.socket, reply: object, command: str) -> bool:
        """Send `reply` to `command`; whether it was a challenge (334)."""
        if callable(reply):
            reply = reply(command.encode("latin-1"))
        data = reply if isinstance(reply, bytes) else f"{reply}\r\n".encode()
        conn.sendall(data)
        return data.startswith(b"334")

    def _scripted(self, command: str) -> object | None:
        """The scripted reply to `command`, None when the script has none."""
        upper = command.upper()
        matching = [key for key in self.replies if upper.startswith(key.upper())]
        return self.replies[max(matching, key=len)] if matching else None


_DEFAULTS = {
    "DATA": "354 End data with <CR><LF>.<CR><LF>",
    END_OF_DATA: "250 2.0.0 Queued",
    "AUTH": "235 2.7.0 Authentication successful",
    "QUIT": "221 2.0.0 Bye",
}


def _multiline(code: int, texts: list[str]) -> bytes:
    last = len(texts) - 1
    return b"".join(
        f"{code}{' ' if i == last else '-'}{text}\r\n".encode() for i, text in enumerate(texts)
    )


def _message(lines) -> bytes:
    """The message data up to the lone dot, with the leading dots the client doubled undone."""
    received = []
    while (line := lines.readline()) not in (b".\r\n", b""):
        received.append(line[1:] if line.startswith(b"..") else line)
    return b"".join(received)
