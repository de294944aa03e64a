"""The zero-setup default (`./scripts/run`) stores mail in SQLite, where the PostgreSQL fast
paths (precompiled INSERTs, the one-statement claim, the raw UPDATE of sent mail) fall back to
the ORM. This runs the delivery tests that cross those paths, and the portal's, against
SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
ACROSS_THE_FALLBACKS = [
    "tests/delivery/test_send_message.py",
    "tests/delivery/test_queue_message.py",
    "tests/delivery/test_send_bulk_command.py",
    "tests/delivery/test_drain_announcement.py",
    "tests/delivery/test_integration_health_marks.py",
    # The portal's search reads the JSON text of recipients, which SQLite writes differently.
    "tests/portal",
]


def _another_redis_database() -> str:
    """A Redis database next to this run's: the child run flushes its own."""
    pool = redis.Redis.from_url(settings.REDIS_URL).connection_pool.connection_kwargs
    db = pool.get("db", 15)
    other = db - 1 if db > 1 else db + 1
    return settings.REDIS_URL.rsplit("/", 1)[0] + f"/{other}"


def test_delivery_works_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": _another_redis_database(),
    }
    env.pop("CELERY_BROKER_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         *ACROSS_THE_FALLBACKS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
