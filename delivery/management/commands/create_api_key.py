"""`python manage.py create_api_key NAME --scopes send,read,suppressions`: prints a new key once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from delivery.api_keys import ApiKey, Scope
from integrations.lookup import find_integration
from integrations.models import SmtpIntegration
from senders.models import Sender


class Command(BaseCommand):
    help = "Create an API key for the HTTP API and print it (it is never shown again)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scopes", default="send,read",
                            help="comma-separated: " + ", ".join(Scope.values))
        parser.add_argument("--integration", action="append", default=[],
                            help="limit the key to this integration (name or id); repeatable")
        parser.add_argument("--sender", action="append", default=[],
                            help="limit the key to this sender address; repeatable")
        parser.add_argument("--rate-limit", type=int, default=None,
                            help="requests per minute (default API_RATE_LIMIT_PER_MINUTE)")

    def handle(self, *args, **options) -> None:
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        unknown = sorted(set(scopes) - set(Scope.values))
        if unknown or not scopes:
            raise CommandError(f"unknown scopes {unknown}; choose from {', '.join(Scope.values)}")
        integrations = [self._integration(value) for value in options["integration"]]
        senders = list(Sender.objects.filter(email__in=options["sender"]))
        missing = set(options["sender"]) - {s.email for s in senders}
        if missing:
            raise CommandError(f"no sender {', '.join(sorted(missing))}")
        api_key, key = ApiKey.issue(name=options["name"], scopes=scopes,
                                    rate_limit_per_minute=options["rate_limit"])
        api_key.integrations.set(integrations)
        api_key.senders.set(senders)
        self.stderr.write(f"API key {api_key.name!r} created; it is not shown again:")
        self.stdout.write(key)

    def _integration(self, value: str) -> SmtpIntegration:
        try:
            return find_integration(value)
        except SmtpIntegration.DoesNotExist as exc:
            raise CommandError(str(exc)) from None
