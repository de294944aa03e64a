"""Claiming due messages: `queued` -> `sending` with a lease, each message by one worker only."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Message, Status


def claim_batch(integration_id: int, limit: int) -> list[Message]:
    """Move up to `limit` due messages of one integration to `sending` and return them.

    Rows locked by another worker are skipped (PostgreSQL `SKIP LOCKED`); the UPDATE is
    conditional on `queued`, so even without row locks (SQLite) a message is claimed once.
    """
    now = timezone.now()
    token = uuid.uuid4()
    due = Message.objects.filter(
        integration_id=integration_id, status=Status.QUEUED, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Message.objects.filter(pk__in=ids, status=Status.QUEUED).update(
            status=Status.SENDING,
            claim_token=token,
            lease_expires_at=now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS),
            attempt_count=F("attempt_count") + 1,
            updated_at=now,
        )
    # Rows another worker took between the SELECT and the UPDATE (possible only without
    # SKIP LOCKED) carry its token, not ours.
    return list(Message.objects.filter(pk__in=ids, claim_token=token).order_by("pk"))
