"""A local HTTP server that records every POST and answers what the test says (200, 500...)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    received_at: float
    answered: int


@dataclass
class WebhookReceiver:
    """`with WebhookReceiver() as receiver:` ... `receiver.answer = 500`; `receiver.requests`."""

    answer: int = 200
    requests: list[Request] = field(default_factory=list)

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = receiver.answer
                receiver.requests.append(Request(
                    {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(),
                    code))
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
