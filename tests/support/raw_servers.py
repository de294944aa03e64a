"""Servers that misbehave below SMTP, for timeout and handshake tests, and the listening socket."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Literal

HOST = "127.0.0.1"


def listen(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1: `port`, or one the OS picks if 0."""
    # IPPROTO_TCP named, so asyncio turns Nagle off on accepted connections: replies to
    # pipelined commands must not wait for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # A restarted server takes its port back although old connections linger in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class BlackholeServer:
    """Accepts TCP connections and never says a word (for timeout tests)."""

    def __init__(self) -> None:
        # The kernel completes handshakes for the backlog; nobody ever reads or writes.
        self.sock = listen(0)
        self.host, self.port = self.sock.getsockname()

    def close(self) -> None:
        """Stop listening; pending connections are reset."""
        self.sock.close()

    def __enter__(self) -> BlackholeServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class HandshakeDropServer:
    """Hangs up in the middle of the TLS handshake, as a flaky network or an overloaded
    server does: it reads the client's hello and closes (`reset=True`: with a TCP reset).

    tls="starttls" first speaks SMTP up to `220 Ready to start TLS`; "implicit" says nothing.
    `connections` counts the clients served.
    """

    def __init__(self, *, tls: Literal["starttls", "implicit"], reset: bool = False) -> None:
        assert tls in ("starttls", "implicit"), tls
        self.tls, self.reset = tls, reset
        self.sock = listen(0)
        self.host, self.port = self.sock.getsockname()
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, name="HandshakeDrop", daemon=True)

    def __enter__(self) -> HandshakeDropServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed by __exit__
            self.connections += 1
            try:
                with conn:
                    conn.settimeout(5)
                    self._drop_mid_handshake(conn)
            except OSError:
                pass  # the client gave up first: nothing to do

    def _drop_mid_handshake(self, conn: socket.socket) -> None:
        if self.tls == "starttls":
            reader = conn.makefile("rb")
            conn.sendall(b"220 smtp.test ESMTP drops TLS handshakes\r\n")
            while True:
                command = reader.readline().strip().upper()
                if not command or command == b"QUIT":
                    return
                if command.startswith((b"EHLO", b"HELO")):
                    conn.sendall(b"250-smtp.test\r\n250 STARTTLS\r\n")
                elif command == b"STARTTLS":
                    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    break
                else:
                    conn.sendall(b"530 5.7.0 Must issue a STARTTLS command first\r\n")
        conn.recv(65536)  # the ClientHello; the client now waits for our answer
        if self.reset:
            # Linger 0: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
