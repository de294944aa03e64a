"""What reading a long SMTP reply costs, and that it grows linearly (issue 15 item 11).

    python bench/replies.py [--lines 1000,2000,4000,8000,16000,32000] [--mb 0.1,1,10]

Two shapes of reply, as smtplib hands them over (lines joined by "\\n", the "550-" cut off):
blank lines between lines without an enhanced code (what made the former pattern quadratic:
each line start scanned every blank line after it), and lines of 1,000 characters
filling a size in MB. For each: the former pattern over the whole text (skipped where it
would take minutes), today's pattern over the whole text, and `catalog.from_reply` (bound,
redact, read the code, classify: what a worker or *Test integration* does), with what it
keeps. Best of three runs, wall clock and CPU seconds of this process. No database or broker
is used. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update({
    "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50),
    "FERNET_KEYS": secrets.token_urlsafe(32), "DJANGO_SETTINGS_MODULE": "notifuse_smtp.settings",
    "LOG_LEVEL": "WARNING",
})

FORMER_PATTERN = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b", re.MULTILINE)
# The former pattern is not run past this many lines: 0.4 s at 8,000, four times more each
# time the reply doubles.
FORMER_MAX_LINES = 16_000


def timed(action, runs: int = 3) -> tuple[float, float]:
    """(wall, CPU) seconds, each the best of `runs` runs."""
    wall = cpu = float("inf")
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return wall, cpu


def blank_lines(count: int) -> str:
    return "Requested action not taken:" + "\n" * (count - 2) + "\nBlocked by policy"


def long_lines(megabytes: float) -> str:
    line = "5.7.1 " + "x" * 994
    return "\n".join([line] * int(megabytes * 1_000_000 // 1001))


def row(label: str, text: str) -> str:
    from integrations.failures import catalog
    from integrations.failures.errors import parse_enhanced_code
    from integrations.failures.rules import Context

    context = Context(host="smtp.example.com", auth_type="basic", secrets=("hunter2-password",))
    lines = text.count("\n") + 1
    former = (f"{timed(lambda: FORMER_PATTERN.search(text))[1]:>10.4f}"
              if lines <= FORMER_MAX_LINES else f"{'-':>10}")
    pattern = timed(lambda: parse_enhanced_code(text))[1]
    wall, cpu = timed(lambda: catalog.from_reply("mail", 550, text, context))
    error = catalog.from_reply("mail", 550, text, context)
    kept = f"{len(error.text.encode()):,} B / {error.text.count(chr(10)) + 1} lines"
    return (f"{label:<14} {lines:>8,} {len(text) / 1e6:>7.2f} {former} {pattern:>10.4f} "
            f"{wall:>10.4f} {cpu:>10.4f}  {error.rule:<8} {kept}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1000,2000,4000,8000,16000,32000")
    parser.add_argument("--mb", default="0.1,1,10")
    args = parser.parse_args()
    import django

    django.setup()
    print(f"{'reply':<14} {'lines':>8} {'MB':>7} {'former cpu':>10} {'today cpu':>10} "
          f"{'from_reply':>10} {'cpu':>10}  {'rule':<8} kept")
    for count in map(int, args.lines.split(",")):
        print(row("blank lines", blank_lines(count)))
    for size in map(float, args.mb.split(",")):
        print(row(f"{size:g} MB", long_lines(size)))
    print("seconds, best of 3: the former and today's enhanced-code pattern over the whole "
          "text\n(CPU), from_reply in wall clock and CPU; kept is the error text stored")


if __name__ == "__main__":
    main()
