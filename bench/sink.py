"""A minimal accept-and-discard SMTP server (asyncio, not aiosmtpd) for benchmarks.

aiosmtpd costs about 0.85 ms of CPU per message, which would make it the bottleneck; this
sink does the least SMTP that smtplib and the service need: EHLO, AUTH (anything succeeds),
MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT. It offers CHUNKING (BDAT, RFC 3030) as Gmail and
Exchange Online do, unless BENCH_SINK_CHUNKING=false: then the service sends DATA, as to
any server without it. It runs in its own process and records when it accepted
each message (by the service's Message-ID, or a counter for plain smtplib).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import socket
import time

MESSAGE_ID = re.compile(rb"^Message-ID: <notifuse-smtp\.(\d+)\.", re.MULTILINE | re.IGNORECASE)
EHLO_REPLY = (b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n"
              b"250-AUTH PLAIN LOGIN XOAUTH2\r\n250 SMTPUTF8\r\n")
CHUNKING = os.environ.get("BENCH_SINK_CHUNKING", "true").lower() not in ("0", "false", "no")
if CHUNKING:
    EHLO_REPLY = EHLO_REPLY.replace(b"250 SMTPUTF8", b"250-CHUNKING\r\n250 SMTPUTF8")


async def _session(reader, writer, accepted: dict, counter: list) -> None:
    # Replies to pipelined commands go out at once, as a real server's do (asyncio sets
    # this itself only on sockets it created).
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    writer.write(b"220 sink ESMTP\r\n")
    chunks: list[bytes] = []
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(EHLO_REPLY)
        elif verb == b"AUTH":
            writer.write(b"235 2.7.0 Authentication successful\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            _accept(await reader.readuntil(b"\r\n.\r\n"), accepted, counter)
            writer.write(b"250 2.0.0 OK\r\n")
        elif verb == b"BDAT":
            _, size, *last = line.split()
            chunks.append(await reader.readexactly(int(size)))
            if last:
                _accept(b"".join(chunks), accepted, counter)
                chunks.clear()
            writer.write(b"250 2.0.0 OK\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()


def _accept(content: bytes, accepted: dict, counter: list) -> None:
    match = MESSAGE_ID.search(content)
    counter[0] += 1
    accepted[int(match.group(1)) if match else -counter[0]] = time.time()


def _serve(sock: socket.socket, pipe) -> None:
    accepted: dict[int, float] = {}
    counter = [0]

    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _session(r, w, accepted, counter), sock=sock, limit=2**24
        )
        loop = asyncio.get_running_loop()
        async with server:
            while True:
                command = await loop.run_in_executor(None, pipe.recv)
                if command == "stop":
                    return
                if command == "count":
                    pipe.send(counter[0])
                elif command == "report":
                    pipe.send(dict(accepted))
                elif command == "reset":
                    accepted.clear()
                    counter[0] = 0
                    pipe.send(True)

    asyncio.run(main())


class Sink:
    """Starts the sink in a child process; `count()`, `report()` and `reset()` ask it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_serve, args=(self.sock, child), daemon=True)

    def __enter__(self) -> Sink:
        self.process.start()
        return self

    def __exit__(self, *exc) -> None:
        self.pipe.send("stop")
        self.process.join(5)

    def _ask(self, command: str):
        self.pipe.send(command)
        return self.pipe.recv()

    def count(self) -> int:
        return self._ask("count")

    def report(self) -> dict[int, float]:
        return self._ask("report")

    def reset(self) -> None:
        self._ask("reset")

    def wait_for(self, count: int, timeout: float) -> float:
        """Poll until `count` messages arrived; return the time the last one arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= count:
                return max(self.report().values())
            time.sleep(0.01)
        raise RuntimeError(f"the sink got {self.count()} of {count} messages in {timeout} s")
