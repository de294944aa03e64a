"""Throughput of two checkouts, measured in turns: is the difference more than the noise?

    python bench/compare.py OTHER_CHECKOUT [--pairs 4] [--rounds 2] [--messages 3000]

bench/run.py's transactional and bulk rows swing by a fifth from run to run on a shared
2-core machine, and the machine's speed drifts over minutes: figures from different sittings
cannot be compared. This runs both rows in this checkout and in OTHER_CHECKOUT in turns
(A, B, A, B, …; each turn a fresh database, fresh workers and `--rounds` runs of each row),
with each checkout's own bench/run.py and code, then prints each row's median and range per
checkout and the CPU per message by process (bench/cpu.py). Ranges that overlap: within the
noise of this sitting. The other checkout may be any version that has bench/run.py's
`transactional` and `bulk` (a `git worktree` of an older commit, sharing this .venv).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve()
ROWS = ("transactional", "bulk")


def one_turn(rounds: int, messages: int) -> None:
    """Run in the checkout being measured (its working directory): one JSON line per round."""
    root = Path.cwd()
    sys.path.insert(0, str(root))
    # Always this file's CPU reader: an older checkout may have none.
    spec = importlib.util.spec_from_file_location("compare_cpu", HERE.parent / "cpu.py")
    cpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu)
    import bench.run as run  # the checkout's own (it sets the environment up)

    run.prepare_database()
    import django

    django.setup()
    import redis

    redis.Redis.from_url(run.REDIS_URL).flushdb()
    with run.Sink() as sink:
        integration = run.setup_integration(sink.port)
        workers = run.Workers()
        try:
            run.transactional(sink, integration, 50)  # warm-up
            for _ in range(rounds):
                figures = {}
                for row in ROWS:
                    before = cpu.snapshot()
                    rate = getattr(run, row)(sink, integration, messages)
                    figures[row] = {"rate": rate,
                                    "cpu": _cpu_ms(cpu, before, cpu.snapshot(), messages)}
                print("TURN " + json.dumps(figures), flush=True)
        finally:
            workers.stop()


def _cpu_ms(cpu, before: dict, after: dict, messages: int) -> dict[str, float]:
    spent: dict[str, float] = defaultdict(float)
    for pid, (role, seconds) in after.items():
        spent[role] += seconds - before.get(pid, (role, 0.0))[1]
    return {role: seconds / messages * 1000 for role, seconds in spent.items()}


def turns(checkout: Path, rounds: int, messages: int) -> list[dict]:
    done = subprocess.run(
        [sys.executable, str(HERE), "--turn", "--rounds", str(rounds),
         "--messages", str(messages)],
        cwd=checkout, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "PYTHONPATH": str(checkout)},
    )
    found = [json.loads(line[5:]) for line in done.stdout.splitlines()
             if line.startswith("TURN ")]
    if not found:
        sys.exit(f"{checkout}: no figures\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return found


def report(results: dict[str, list[dict]]) -> None:
    for row in ROWS:
        print(f"\n{row}")
        for name, runs in results.items():
            rates = sorted(r[row]["rate"] for r in runs)
            medians = {role: statistics.median(r[row]["cpu"].get(role, 0.0) for r in runs)
                       for role in {role for r in runs for role in r[row]["cpu"]}}
            cpu = ", ".join(f"{role} {ms:.2f}" for role, ms in
                            sorted(medians.items(), key=lambda item: -item[1]) if ms >= 0.005)
            print(f"  {name:<24} median {statistics.median(rates):7,.0f} msg/s   range "
                  f"{rates[0]:,.0f}-{rates[-1]:,.0f}   CPU ms/message (medians): {cpu}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", nargs="?", type=Path)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--turn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.turn:
        one_turn(args.rounds, args.messages)
        return
    if args.other is None:
        parser.error("name the other checkout")
    checkouts = {"this checkout": HERE.parents[1], str(args.other): args.other.resolve()}
    results: dict[str, list[dict]] = {name: [] for name in checkouts}
    for pair in range(args.pairs):
        print(f"pair {pair + 1} of {args.pairs} (msg/s by round):", flush=True)
        for name, checkout in checkouts.items():
            found = turns(checkout, args.rounds, args.messages)
            results[name] += found
            print(f"  {name:<24}" + "".join(
                f"  {row} " + " ".join(f"{r[row]['rate']:,.0f}" for r in found)
                for row in ROWS), flush=True)
    report(results)


if __name__ == "__main__":
    main()
