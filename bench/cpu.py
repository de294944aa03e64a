"""CPU seconds by process role, read from /proc: where a row's time per message went.

Roles: this bench process, its children (the SMTP sink), the Celery workers, PostgreSQL's
processes and Redis; the rest of the machine (the kernel's threads) is "other". Linux only.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _command(pid: int | str) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


_OWN_COMMAND = _command("self") if Path("/proc/self").exists() else ""


def _role(pid: int, name: str, command: str) -> str:
    if pid == os.getpid():
        return "bench"
    if command == _OWN_COMMAND:
        return "sink"  # forked by this process (multiprocessing): the same command line
    if "celery" in command:
        return "workers"
    if name.startswith("postgres") or command.startswith("postgres"):
        return "PostgreSQL"
    if name.startswith("redis"):
        return "Redis"
    return "other"


def snapshot() -> dict[int, tuple[str, float]]:
    """{pid: (role, CPU seconds so far)} for every process."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            command = _command(entry.name)
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        found[int(entry.name)] = (_role(int(entry.name), name, command), seconds)
    return found


def per_message(before: dict, after: dict, messages: int) -> str:
    """"bench 0.25, workers 0.24, …" in ms of CPU per message, largest first."""
    spent: Counter = Counter()
    for pid, (role, seconds) in after.items():
        spent[role] += seconds - before.get(pid, (role, 0.0))[1]
    parts = [f"{role} {seconds / messages * 1000:.2f}" for role, seconds in spent.most_common()
             if seconds > 0]
    return ", ".join(parts) + " ms"
