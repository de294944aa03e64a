#!/usr/bin/env python
"""Django's command-line utility for notifuse-smtp; refuses to run with unsafe secrets."""

from __future__ import annotations

import os
import sys

# What runs without safe secrets: the command that makes them, and help.
RUN_WITHOUT_SECRETS = frozenset({"generate_keys", "help", "--help", "-h", "version", "--version"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifuse_smtp.settings")
    from django.core.management import execute_from_command_line

    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in RUN_WITHOUT_SECRETS:
        from notifuse_smtp.checks import UnsafeToStart, refuse_unsafe_start

        try:
            refuse_unsafe_start()
        except UnsafeToStart as exc:
            sys.exit(f"notifuse-smtp refuses to run {command}: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
