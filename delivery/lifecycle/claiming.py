"""Claim: due messages go `queued` -> `sending` under a lease, each to one worker only."""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone

from delivery.models import Message, Status


# Highest priority first (transactional mail jumps a marketing backlog), then the longest due.
CLAIM_ORDER = ("-priority", "next_attempt_at", "pk")


def claim_batch(integration_id: int, limit: int) -> list[Message]:
    """Move up to `limit` due messages of one integration to `sending` and return them.

    On PostgreSQL one statement picks the due rows, skipping those another worker has locked
    (`SKIP LOCKED`), marks them and returns them. Elsewhere the UPDATE is conditional on
    `queued`, so even without row locks (SQLite) a message is claimed once.
    """
    now = timezone.now()
    token = uuid.uuid4()
    lease_expires_at = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    alias = router.db_for_write(Message)
    if connections[alias].vendor == "postgresql":
        params = [Status.SENDING, token, lease_expires_at, now,
                  integration_id, Status.QUEUED, now, limit]
        return sorted(Message.objects.raw(_claim_sql(alias), params).using(alias),
                      key=_claim_order)
    due = Message.objects.due(now).of_integration(integration_id).order_by(*CLAIM_ORDER)
    with transaction.atomic():
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Message.objects.filter(pk__in=ids, status=Status.QUEUED).update(
            status=Status.SENDING,
            claim_token=token,
            lease_expires_at=lease_expires_at,
            attempt_count=F("attempt_count") + 1,
            updated_at=now,
        )
    # Rows another worker took between the SELECT and the UPDATE carry its token, not ours.
    return list(Message.objects.filter(pk__in=ids, claim_token=token).order_by(*CLAIM_ORDER))


def _claim_order(message: Message) -> tuple:
    """RETURNING gives rows in no order: the batch is sent in the order it was claimed."""
    return (-message.priority, message.next_attempt_at, message.pk)


@cache
def _claim_sql(alias: str) -> str:
    """One round trip and one commit per batch; built once, as the ORM cannot say it.

    Its WHERE clause is `MessageQuerySet.due()` spelled in SQL (with the lock clause).
    """
    quote = connections[alias].ops.quote_name
    table = quote(Message._meta.db_table)
    columns = ", ".join(quote(f.column) for f in Message._meta.concrete_fields)
    return (
        f"UPDATE {table} SET status = %s, claim_token = %s, lease_expires_at = %s, "
        f"updated_at = %s, attempt_count = attempt_count + 1 "
        f"WHERE id IN (SELECT id FROM {table} WHERE integration_id = %s AND status = %s "
        f"AND next_attempt_at <= %s ORDER BY priority DESC, next_attempt_at, id LIMIT %s "
        f"FOR UPDATE SKIP LOCKED) "
        f"RETURNING {columns}"
    )
