"""How fast the staff portal answers as the table grows, how many queries each page runs, and
what the streamed CSV export costs.

    python bench/portal.py [--messages 1000000,5000000]

Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/notifuse_bench_portal)
and BENCH_REDIS_URL, with DEBUG off as deployed (requests go as HTTPS: production settings
redirect plain HTTP). The table grows to each size in turn: messages spread evenly over the
90 days of the default retention in the order they arrive (each growth is a second such
stream), one attempt each, 10% failed, the rest sent but for the last ten minutes' mail,
which is still queued. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifuse_bench_portal"
)
os.environ.setdefault("STATIC_ROOT", str(Path(tempfile.gettempdir()) / "notifuse-bench-static"))

from bench.run import prepare_database  # noqa: E402  (sets DEBUG off and the database)

INTEGRATIONS = 5
RETENTION_DAYS = 90
# Every column without a database default, for rows written by SQL rather than the ORM.
MESSAGE_ROWS = f"""
INSERT INTO delivery_message (
    kind, status, priority, integration_id, integration_pinned, from_email, "to", cc, bcc,
    reply_to, subject, text, html, headers, attachments, track, unsubscribe_url, open_count,
    click_count, attempt_count, attempts_before_retry, next_attempt_at, deadline,
    delivered_to, refused_recipients, suppressed_recipients, last_error, created_at,
    updated_at, sent_at, failed_at, cancelled_by, first_opened_at, tracking_key,
    signed_tracking_tokens)
SELECT 'transactional', g.status, 30, %(first)s + n %% {INTEGRATIONS}, false,
    (ARRAY['support@example.com', 'billing@example.com', 'news@example.com'])[1 + n %% 3],
    jsonb_build_array('user' || n || '@example.org'), '[]', '[]', '[]',
    CASE WHEN n %% 10 = 3 THEN 'Invoice ' ELSE 'Message ' END || n, 'x', '', '{{}}', '[]',
    true, '', 0, 0, 1, 0, g.created, g.created + interval '3 days', '[]', '{{}}', '{{}}',
    CASE WHEN g.status = 'failed' THEN '550 5.1.1 No such user' ELSE '' END,
    g.created, g.created,
    CASE WHEN g.status = 'sent' THEN g.created + interval '2 seconds' END,
    CASE WHEN g.status = 'failed' THEN g.created + interval '1 hour' END, '',
    CASE WHEN n %% 7 = 0 AND g.status = 'sent' THEN g.created + interval '1 hour' END,
    md5(n::text || random()::text), false
FROM (
    SELECT n, created, CASE WHEN created > now() - interval '10 minutes' THEN 'queued'
                            WHEN n %% 10 = 0 THEN 'failed' ELSE 'sent' END AS status
    -- In the order of n, as mail arrives: a day's rows sit together in the table.
    FROM (SELECT n, now() - interval '{RETENTION_DAYS} days' * (1 - (n - %(base)s + random())
                                                      / %(count)s) AS created
          FROM generate_series(%(start)s, %(stop)s) AS n) AS spread
) AS g
"""
ATTEMPT_ROWS = """
INSERT INTO delivery_sendattempt (message_id, integration_id, number, started_at, finished_at,
    stage, smtp_code, enhanced_code, error, hint, failure_class, succeeded)
SELECT id, integration_id, 1, created_at, created_at, CASE status WHEN 'failed' THEN 'rcpt'
    ELSE 'data' END, CASE status WHEN 'failed' THEN 550 ELSE 250 END, '', '', '',
    CASE status WHEN 'failed' THEN 'permanent' ELSE '' END, status = 'sent'
FROM delivery_message WHERE id > %(after)s AND status <> 'queued'
"""


def create_integrations() -> int:
    """The integrations the messages spread over; returns the first one's id."""
    from integrations.models import SmtpIntegration

    created = [SmtpIntegration.objects.create(name=f"integration {n}", host="smtp.example.com",
                                              auth_type="none") for n in range(INTEGRATIONS)]
    return created[0].pk


