"""Draining an integration: claim due messages in batches and send them over one session."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from integrations.errors import DeliveryError, FailureClass
from integrations.models import SmtpIntegration
from integrations.smtp_client import SmtpSession

from . import wakeups
from .claiming import claim_batch
from .mime import render
from .models import Message, Status
from .failover import alternative_for
from .outcomes import Outcome, mark_integration, move_message, pending_recipients, record
from .ratelimit import shared_limiter
from .validation import envelope_address

logger = logging.getLogger(__name__)

# Failures after which the connection cannot carry another transaction.
SESSION_ENDING_CODES = {421}


def drain(integration_id: int) -> int:
    """Send every due message of one integration; return how many were tried."""
    integration = SmtpIntegration.objects.filter(pk=integration_id, is_active=True).first()
    if integration is None:
        return 0
    tried = 0
    session = BatchSession(integration)
    try:
        while batch := claim_batch(integration_id, settings.DELIVERY_BATCH_SIZE):
            tried += len(batch)
            session.deliver(batch)
            if session.halted:
                break
    finally:
        session.close()
        session.schedule_retry_wakeup()
    return tried


class BatchSession:
    """Delivers claimed batches over one SMTP session, reopening it when a failure ends it."""

    def __init__(self, integration: SmtpIntegration) -> None:
        self.integration = integration
        self.session: SmtpSession | None = None
        # An integration-wide failure (auth, TLS, unreachable): stop claiming more mail.
        self.halted = False
        self.earliest_retry = None
        self.failover_to: SmtpIntegration | None = None

    def deliver(self, batch: list[Message]) -> None:
        for index, message in enumerate(batch):
            wait = self._rate_limit_wait()
            if wait:
                self.halted = True
                self._postpone(timezone.now() + timedelta(seconds=wait))
            if self.halted:
                self._release(batch[index:])
                return
            self._deliver_one(message)

    def _rate_limit_wait(self) -> float:
        integration = self.integration
        if not (integration.rate_limit_per_minute or integration.rate_limit_per_day):
            return 0.0
        return shared_limiter().acquire(
            integration.pk, integration.rate_limit_per_minute, integration.rate_limit_per_day
        )

    def _deliver_one(self, message: Message) -> None:
        started = timezone.now()
        try:
            session = self._open(message)
            refused = self._send(session, message)
        except DeliveryError as error:
            self._after_failure(error)
            moved_to = None
            if error.failure_class is FailureClass.CONFIGURATION:
                moved_to = alternative_for(message)
            self._record(Outcome(message, started, error.stage, error=error, moved_to=moved_to))
            return
        accepted = [r for r in pending_recipients(message) if r not in refused]
        self._record(Outcome(message, started, "data", refused=refused, accepted=accepted))
        mark_integration(self.integration, None)

    def _open(self, message: Message) -> SmtpSession:
        mailbox = self._mailbox_for(message)
        if self.session is not None and self.session.mailbox != mailbox:
            self.close()  # XOAUTH2 as the sender: one session per sender mailbox
        if self.session is None:
            session = SmtpSession(self.integration)
            session.open(mailbox=mailbox)
            self.session = session
        return self.session

    def _mailbox_for(self, message: Message) -> str:
        integration = self.integration
        if integration.auth_type == "oauth2" and integration.xoauth2_as_sender:
            return envelope_address(message.from_email)
        return integration.username

    def _send(self, session: SmtpSession, message: Message) -> dict:
        recipients = [envelope_address(r) for r in pending_recipients(message)]
        by_envelope = dict(zip(recipients, pending_recipients(message), strict=True))
        refused = session.send(envelope_address(message.from_email), recipients, render(message))
        return {by_envelope.get(addr, addr): reply for addr, reply in refused.items()}

    def _after_failure(self, error: DeliveryError) -> None:
        session_stages = ("connect", "tls", "ehlo", "token", "auth")
        if error.stage in session_stages or error.smtp_code in SESSION_ENDING_CODES:
            self.close()
        elif error.failure_class is FailureClass.TRANSIENT and error.smtp_code is None:
            self.close()  # a network error mid-transaction leaves the connection unusable
        elif self.session is not None:
            self.session.reset_quietly()
        if error.stage in session_stages:
            self.halted = True
        mark_integration(self.integration, error)

    def _record(self, outcome: Outcome) -> None:
        record(outcome)
        message = outcome.message
        if outcome.moved_to is not None:
            self.failover_to = outcome.moved_to
            wakeups.publish_on_commit(outcome.moved_to.pk)
        elif message.status == Status.QUEUED:
            self._postpone(message.next_attempt_at)

    def _postpone(self, when) -> None:
        if self.earliest_retry is None or when < self.earliest_retry:
            self.earliest_retry = when

    def _release(self, messages: list[Message]) -> None:
        """Give claimed but untried messages back, without counting an attempt.

        After a failure that halted the session, those not pinned to this integration follow
        the failover too.
        """
        target = self.failover_to
        moved = {m.pk for m in messages if target and move_message(m, target, attempted=False)}
        ids = [m.pk for m in messages if m.pk not in moved]
        Message.objects.filter(pk__in=ids, status=Status.SENDING).update(
            status=Status.QUEUED,
            claim_token=None,
            lease_expires_at=None,
            next_attempt_at=self.earliest_retry or timezone.now(),
            attempt_count=F("attempt_count") - 1,
        )

    def schedule_retry_wakeup(self) -> None:
        if self.earliest_retry is not None:
            delay = max((self.earliest_retry - timezone.now()).total_seconds(), 0)
            wakeups.publish(self.integration.pk, countdown=delay)

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()
