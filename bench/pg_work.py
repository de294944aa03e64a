"""PostgreSQL's work per message on the hot paths, statement by statement: pages and WAL.

    python bench/pg_work.py [--messages 2000]

Throughput and CPU swing by a fifth between runs on a shared machine; what PostgreSQL does
for a message does not: the pages each statement touches and the WAL it writes are the same
from run to run, so two versions of the schema or of the queries can be compared to the
record. Like bench/hot_paths.py it measures the checkout it is run from (`cd ../other &&
python ../main/bench/pg_work.py` for a `git worktree` of another version, sharing this
.venv). It queues with `send_email` in a loop and with `send_bulk`, then drains a bulk
backlog in this process against the accept-and-discard sink, with PostgreSQL's auto_explain
loaded in the session and sending each statement's plan back as a notice (nested statements,
such as foreign-key checks, too). Uses BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/notifuse_bench_pg_work, dropped and created afresh). The
figures are printed, never asserted; the server must let this user LOAD auto_explain (a
superuser, as the local test server's `postgres`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve()
# The checkout to measure: the one it is run from, else its own.
ROOT = Path.cwd() if (Path.cwd() / "manage.py").exists() else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifuse_bench_pg_work"
)

from bench.run import prepare_database  # noqa: E402  (sets DEBUG off and the database)

FIGURES = {  # column: what auto_explain calls it
    "pages": ("Shared Hit Blocks", "Shared Read Blocks"),
    "dirtied": ("Shared Dirtied Blocks",),
    "WAL records": ("WAL Records",),
    "WAL bytes": ("WAL Bytes",),
}
AUTO_EXPLAIN = {
    "auto_explain.log_min_duration": "0", "auto_explain.log_analyze": "on",
    "auto_explain.log_timing": "off", "auto_explain.log_buffers": "on",
    "auto_explain.log_wal": "on", "auto_explain.log_format": "json",
    "auto_explain.log_nested_statements": "on", "auto_explain.log_level": "notice",
}


class PlanCollector:
    """Sums the figures of every plan PostgreSQL sends back, by the statement's first words."""

    def __init__(self) -> None:
        self.by_statement: dict[str, Counter] = defaultdict(Counter)
        self.recording = False

    def __call__(self, notice) -> None:
        text = notice.message_primary or ""
        if not self.recording or "{" not in text:
            return
        plan = json.loads(text[text.index("{"):])
        statement = " ".join(plan.get("Query Text", "").replace('"', "").split()[:6])
        figures = self.by_statement[statement]
        figures["statements"] += 1
        for column, names in FIGURES.items():
            figures[column] += sum(plan["Plan"].get(name, 0) for name in names)


def explain_every_statement(collector: PlanCollector) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        for name, value in AUTO_EXPLAIN.items():
            cursor.execute(f"SET {name} = '{value}'")
    connection.connection.add_notice_handler(collector)


def measured(collector: PlanCollector, work) -> dict[str, Counter]:
    collector.by_statement.clear()
    collector.recording = True
    try:
        work()
    finally:
        collector.recording = False
    return dict(collector.by_statement)


def report(name: str, by_statement: dict[str, Counter], messages: int) -> None:
    print(f"\n{name}: per message")
    print(f"  {'statement':<60}" + "".join(f"{column:>13}" for column in
                                          ("statements", *FIGURES)))
    total: Counter = Counter()
    for statement, figures in sorted(by_statement.items(), key=lambda i: -i[1]["WAL bytes"]):
        total.update(figures)
        print(f"  {statement[:60]:<60}" + "".join(
            f"{figures[column] / messages:13.2f}" for column in ("statements", *FIGURES)))
    print(f"  {'all':<60}" + "".join(
        f"{total[column] / messages:13.2f}" for column in ("statements", *FIGURES)))


def _this_benchs(name: str):
    spec = importlib.util.spec_from_file_location(f"pg_work_{name}", HERE.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    count = parser.parse_args().messages
    prepare_database()
    import django

    django.setup()
    hot_paths = _this_benchs("hot_paths")  # the checkout measured may have none
    from bench.run import setup_integration
    from bench.sink import Sink
    from delivery import engine
    from delivery.api import send_bulk, send_email

    collector = PlanCollector()
    with Sink() as sink:
        integration = setup_integration(sink.port)
        hot_paths.drain(integration, 200)  # warm: connections, prepared statements
        explain_every_statement(collector)
        hot_paths.clear()
        queued = measured(collector, lambda: [
            send_email(to=f"reader{n}@example.org", subject="Hello", text="Hi there",
                       integration=integration) for n in range(count)])
        hot_paths.clear()
        bulk = measured(collector, lambda: send_bulk(
            hot_paths.rows(integration, count, "drain")))
        drained = measured(collector, lambda: engine.drain(integration.pk))
    print(f"\n{ROOT.name}: PostgreSQL's pages touched and WAL written, {count:,} messages")
    report("send_email in a loop", queued, count)
    report("send_bulk", bulk, count)
    report("drain of the bulk backlog", drained, count)


if __name__ == "__main__":
    main()
