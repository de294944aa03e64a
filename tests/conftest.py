"""Shared fixtures: a test CA, SMTP servers, integrations, and real Celery worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from tests.support.hints_shown import HintRecorder, exercised, strays

pytest_plugins = ["tests.oauth_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HINTS_SHOWN = HintRecorder()


# -- every hint shown to staff comes from the failure catalog -----------------------------------
def pytest_configure(config):
    refuse_production_settings()
    HINTS_SHOWN.install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # Before the fixtures' teardown: the test's database still holds what it stored.
    if item.get_closest_marker("django_db") or "_django_db_helper" in item.fixturenames:
        HINTS_SHOWN.read_stored_hints()
    return (yield)


def pytest_sessionfinish(session, exitstatus):
    from integrations.failures.catalog import RULES

    if strays(HINTS_SHOWN.shown, RULES) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from integrations.failures.catalog import RULES

    problems = strays(HINTS_SHOWN.shown, RULES)
    used = exercised(HINTS_SHOWN.shown, RULES)
    terminalreporter.write_line(
        f"failure catalog: {len(used)} of {len(RULES)} rules exercised "
        f"({HINTS_SHOWN.errors_made} errors made, {len(HINTS_SHOWN.shown)} distinct hints shown)"
    )
    if problems:
        terminalreporter.write_sep("=", "hints shown to staff that the catalog did not give",
                                   red=True)
        for problem in problems:
            terminalreporter.write_line(problem)


def refuse_production_settings() -> None:
    """Stop at once, with the reason, when the settings were read in production mode."""
    if settings.SECURE_SSL_REDIRECT:
        pytest.exit(
            "The settings were read with DEBUG off (the default): every request would be "
            "redirected to HTTPS. Run ./scripts/test, or set DEBUG=true.",
            returncode=2,
        )


@pytest.fixture(scope="session", autouse=True)
def clean_broker():
    """Start from an empty broker database: stale wake-ups from an earlier run act on nothing
    but would muddy the counts tests make."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        pytest.exit(
            "The tests flush their Redis database: point REDIS_URL at a dedicated one "
            "(./scripts/test uses redis://127.0.0.1:6379/15).",
            returncode=2,
        )
    client.flushdb()
    yield
    client.flushdb()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """A CA the tests generate, trusted through SSL_CERT_FILE alongside the system store."""
    from tests.support.certs import TestCA

    ca = TestCA()
    bundle = tmp_path_factory.mktemp("ca") / "bundle.pem"
    ca.write_bundle(str(bundle))
    system = SYSTEM_CA_BUNDLE.read_text() if SYSTEM_CA_BUNDLE.exists() else ""
    bundle.write_text(system + "\n" + bundle.read_text())
    previous = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
    ca.bundle_path = str(bundle)
    yield ca
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def wait_until(predicate, *, timeout: float = 20.0, interval: float = 0.05, message: str = ""):
    """Poll `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        time.sleep(interval)


def worker_database_url() -> str:
    """The URL of the database pytest-django created, for processes the tests start."""
    from django.db import connection

    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if not parts.scheme.startswith("postgres"):
        pytest.skip("worker tests need PostgreSQL (set DATABASE_URL); run ./scripts/test")
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


class WorkerProcess:
    """A real `celery worker` process on the test database and the test broker."""

    def __init__(self, log_path: Path, env: dict[str, str], hostname: str, concurrency: int):
        self.log_path = log_path
        command = [
            sys.executable, "-m", "celery", "-A", "notifuse_smtp", "worker",
            "--loglevel", "INFO", "--pool", "prefork", "--concurrency", str(concurrency),
            "--hostname", hostname, "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]
        if env.pop("WITH_BEAT", ""):
            command += ["--beat", "--schedule", str(log_path.with_suffix(".schedule"))]
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._ready, timeout=60, message=f"worker did not start; see {log_path}")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited: {self.log_path.read_text()[-3000:]}")
        return b" ready." in self.log_path.read_bytes()

    def kill(self) -> None:
        """SIGKILL the whole process group, as an out-of-memory kill or power loss would."""
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real Celery workers: `start_worker(DELIVERY_RETRY_BASE_SECONDS="0.2", ...)`."""
    workers: list[WorkerProcess] = []

    def start(*, hostname: str | None = None, concurrency: int = 2, **overrides) -> WorkerProcess:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "FERNET_KEYS": ",".join(settings.FERNET_KEYS),
            "SMTP_TIMEOUT": "5",
            **{name: str(value) for name, value in overrides.items()},
        }
        name = hostname or f"worker{len(workers) + 1}@%h"
        log = tmp_path / f"{name.split('@')[0]}-{len(workers)}.log"
        worker = WorkerProcess(log, env, name, concurrency)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture(autouse=True)
def close_pooled_sessions():
    """Sessions the engine keeps open between batches must not outlive a test's server."""
    yield
    from delivery import sessions

    sessions.close_all()
