"""A scripted SMTP server for AUTH: it answers AUTH with whatever a test gives it (a bad
challenge, garbage, megabytes) and records every command line it received, so a test can
say whether AUTH ever arrived."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from .raw_servers import listen

GREETING = b"220 scripted.test ESMTP\r\n"


class ScriptedAuthServer:
    """Plain SMTP on 127.0.0.1; every AUTH command gets `auth_reply` as it is (bytes), or
    what `auth_reply(line)` makes of the line received (a server echoing it).

    `commands` holds each line received, decoded; `auth_lines` those that began AUTH and
    every line after (the client's answers to challenges).
    """

    # What tests.factories.make_integration reads: plain text, AUTH required.
    tls = "none"

    def __init__(
        self, auth_reply: bytes | Callable[[bytes], bytes], mechanisms: str = "PLAIN LOGIN XOAUTH2"
    ) -> None:
        self.auth_reply = auth_reply
        self.ehlo_reply = f"250-scripted.test\r\n250 AUTH {mechanisms}\r\n".encode()
        self.credentials = {"app": "set by the test"}
        self.sock = listen(0)
        self.host, self.port = self.sock.getsockname()
        self.commands: list[str] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="ScriptedAuth", daemon=True)

    @property
    def auth_lines(self) -> list[str]:
        with self._lock:
            firsts = [n for n, line in enumerate(self.commands) if line.upper().startswith("AUTH")]
            return list(self.commands[firsts[0] :]) if firsts else []

    def __enter__(self) -> ScriptedAuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed by __exit__
            self.connections += 1
            try:
                with conn:
                    conn.settimeout(10)
                    self._converse(conn)
            except OSError:
                pass  # the client hung up, as it should after a hostile reply

    def _converse(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        conn.sendall(GREETING)
        while line := reader.readline(65536):
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            with self._lock:
                self.commands.append(command)
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                conn.sendall(self.ehlo_reply)
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            elif verb == "AUTH" or self.auth_lines:
                reply = self.auth_reply
                conn.sendall(reply(line.rstrip(b"\r\n")) if callable(reply) else reply)
            else:
                conn.sendall(b"503 5.5.1 AUTH first\r\n")
