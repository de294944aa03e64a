"""`python manage.py poll_bounces [<name or id>]`: poll bounce mailboxes now (beat does it
every BOUNCE_POLL_SECONDS)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from delivery.bounces.polling import poll, poll_all
from integrations.lookup import find_integration
from integrations.models import SmtpIntegration


class Command(BaseCommand):
    help = "Read new bounces and complaints from the integrations' bounce mailboxes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("integration", nargs="?", help="name or id (default: every "
                            "active integration with bounce processing on)")

    def handle(self, *args, integration=None, **options) -> None:
        if integration is None:
            results = poll_all()
        else:
            try:
                found = find_integration(integration)
            except SmtpIntegration.DoesNotExist:
                raise CommandError(f"No integration named or numbered {integration!r}.") from None
            if not found.bounce_processing:
                raise CommandError(f"{found.name}: bounce processing is off for it.")
            results = [poll(found)]
        for result in results:
            line = result.summary() + (f"\n  {result.hint}" if result.hint else "")
            self.stdout.write(self.style.ERROR(line) if result.error else line)
        if any(result.error for result in results):
            raise CommandError("some mailboxes could not be polled")
