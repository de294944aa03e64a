"""The conditions of a message's life, as queryset methods every reader shares."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone

from .choices import Status

# Queued on an integration that needs attention: it waits for staff to fix it.
HELD_CONDITION = models.Q(status=Status.QUEUED) & ~models.Q(integration__needs_attention_reason="")


class MessageQuerySet(models.QuerySet):
    """`Message.objects.due()`, `.held()`, `.in_flight()`, `.stale_leases()` and friends.

    Claiming, the sweeper, the portal and /healthz ask these, so "due" means one thing.
    """

    def queued(self) -> MessageQuerySet:
        return self.filter(status=Status.QUEUED)

    def due(self, now: datetime | None = None) -> MessageQuerySet:
        """Queued and its next attempt time has come (what a worker claims)."""
        return self.queued().filter(next_attempt_at__lte=now or timezone.now())

    def waiting(self, now: datetime | None = None) -> MessageQuerySet:
        """Queued with its next attempt still ahead (backing off, or held)."""
        return self.queued().filter(next_attempt_at__gt=now or timezone.now())

    def held(self) -> MessageQuerySet:
        """Queued on an integration that needs attention: it waits for staff to fix it."""
        return self.filter(HELD_CONDITION)

    def in_flight(self) -> MessageQuerySet:
        """Claimed by a worker (status `sending`, under a lease)."""
        return self.filter(status=Status.SENDING)

    def pending(self) -> MessageQuerySet:
        """Not finished yet: queued or in flight."""
        return self.filter(status__in=(Status.QUEUED, Status.SENDING))

    def stale_leases(self, now: datetime | None = None) -> MessageQuerySet:
        """In flight, but the worker's lease expired: it died or hangs."""
        return self.in_flight().filter(lease_expires_at__lt=now or timezone.now())

    def scheduled(self, now: datetime | None = None) -> MessageQuerySet:
        """Queued with a `send_at` still ahead: held for its time, not waiting in line."""
        return self.queued().filter(send_at__gt=now or timezone.now())

    def failed(self) -> MessageQuerySet:
        return self.filter(status=Status.FAILED)

    def sent(self) -> MessageQuerySet:
        return self.filter(status=Status.SENT)

    def of_integration(self, integration_id: int) -> MessageQuerySet:
        return self.filter(integration_id=integration_id)

    def oldest_due_at(self, now: datetime | None = None) -> datetime | None:
        """When the longest-waiting due message became due (None when nothing is due)."""
        return (self.due(now).order_by("next_attempt_at")
                .values_list("next_attempt_at", flat=True).first())

    def oldest_held_at(self, now: datetime | None = None) -> datetime | None:
        """When the longest-held message was queued (None when nothing is held).

        Held mail is not due (its next try is ahead) yet it waits to leave: since it was
        queued, for all staff can tell. Mail scheduled for later is not waiting yet. The
        planner starts from the few flagged integrations and reads their queued mail
        through the queued-mail index, whatever else the table holds.
        """
        now = now or timezone.now()
        return (self.held().exclude(send_at__gt=now).order_by("created_at")
                .values_list("created_at", flat=True).first())
