"""Benchmark rows for the HTTP API and webhooks (run by bench/run.py, figures printed only).

`POST /messages` goes to gunicorn (2 sync workers) as deployed, from a few client threads;
webhook deliveries go from the project's Celery workers to a local receiver that answers 204.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CLIENT_THREADS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn notifuse_smtp.wsgi -w 2` on a free local port."""

    def __init__(self) -> None:
        self.port = _free_port()
        log = open(ROOT / "var" / "bench-gunicorn.log", "wb")  # noqa: SIM115 - closed with it
        env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "notifuse_smtp.wsgi", "-w", "2", "-b",
             f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/api/v1/openapi.json", timeout=10)
                return
            except requests.RequestException:  # not listening yet, or still starting
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start: see var/bench-gunicorn.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        import signal

        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


def post_messages(sink, integration, count: int) -> tuple[float, float]:
    """POST /messages `count` times; (requests answered per second, delivered per second)."""
    from delivery.api_keys import ApiKey

    _, key = ApiKey.issue(name="bench", scopes=["send"], rate_limit_per_minute=10**9)
    server = Gunicorn()
    headers = {"Authorization": f"Bearer {key}"}
    local = threading.local()

    def post(n: int) -> int:
        session = local.__dict__.setdefault("session", requests.Session())
        body = {"to": [f"api{n}@example.org"], "subject": "Your code", "text": "123456",
                "integration": integration.pk}
        return session.post(f"{server.url}/api/v1/messages", json=body, headers=headers,
                            timeout=30).status_code

    try:
        sink.reset()
        started = time.time()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            codes = list(pool.map(post, range(count)))
        answered = time.time()
        last = sink.wait_for(count, timeout=600)
    finally:
        server.stop()
    assert codes.count(201) == count, f"not all accepted: {set(codes)}"
    return count / (answered - started), count / (last - started)


class _Receiver(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _Receiver.lock:
            _Receiver.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def webhook_deliveries(count: int) -> float:
    """Deliveries per second from `count` stored events to a receiver answering 204."""
    from delivery.webhooks import events, signing
    from delivery.webhooks.models import WebhookEndpoint

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = WebhookEndpoint.objects.create(url=f"http://127.0.0.1:{server.server_address[1]}/",
                                   events=["message.sent"], secret=signing.new_secret())
    events._subscribers.clear()
    try:
        started = time.time()
        for n in range(count):
            events.record_event("message.sent", {"message_id": n})
        deadline = time.monotonic() + 600
        while _Receiver.received < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return _Receiver.received / (time.time() - started)
    finally:
        server.shutdown()
        endpoint.delete()  # later runs of workers must not POST to a receiver now gone
