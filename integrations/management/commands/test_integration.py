"""`python manage.py test_integration <name or id> --to ADDRESS [--sender EMAIL]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.diagnostic_runs import run_integration_test
from integrations.diagnostics import Report
from integrations.lookup import find_integration
from integrations.models import SmtpIntegration
from notifuse_smtp.addresses import AddressError, normalize_address

MARKS = {"ok": "ok  ", "failed": "FAIL", "skipped": "-   "}


class Command(BaseCommand):
    help = "Send a test email through an integration and print each step; exit 1 on failure."

    def add_arguments(self, parser) -> None:
        parser.add_argument("integration", help="the integration's name or id")
        parser.add_argument("--to", required=True, help="recipient of the test email")
        parser.add_argument("--sender", help="From address (default: the default sender)")

    def handle(self, *args, integration: str, to: str, sender: str | None, **options) -> None:
        try:
            chosen = find_integration(integration)
        except SmtpIntegration.DoesNotExist as exc:
            raise CommandError(f"integration: {exc}") from None
        to = _address("--to", to)
        sender = _address("--sender", sender) if sender else None
        self.stdout.write(f"Testing {chosen.name} ({chosen.host}:{chosen.port}) -> {to}")
        _, report = run_integration_test(chosen, to=to, sender=sender)
        self._print(report)
        if not report.ok:
            step = report.failed_step
            parts = (step.smtp_code, step.enhanced_code) if step else ()
            code = " ".join(str(p) for p in parts if p)
            raise CommandError(
                f"failed at {step.label if step else 'an unknown step'}"
                + (f" ({code})" if code else "")
                + (f": {step.hint}" if step and step.hint else "")
            )
        self.stdout.write(self.style.SUCCESS("All steps succeeded: the test email was accepted."))

    def _print(self, report: Report) -> None:
        for step in report.steps:
            line = f"  [{MARKS[step.status]}] {step.label:<13} {step.duration_ms:7.1f} ms"
            details = ", ".join(f"{k}={v}" for k, v in step.details.items() if v not in ("", []))
            if details:
                line += f"  {details}"
            self.stdout.write(line)
            if step.status == "failed":
                code = " ".join(str(p) for p in (step.smtp_code, step.enhanced_code) if p)
                self.stdout.write(f"         {code} {step.text}".rstrip())
                if step.hint:
                    self.stdout.write(f"         Hint: {step.hint}")


def _address(option: str, value: str) -> str:
    try:
        return normalize_address(value)
    except AddressError as exc:
        raise CommandError(f"{option}: {exc}") from None
