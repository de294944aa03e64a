"""A run of "Test integration" for a person: quota, the run, the stored record, the health."""

from __future__ import annotations

from django.utils import timezone

from notifuse_smtp.redis_connection import redis_client

from .diagnostics import Report, run_diagnostics
from .health import record_test_result
from .models import IntegrationTest, SmtpIntegration
from .signals import announce_change

TESTS_PER_HOUR = 10


class QuotaExceeded(Exception):
    """A person sent too many test emails in the last hour (the admin is no spam relay)."""


def check_quota(user) -> None:
    """Count one test email for `user`; refuse the eleventh in a clock hour."""
    if user is None:
        return
    hour = int(timezone.now().timestamp() // 3600)
    key = f"notifuse:test-quota:{user.pk}:{hour}"
    client = redis_client()
    used = client.incr(key)
    client.expire(key, 3700)
    if used > TESTS_PER_HOUR:
        raise QuotaExceeded(
            f"You have sent {TESTS_PER_HOUR} test emails in this hour, the limit. "
            "Try again after the top of the hour."
        )


def run_integration_test(
    integration: SmtpIntegration, *, to: str, sender: str | None = None, user=None
) -> tuple[IntegrationTest, Report]:
    """Run the diagnostics, store the run and update the integration's health."""
    check_quota(user)
    report = run_diagnostics(integration, to=to, sender=sender)
    failed = report.failed_step
    run = IntegrationTest.objects.create(
        integration=integration,
        requested_by=user if user is not None and user.pk else None,
        to=to,
        sender=sender or "",
        ok=report.ok,
        failed_step=failed.name if failed else "",
        steps=report.as_json(),
    )
    if report.ok:
        # Whatever was wrong is fixed (perhaps outside this service, at the provider): mail
        # held meanwhile need not wait for its next try. Announced before the flag is
        # cleared, while the mail still counts as held.
        announce_change(integration, "test passed")
    record_test_result(integration, report.ok)
    return run, report
