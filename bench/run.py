"""Throughput, latency, token and memory benchmark of the real delivery path.

    python bench/run.py [--messages 3000] [--rss 10000,100000] [--skip-rss]

Starts an accept-and-discard SMTP sink, uses PostgreSQL and Redis from the environment
(BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/notifuse_bench; Redis
database 14), starts the project's real Celery workers, and prints one table. Figures are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import smtplib
import statistics
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifuse_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.update({
    # Measured as deployed: DEBUG off (no per-query bookkeeping), with throwaway keys.
    "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50),
    "FERNET_KEYS": secrets.token_urlsafe(32),
    "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "CELERY_BROKER_URL": REDIS_URL,
    "DJANGO_SETTINGS_MODULE": "notifuse_smtp.settings", "LOG_LEVEL": "WARNING",
    "TRACKING_ENABLED": "false",
})

from bench import cpu  # noqa: E402
from bench.sink import Sink  # noqa: E402


def prepare_database() -> None:
    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def limit_rate(port: int, count: int, runs: int = 3) -> float:
    """Plain smtplib on one connection: the practical limit for a Python client here.

    The best of `runs` runs: it varies by a quarter from run to run on a shared machine,
    and the highest figure makes every ratio below the least flattering.
    """
    return max(_smtplib_rate(port, count) for _ in range(runs))


def _smtplib_rate(port: int, count: int) -> float:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.org", "x"
    message.set_content("Hello, this is a small benchmark message.")
    payload = message.as_bytes()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo("bench")
        started = time.perf_counter()
        for _ in range(count):
            smtp.sendmail("a@example.com", ["b@example.org"], payload)
        return count / (time.perf_counter() - started)


def django_backend_rate(port: int, count: int) -> float:
    """Django's own SMTP backend on one open connection, a message built per send: the peer
    that app code without this service would use."""
    from django.core.mail import EmailMessage as DjangoEmailMessage
    from django.core.mail import get_connection

    with get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1",
                        port=port, use_tls=False, use_ssl=False) as connection:
        started = time.perf_counter()
        for n in range(count):
            DjangoEmailMessage("Your code", "123456", "app@example.com",
                               [f"user{n}@example.org"], connection=connection).send()
        return count / (time.perf_counter() - started)


class Workers:
    """The project's real Celery worker (prefork, concurrency 2)."""

    def __init__(self, **env: str) -> None:
        (ROOT / "var").mkdir(exist_ok=True)
        log = open(ROOT / "var" / "bench-worker.log", "wb")  # noqa: SIM115 - closed with it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "notifuse_smtp", "worker", "--loglevel",
             "WARNING", "--concurrency", "2", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM) of the worker and its pool processes, in MiB."""
        pids = [self.process.pid] + [
            int(p) for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            .read_text().split()
        ]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        return total / 1024

    def stop(self) -> None:
        import signal

        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


def setup_integration(port: int, name: str = "bench", **fields):
    from integrations.models import SmtpIntegration
    from senders.models import Sender

    values = {"name": name, "host": "127.0.0.1", "port": port, "use_tls": False,
              "auth_type": "none", "use_for_transactional": True, "use_for_marketing": True}
    integration = SmtpIntegration.objects.create(**{**values, **fields})
    Sender.objects.create(integration=integration, email="app@example.com", is_default=True)
    return integration


def transactional(sink: Sink, integration, count: int) -> float:
    from delivery.api import send_email

    sink.reset()
    cpu_before, started = cpu.snapshot(), time.time()
    for n in range(count):
        send_email(to=f"user{n}@example.org", subject="Your code", text="123456",
                   integration=integration)
    queued = time.time()
    last = sink.wait_for(count, timeout=600)
    print(f"  transactional: queued at {count / (queued - started):,.0f}/s, "
          f"delivered at {count / (last - started):,.0f}/s; CPU per message: "
          f"{cpu.per_message(cpu_before, cpu.snapshot(), count)}")
    return count / (last - started)


def bulk(sink: Sink, integration, count: int) -> float:
    from delivery.api import send_bulk

    sink.reset()
    cpu_before, started = cpu.snapshot(), time.time()
    for start in range(0, count, 5000):
        send_bulk([{"to": [f"user{n}@example.org"], "subject": "News", "text": "Hello",
                    "integration": integration}
                   for n in range(start, min(count, start + 5000))])
    last = sink.wait_for(count, timeout=1200)
    print(f"  bulk of {count:,}: CPU per message: "
          f"{cpu.per_message(cpu_before, cpu.snapshot(), count)}")
    return count / (last - started)


def latency(sink: Sink, integration, count: int, rate: float) -> tuple[float, float]:
    sink.reset()
    sent_at = send_paced(integration, count, rate, "u")
    sink.wait_for(count, timeout=120)
    return percentiles(sink, sent_at)


def send_paced(integration, count: int, rate: float, prefix: str) -> dict[int, float]:
    """`count` transactional send_email calls at `rate` a second: {message id: when queued}."""
    from delivery.api import send_email

    sent_at: dict[int, float] = {}
    start = time.time()
    for n in range(count):
        while time.time() < start + n / rate:
            time.sleep(0.001)
        sent_at[send_email(to=f"{prefix}{n}@example.org", subject="x", text="x",
                           integration=integration).pk] = time.time()
    return sent_at


def percentiles(sink: Sink, sent_at: dict[int, float]) -> tuple[float, float]:
    """p50 and p99 in ms from queueing to the sink accepting each message."""
    accepted = sink.report()
    delays = sorted((accepted[pk] - t) * 1000 for pk, t in sent_at.items())
    return statistics.median(delays), delays[int(len(delays) * 0.99) - 1]


def mixed(sink: Sink, integration, backlog: int, stream: int, rate: float) -> tuple[float, float]:
    """Transactional latency (p50, p99 in ms) while a marketing backlog drains on the same
    integration: priority lanes let each transactional message jump the backlog."""
    from delivery.api import send_bulk

    sink.reset()
    send_bulk([{"to": [f"reader{n}@example.org"], "subject": "News", "text": "x",
                "integration": integration} for n in range(backlog)])
    sent_at = send_paced(integration, stream, rate, "t")
    sink.wait_for(backlog + stream, timeout=300)
    return percentiles(sink, sent_at)


def oauth2_token_requests(sink: Sink, count: int) -> int:
    """Token-endpoint requests while `count` Gmail (OAuth2) messages go out."""
    import tempfile

    from tests.support.certs import TestCA
    from tests.support.fake_idp import FakeGoogleToken

    ca = TestCA()
    bundle = ca.write_bundle(tempfile.mkstemp(suffix=".pem")[1])
    google = FakeGoogleToken(ca.server_context(), {"bench-client": "bench-secret"},
                             {"1//bench-refresh": ("bench-client", "bench@gmail.example")})
    with google:
        integration = setup_integration(
            sink.port, name="bench gmail", auth_type="oauth2", oauth2_provider="google",
            username="bench@gmail.example", client_id="bench-client",
            client_secret="bench-secret", refresh_token="1//bench-refresh",
            allow_plaintext_auth=True,  # the sink is on this machine and offers no TLS
        )
        workers = Workers(GOOGLE_TOKEN_URL=google.token_url, REQUESTS_CA_BUNDLE=bundle)
        try:
            bulk(sink, integration, count)
        finally:
            workers.stop()
        return google.token_requests


def api_rows(rows: list, sink: Sink, integration, count: int, transactional_rate: float) -> None:
    """POST /messages through gunicorn against send_email's figure; webhook deliveries/s."""
    from bench import http_api

    answered, delivered = http_api.post_messages(sink, integration, count)
    rows.append((f"HTTP: {count} x POST /messages, gunicorn -w 2", f"{answered:,.0f} req/s",
                 f"{answered / transactional_rate:.2f}x send_email"))
    rows.append(("HTTP: those messages delivered", f"{delivered:,.0f} msg/s",
                 f"{delivered / transactional_rate:.2f}x send_email"))
    rate = http_api.webhook_deliveries(count)
    rows.append((f"webhooks: {count} events POSTed by the workers", f"{rate:,.0f} /s", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rss", default="10000,100000",
                        help="message counts at which to read the worker's peak RSS")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()

    prepare_database()
    import django

    django.setup()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    rows: list[tuple[str, str, str]] = []
    with Sink() as sink:
        limit = limit_rate(sink.port, args.messages)
        rows.append(("limit: smtplib, one connection", f"{limit:,.0f} msg/s", "1.00x"))
        peer = django_backend_rate(sink.port, args.messages)
        rows.append(("peer: Django's SMTP backend, one connection", f"{peer:,.0f} msg/s",
                     f"{peer / limit:.2f}x"))
        integration = setup_integration(sink.port)
        workers = Workers()
        try:
            transactional(sink, integration, 50)  # warm-up: workers started, sessions open
            rate = transactional(sink, integration, args.messages)
            rows.append((f"transactional: {args.messages} x send_email", f"{rate:,.0f} msg/s",
                         f"{rate / limit:.2f}x"))
            transactional_rate = rate
            rate = bulk(sink, integration, args.messages)
            rows.append((f"bulk: send_bulk of {args.messages}", f"{rate:,.0f} msg/s",
                         f"{rate / limit:.2f}x"))
            p50, p99 = latency(sink, integration, 200, rate=20)
            rows.append(("latency send_email -> accepted at 20 msg/s", f"p50 {p50:.1f} ms",
                         f"p99 {p99:.1f} ms"))
            backlog = 5 * args.messages
            p50, p99 = mixed(sink, integration, backlog, 100, rate=20)
            rows.append((f"mixed: transactional at 20 msg/s during a {backlog:,} bulk backlog",
                         f"p50 {p50:.1f} ms", f"p99 {p99:.1f} ms"))
            if not args.skip_rss:
                done = 0
                for target in (int(n) for n in args.rss.split(",")):
                    bulk(sink, integration, target - done)
                    done = target
                    rows.append((f"worker peak RSS after {target:,} messages",
                                 f"{workers.peak_rss_mb():.0f} MiB", ""))
            # Last: the webhook endpoint it adds would make every later send POST one.
            api_rows(rows, sink, integration, args.messages, transactional_rate)
        finally:
            workers.stop()
        requests_made = oauth2_token_requests(sink, 1000)
        rows.append(("token requests per 1,000 OAuth2 messages", f"{requests_made}", ""))
    print()
    width = max(len(r[0]) for r in rows)
    for label, figure, ratio in rows:
        print(f"{label:<{width}}  {figure:>16}  {ratio}")


if __name__ == "__main__":
    main()
