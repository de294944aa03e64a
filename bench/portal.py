"""How fast the staff portal answers with 100,000 messages, and how many queries it runs.

    python bench/portal.py [--messages 100000]

Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/notifuse_bench_portal),
fills it with messages and attempts, then times each page through Django's test client.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifuse_bench_portal"
)
os.environ.update({"DATABASE_URL": DATABASE_URL, "DJANGO_SETTINGS_MODULE": "notifuse_smtp.settings",
                   "LOG_LEVEL": "WARNING", "REDIS_URL": "redis://127.0.0.1:6379/14"})

from bench.run import prepare_database  # noqa: E402


def populate(count: int) -> None:
    from django.utils import timezone

    from delivery.models import Message, SendAttempt, Status
    from integrations.models import SmtpIntegration

    integrations = [
        SmtpIntegration.objects.create(name=f"integration {n}", host="smtp.example.com",
                                       auth_type="none")
        for n in range(5)
    ]
    now = timezone.now()
    statuses = [Status.SENT] * 8 + [Status.FAILED, Status.QUEUED]
    for start in range(0, count, 5000):
        batch = [
            Message(integration=integrations[n % 5], from_email="app@example.com",
                    to=[f"user{n}@example.org"], subject=f"Message {n}", text="x",
                    status=statuses[n % 10], next_attempt_at=now,
                    deadline=now + timedelta(days=3))
            for n in range(start, min(count, start + 5000))
        ]
        created = Message.objects.bulk_create(batch)
        Message.objects.filter(pk__in=[m.pk for m in created]).update(
            created_at=now - timedelta(minutes=1)
        )
        SendAttempt.objects.bulk_create([
            SendAttempt(message=m, integration_id=m.integration_id, number=1, started_at=now,
                        stage="data", succeeded=m.status == Status.SENT)
            for m in created
        ])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def time_page(client, url: str, runs: int = 10) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches, as a second visit would be
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    prepare_database()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    populate(args.messages)
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("bench", "b@example.com", "x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_message"))  # the log
    client = Client()
    client.force_login(user)
    print(f"\nportal with {args.messages:,} messages (median of 10 requests)")
    for label, url in [
        ("dashboard", "/portal/"),
        ("message log", "/portal/messages/"),
        ("message log, failed only", "/portal/messages/?status=failed"),
        ("message log, search", "/portal/messages/?q=user4242"),
        ("message log, page 100", "/portal/messages/?page=100"),
    ]:
        ms, queries = time_page(client, url)
        print(f"{label:<28} {ms:8.1f} ms  {queries:3d} queries")


if __name__ == "__main__":
    main()
