"""`python manage.py prune_messages --older-than DAYS`: delete old sent mail and its attempts."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from delivery.models import Message, SendAttempt, Status


class Command(BaseCommand):
    help = "Delete sent messages (and their attempts) older than DAYS, in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--include-failed", action="store_true", help="Also delete old failed messages."
        )

    def handle(self, *args, older_than: int, batch_size: int, include_failed: bool, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        statuses = [Status.SENT, Status.FAILED] if include_failed else [Status.SENT]
        try:
            cutoff = timezone.now() - timedelta(days=older_than)
        except OverflowError:
            raise CommandError(f"--older-than {older_than} days reaches before year 1") from None
        old = Message.objects.filter(status__in=statuses, created_at__lt=cutoff).order_by("pk")
        messages = attempts = 0
        while True:
            with transaction.atomic():
                # Locked, so a message retried meanwhile (queued again) is not deleted: the
                # retry waits for this batch, then finds its row gone and queues nothing.
                ids = list(old.select_for_update(skip_locked=True)
                           .values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                attempts += SendAttempt.objects.filter(message_id__in=ids).delete()[0]
                deleted = Message.objects.filter(pk__in=ids).delete()[1]
                messages += deleted.get("delivery.Message", 0)
        self.stdout.write(f"Deleted {messages} message(s) and {attempts} attempt(s) older than "
                          f"{older_than} day(s).")