def grow_to(total: int, first_integration: int) -> None:
    """Add messages (and their attempts) until the table holds `total`, in chunks."""
    from django.db import connection

    from delivery.models import Message

    migration = import_module("delivery.migrations.0035_lighter_search_indexes")

    have = Message.objects.count()
    if have >= total:
        return
    with connection.cursor() as cursor:
        # As for any bulk load: the search indexes are built once after it, not row by row.
        for name in migration.SEARCH_INDEXES:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        for start in range(have, total, 250_000):
            cursor.execute("SELECT coalesce(max(id), 0) FROM delivery_message")
            after = cursor.fetchone()[0]
            stop = min(total, start + 250_000) - 1
            cursor.execute(MESSAGE_ROWS, {"first": first_integration, "start": start,
                                          "stop": stop, "base": have, "count": total - have})
            cursor.execute(ATTEMPT_ROWS, {"after": after})
            print(f"  … {stop + 1:,} messages", flush=True)
        cursor.execute("SET maintenance_work_mem = '256MB'")
        with connection.schema_editor() as editor:
            migration.create(migration.SEARCH_INDEXES, editor)
        # As autovacuum would by then: fresh statistics, and a visibility map for
        # index-only scans.
        cursor.execute("VACUUM ANALYZE delivery_message")
        cursor.execute("VACUUM ANALYZE delivery_sendattempt")


def time_page(client, url: str, runs: int = 10) -> tuple[float, int]:
    """Median milliseconds over `runs` requests after a warm-up, and the queries of one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, secure=True)  # warm caches, as a second visit would be
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings), len(queries)


def page_100_url(client) -> str:
    """The log's 100th page, reached as staff would: 99 clicks on "Older"."""
    import re

    url = "/portal/messages/"
    for _ in range(99):
        html = client.get(url, secure=True).content.decode()
        url = "/portal/messages/?before=" + re.search(r"before=([\d-]+)", html)[1]
    return url


def time_export(client, url: str) -> tuple[float, float, int, int]:
    """Seconds to stream the CSV, Python's peak traced memory in MB, lines, and queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    response = client.get(url, secure=True)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, secure=True)
        for _ in response.streaming_content:
            pass
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak, lines - 1, len(queries)


def report(client, total: int) -> None:
    print(f"\nportal with {total:,} messages (median of 10 requests, DEBUG off)")
    for label, url in [
        ("dashboard", "/portal/"),
        ("message log", "/portal/messages/"),
        ("message log, failed only", "/portal/messages/?status=failed"),
        ("message log, held only", "/portal/messages/?status=held"),
        ("message log, search", "/portal/messages/?q=user4242"),
        ("message log, search From", "/portal/messages/?q=billing@"),
        ("message log, page 100", page_100_url(client)),
    ]:
        ms, queries = time_page(client, url)
        print(f"{label:<28} {ms:8.1f} ms  {queries:3d} queries", flush=True)
    seconds, peak, rows, queries = time_export(client, "/portal/messages/export.csv?status=failed")
    print(f"{'CSV export, failed only':<28} {seconds:8.2f} s   {queries:3d} queries  "
          f"{rows:,} rows, peak {peak:.1f} MB traced", flush=True)


def logged_in_client(*, reuse: bool):
    """A test client logged in as a staff member who may read and retry messages and view
    the integrations (the dashboard shows them)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client

    users = get_user_model().objects
    user = users.get(username="bench") if reuse else users.create_user(
        "bench", "b@example.com", "x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_message", "retry_message", "view_smtpintegration"]))
    # No setup_test_environment(): its template instrumentation copies every context and
    # would be measured as if it were the page's own work.
    client = Client(HTTP_HOST="localhost")  # one of the default ALLOWED_HOSTS
    client.force_login(user)
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", default="1000000,5000000",
                        help="comma-separated table sizes to measure at, ascending")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database a previous run filled, as it is")
    args = parser.parse_args()
    if not args.reuse:
        prepare_database()
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                       cwd=ROOT, check=True)
    import django

    django.setup()
    from integrations.models import SmtpIntegration

    first = (SmtpIntegration.objects.order_by("pk").values_list("pk", flat=True).first()
             if args.reuse else create_integrations())
    client = logged_in_client(reuse=args.reuse)
    for total in [int(size) for size in args.messages.split(",")]:
        started = time.perf_counter()
        grow_to(total, first)
        print(f"  filled in {time.perf_counter() - started:.0f} s", flush=True)
        report(client, total)


if __name__ == "__main__":
    main()
