"""Port helpers for tests."""

from __future__ import annotations

import socket


def unused_port() -> int:
    """A localhost port with nothing listening (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
