"""CPU and wall time per message of the hot paths, in this process, without Celery.

    python bench/hot_paths.py [--messages 3000] [--runs 5]

For comparing two versions of the code on a noisy machine, where bench/run.py's throughput
swings by a fifth between runs: it measures the checkout it is run from, so run this file
from each checkout in turn (a `git worktree` of the other version, sharing this .venv:
`cd ../other && python ../main/bench/hot_paths.py`) and compare the medians. It measures
`send_email` in a loop, `send_bulk`, one claim of 100 (Python only), and a worker's drain of
a bulk backlog against the accept-and-discard sink. Uses BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/notifuse_bench_hot_paths, dropped and created afresh) and
BENCH_REDIS_URL, with DEBUG off. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# The checkout to measure: the one it is run from, else its own.
ROOT = Path.cwd() if (Path.cwd() / "manage.py").exists() else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifuse_bench_hot_paths"
)

from bench.run import prepare_database  # noqa: E402  (sets DEBUG off and the database)


def timed(work) -> tuple[float, float]:
    """(wall, CPU) seconds of `work()` in this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def clear() -> None:
    from delivery.models import Message, SendAttempt

    SendAttempt.objects.all().delete()
    Message.objects.all().delete()


def rows(integration, count: int, prefix: str) -> list[dict]:
    return [{"to": [f"{prefix}{n}@example.org"], "subject": "News", "text": "Hello there",
             "integration": integration} for n in range(count)]


def send_email_loop(integration, count: int) -> tuple[float, float]:
    from delivery.api import send_email

    def work():
        for n in range(count):
            send_email(to=f"reader{n}@example.org", subject="Hello", text="Hi there",
                       integration=integration)
    return timed(work)


def claim_of_100(integration, count: int) -> tuple[float, float]:
    try:
        from delivery.lifecycle.claiming import claim_batch
    except ImportError:  # the code from before the lifecycle package
        from delivery.claiming import claim_batch
    from delivery.api import send_bulk

    send_bulk(rows(integration, count, "claim"))
    claimed = []
    wall, cpu = timed(lambda: [claimed.extend(claim_batch(integration.pk, 100))
                               for _ in range(count // 100)])
    return wall * count / len(claimed), cpu * count / len(claimed)


def drain(integration, count: int) -> tuple[float, float]:
    from delivery import engine
    from delivery.api import send_bulk
    from delivery.models import Message

    send_bulk(rows(integration, count, "drain"))
    wall, cpu = timed(lambda: engine.drain(integration.pk))
    sent = Message.objects.filter(status="sent").count()
    # A drain may hand the rest on after a while: per message it sent.
    return wall * count / sent, cpu * count / sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    prepare_database()
    import django

    django.setup()
    from bench.run import setup_integration
    from bench.sink import Sink
    from delivery.api import send_bulk

    measures = {
        "send_email in a loop": send_email_loop,
        "send_bulk": lambda i, n: timed(lambda: send_bulk(rows(i, n, "bulk"))),
        "claim of 100 (Python)": claim_of_100,
        "drain of a bulk backlog": drain,
    }
    with Sink() as sink:
        integration = setup_integration(sink.port)
        drain(integration, 200)  # warm: connections, prepared statements, URL resolver
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in measures}
        for _ in range(args.runs):
            for name, measure in measures.items():
                clear()
                figures[name].append(measure(integration, args.messages))
    print(f"\n{ROOT.name}: per message, median of {args.runs} runs of {args.messages:,}")
    for name, runs in figures.items():
        wall = statistics.median(w for w, _ in runs) / args.messages * 1e6
        cpu = statistics.median(c for _, c in runs) / args.messages * 1e6
        print(f"{name:<26} wall {wall:7.1f} µs   CPU (this process) {cpu:7.1f} µs")


if __name__ == "__main__":
    main()
