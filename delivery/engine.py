"""Draining an integration: claim due messages in batches and send them over one session."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from integrations.models import SmtpIntegration

from . import pauses, sessions, wakeups
from .batch_session import BatchSession
from .failover import alternative_for
from .lifecycle.claiming import claim_batch
from .lifecycle.transitions import give_back, move_to, release_held
from .ratelimit import claim_size

# How long a drain waits for more mail after a batch smaller than DELIVERY_BATCH_SIZE.
GATHER_SECONDS = 0.02
# How long one drain may keep a worker process: then the rest of the mail goes to a new
# task at the back of the queue, so other integrations' mail is not stuck behind a busy one.
DRAIN_TURN_SECONDS = 2.0
# How soon a drain that found every connection slot taken tries again.
SLOT_RETRY_SECONDS = 1.0


def drain(integration_id: int) -> int:
    """Send every due message of one integration; return how many were tried."""
    integration = SmtpIntegration.objects.filter(pk=integration_id).first()
    if integration is None:
        return 0
    if integration.is_active and integration.throttled_for():
        # Throttled: nothing is claimed, and the pending flag stays set, so producers do not
        # wake a drain per message only for it to find the pause.
        pauses.wake_after_pause(integration)
        return 0
    size = claim_size(integration, DRAIN_TURN_SECONDS, settings.DELIVERY_BATCH_SIZE)
    turn = wakeups.DrainTurn(integration_id, lambda: claim_batch(integration_id, size))
    turn.start()
    if not integration.is_active:
        return hand_over_from_inactive(integration)
    slot = sessions.ConnectionSlot(integration)
    if not slot.acquire():
        # Every connection is busy draining this integration; look again shortly.
        wakeups.publish(integration_id, countdown=SLOT_RETRY_SECONDS)
        return 0
    batches = BatchSession(integration)
    try:
        return _send_batches(turn, batches)
    finally:
        turn.end()
        batches.finish()
        slot.release()


def _send_batches(turn: wakeups.DrainTurn, batches: BatchSession) -> int:
    tried, turn_ends = 0, time.monotonic() + DRAIN_TURN_SECONDS
    # While announced, send_email publishes no wake-up for this integration: the mail it
    # commits is this drain's to claim.
    turn.announce()
    while batch := turn.next_batch():
        tried += len(batch)
        batches.deliver(batch)
        if batches.halted:
            turn.hand_on_after_halt()
            _release_if_saved_meanwhile(batches.integration)
            break
        if time.monotonic() > turn_ends:
            wakeups.publish(turn.integration_id)  # the rest, after what else is queued
            break
        if len(batch) < settings.DELIVERY_BATCH_SIZE:
            # Mail is arriving one message at a time: let the next batch gather for a
            # moment, so claiming and recording are paid per batch, not per message.
            # A lone message is not delayed (it was claimed at once).
            time.sleep(GATHER_SECONDS)
        turn.announce()
    return tried


def _release_if_saved_meanwhile(integration: SmtpIntegration) -> None:
    """Staff saved the integration while this drain tried it with what it had read before.

    Its failure may be one of the settings they replaced, and the mail it had claimed, which
    their save could not release, went back to its retry time: it is tried with the saved
    settings at once. One query, only when a drain halts.
    """
    current = SmtpIntegration.objects.filter(pk=integration.pk).first()
    if current is not None and current.updated_at != integration.updated_at:
        release_held(current)


def hand_over_from_inactive(integration: SmtpIntegration) -> int:
    """Mail waiting on a deactivated integration moves to another one flagged for its kind.

    Mail pinned to it by the caller, or with nowhere to go, waits until it is active again.
    """
    moved = 0
    while batch := claim_batch(integration.pk, settings.DELIVERY_BATCH_SIZE):
        stay = []
        for message in batch:
            target = alternative_for(message)
            if target and move_to(message, target, attempted=False):
                wakeups.publish_on_commit(target.pk)
                moved += 1
            else:
                stay.append(message)
        retry_at = timezone.now() + timedelta(seconds=settings.DELIVERY_SWEEP_SECONDS)
        give_back(stay, retry_at=retry_at)
        if stay:
            break
    return moved
