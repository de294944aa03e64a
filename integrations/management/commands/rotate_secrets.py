"""`python manage.py rotate_secrets`: re-encrypt every stored secret with the first Fernet key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations.models import SECRET_FIELDS, SmtpIntegration
from integrations.oauth2.cache import drop_cached_tokens
from integrations.failures.catalog import rule
from integrations.secrets import undecryptable_fields


class Command(BaseCommand):
    help = (
        "Re-encrypt integration secrets with the first key in FERNET_KEYS and drop cached "
        "OAuth2 tokens. Run it after putting a new key first; then the old key can be removed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        unreadable = [
            f"{integration.name} ({', '.join(fields)})"
            for integration in SmtpIntegration.objects.order_by("pk")
            if (fields := undecryptable_fields(integration, SECRET_FIELDS))
        ]
        if unreadable:
            # Re-encrypting would store them empty: change nothing until every key is back.
            what_to_do = rule("local.undecryptable-secret").hint
            raise CommandError(
                "No key in FERNET_KEYS decrypts the stored secrets of: "
                f"{'; '.join(unreadable)}. Nothing was changed. {what_to_do}"
            )
        ids = list(SmtpIntegration.objects.order_by("pk").values_list("pk", flat=True))
        rotated = 0
        for start in range(0, len(ids), batch_size):
            with transaction.atomic():
                batch = SmtpIntegration.objects.select_for_update().filter(
                    pk__in=ids[start : start + batch_size]
                )
                for integration in batch:
                    # Reading decrypts with any key; saving encrypts with the first.
                    integration.save(update_fields=list(SECRET_FIELDS))
                    rotated += 1
            self.stdout.write(f"  re-encrypted {rotated}/{len(ids)} integrations")
        dropped = drop_cached_tokens()
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted the secrets of {rotated} integration(s) with the first key; "
            f"dropped {dropped} cached token(s)."
        ))
