"""`manage.py generate_keys`: print a new SECRET_KEY and FERNET_KEYS for the environment."""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new random SECRET_KEY and FERNET_KEYS (nothing is stored)."
    # It runs before any key exists, so the checks that refuse missing keys must not run.
    requires_system_checks: list[str] = []

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"SECRET_KEY={secrets.token_urlsafe(50)}")
        self.stdout.write(f"FERNET_KEYS={secrets.token_urlsafe(32)}")
