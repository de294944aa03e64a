"""How fast reports are read and how fast a bulk send is checked against the suppression list.

    python bench/bounces.py [--reports 10000] [--recipients 100000] [--suppressed 100000]

Reads generated reports of every format the tests hold (RFC 3464 from Postfix, Exim,
Exchange Online and Gmail, a Yahoo-style one through flufl.bounce, ARF complaints, out-of-
office replies), then checks the recipients of a `send_bulk` against a suppression list of
that size on PostgreSQL (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/notifuse_bench_bounces). Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifuse_bench_bounces"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.update({"DATABASE_URL": DATABASE_URL, "DJANGO_SETTINGS_MODULE": "notifuse_smtp.settings",
                   "LOG_LEVEL": "WARNING", "REDIS_URL": REDIS_URL, "DEBUG": "false"})

from bench.run import prepare_database  # noqa: E402


def read_reports(count: int) -> tuple[float, dict]:
    from delivery.bounces.reports import read_report
    from tests.delivery.bounce_samples import AUTO_REPLIES, BOUNCES, COMPLAINTS, sample

    names = [*BOUNCES, *COMPLAINTS, *AUTO_REPLIES]
    raws = [sample(names[n % len(names)], message_id=f"<notifuse-smtp.{n}.1764584100@x.example>",
                   recipient=f"user{n}@example.org", sender="app@example.com")
            for n in range(count)]
    kinds: dict[str, int] = {}
    started = time.perf_counter()
    for raw in raws:
        kind = read_report(raw).kind
        kinds[kind] = kinds.get(kind, 0) + 1
    return time.perf_counter() - started, kinds


def check_bulk(recipients: int, suppressed: int) -> tuple[float, int]:
    from delivery.api import build_message
    from delivery.lifecycle.suppression import apply_suppressions
    from delivery.models import Suppression
    from integrations.models import SmtpIntegration
    from senders.models import Sender

    integration = SmtpIntegration.objects.create(name="bench", host="smtp.example.com",
                                                 auth_type="none", use_for_marketing=True)
    Sender.objects.create(integration=integration, email="app@example.com", is_default=True)
    # Every second recipient is on the list; the other half of the list is other addresses.
    Suppression.objects.bulk_create(
        [Suppression(address=f"user{2 * n}@example.org", reason="hard_bounce", scope="all")
         for n in range(suppressed)], batch_size=10_000)
    routes: dict = {}
    built = [build_message(to=[f"user{n}@example.org"], subject="s", text="x",
                           kind="marketing", routes=routes) for n in range(recipients)]
    started = time.perf_counter()
    count = apply_suppressions(built)
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--suppressed", type=int, default=100_000)
    options = parser.parse_args()
    prepare_database()
    import django

    django.setup()
    seconds, kinds = read_reports(options.reports)
    print(f"| read {options.reports:,} reports | {seconds:.2f} s | "
          f"{options.reports / seconds:,.0f} reports/s | {kinds} |")
    seconds, count = check_bulk(options.recipients, options.suppressed)
    print(f"| check a send_bulk of {options.recipients:,} recipients against "
          f"{options.suppressed:,} suppressed | {seconds:.2f} s | "
          f"{options.recipients / seconds:,.0f} recipients/s | {count:,} suppressed |")


if __name__ == "__main__":
    main()
