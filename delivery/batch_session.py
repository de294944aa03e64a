"""One SMTP session carrying a drain's claimed batches: send, record, and hand back."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from integrations.failures.catalog import local_failure
from integrations.failures.errors import DeliveryError, FailureClass
from integrations.health import mark_integration
from integrations.models import SECRET_FIELDS, SmtpIntegration
from integrations.smtp_client import SmtpSession
from integrations.wire_names import from_header_error
from notifuse_smtp.redaction import redact

from . import sessions, wakeups
from .failover import alternative_for
from .lifecycle.outcomes import Outcome, pending_recipients, record_outcomes
from .lifecycle.transitions import give_back
from .mime import render
from .models import Message, Status
from .pacing import Turns
from .pauses import start_pause
from .routing import sender_addresses
from .throttling import throttle_for
from .validation import envelope_address

logger = logging.getLogger("delivery.engine")

# Stages that belong to the session, not to one message: failing there stops the drain.
SESSION_STAGES = ("connect", "tls", "ehlo", "token", "auth")
# Replies after which the connection cannot carry another transaction.
SESSION_ENDING_CODES = {421}


class BatchSession:
    """Delivers claimed batches over one SMTP session, reopening it when a failure ends it."""

    def __init__(self, integration: SmtpIntegration) -> None:
        self.integration = integration
        self.session: SmtpSession | None = None
        # The session being opened: its credentials hold the access token before it is ours.
        self.opening: SmtpSession | None = None
        # An integration-wide failure (auth, TLS, unreachable), a throttling reply, or a
        # message whose turn in the integration's limits is not yet.
        self.halted = False
        self.earliest_retry: datetime | None = None
        self.failover_to: SmtpIntegration | None = None
        # A configuration failure flagged the integration during this drain: a later save of
        # the same drain (outcomes are saved every DELIVERY_RECORD_SECONDS) must not clear it.
        self.flagged = False
        self.turns = Turns(integration)
        # From addresses that passed _check_sender in this drain (a batch is mostly one).
        self.checked_senders: set[str] = set()

    def deliver(self, batch: list[Message]) -> None:
        outcomes: list[Outcome] = []
        untried: list[Message] = []
        # A message the server took but that is not yet recorded as sent is sent again if
        # this process dies: outcomes are saved every DELIVERY_RECORD_SECONDS, not only at
        # the end of the batch, to keep that window short.
        record_by = time.monotonic() + settings.DELIVERY_RECORD_SECONDS
        start_until = _last_start(batch)
        try:
            for index, message in enumerate(batch):
                stop = self.halted or (start_until is not None and timezone.now() >= start_until)
                outcome = None if stop else self._deliver_one(message)
                # Halted, its turn is not yet (limits, a pause), or the claim is running out.
                if outcome is None:
                    untried = batch[index:]
                    break
                outcomes.append(outcome)
                if time.monotonic() >= record_by:
                    recorded, outcomes = outcomes, []
                    self._record(recorded)
                    record_by = time.monotonic() + settings.DELIVERY_RECORD_SECONDS
        finally:
            self._record(outcomes)
        # After recording: the failure that halted the session has set the retry time the
        # untried messages wait for too.
        if untried:
            self._release(untried)

    def _deliver_one(self, message: Message) -> Outcome | None:
        """Try one message; None when it is not its turn yet (it stays untried)."""
        started = timezone.now()
        pending = pending_recipients(message)
        if not pending:
            return self._nothing_left_to_send(message, started)
        if self.session is None and not self._take_turn(pause_only=True):
            return None
        try:
            self._check_sender(message)
            content = self._content(message)
            session = self._open(message)
            # Taken last, just before the transaction: what the provider counts is when the
            # message arrives, and the session's setup would widen the gap to it.
            if not self._take_turn(len(pending)):
                return None
            note = session.take_notes()
            refused = self._send(session, message, pending, content)
        except DeliveryError as error:
            return self._failed(message, started, error)
        except Exception as exc:  # noqa: BLE001 - recorded and retried, never lost
            # Left to escape, it would hold the whole batch in `sending` until its lease
            # expired, with no attempt saying why.
            stage = self.session.stage if self.session is not None else "connect"
            return self._failed(message, started, self._unexpected(exc, stage))
        accepted = [r for r in pending if r not in refused]
        return Outcome(message, started, "data", refused=refused, accepted=accepted,
                       finished_at=timezone.now(), note=note)

    def _nothing_left_to_send(self, message: Message, started: datetime) -> Outcome:
        """Every recipient already took the message or refused it for good: it is done, and
        an empty RCPT list must not reach the server."""
        if message.delivered_to:
            return Outcome(message, started, "rcpt", finished_at=timezone.now())
        refused = ", ".join(message.refused_recipients)
        return Outcome(message, started, "rcpt", finished_at=timezone.now(),
                       error=local_failure("no-recipient-left", refused=refused))

    def _failed(self, message: Message, started: datetime, error: DeliveryError) -> Outcome:
        note = self.session.take_notes() if self.session else ""
        self._after_failure(error)
        moved_to = paused_until = None
        if error.failure_class is FailureClass.CONFIGURATION:
            moved_to = alternative_for(message)
            self.failover_to = self.failover_to or moved_to
        elif throttle := throttle_for(error):
            # The whole integration waits, this message with the rest: none is tried (by
            # any worker) before the pause ends, and the try does not count against it.
            paused_until = start_pause(self.integration, throttle, error)
            self.halted = True
            self._postpone(paused_until)
        return Outcome(message, started, error.stage, error=error, moved_to=moved_to,
                       refused=error.refused_recipients, note=note, finished_at=timezone.now(),
                       paused_until=paused_until)

    @sensitive_variables()
    def _unexpected(
        self, exc: Exception, stage: str, failure: str = "unexpected"
    ) -> DeliveryError:
        """A failure nothing classified (a bug, a message that cannot be built, a service
        such as Redis failing): transient, retried with backoff up to the attempt limit."""
        secrets = [getattr(self.integration, f) for f in SECRET_FIELDS]
        for session in (self.session, self.opening):
            if session is not None:  # the current OAuth2 access token, if any
                secrets += session.credentials.secrets()
        # The log's redaction knows no integration's secrets: the traceback, which ends with
        # the exception's text, is redacted here like the attempt is.
        traceback = redact(logging.Formatter().formatException(
            (type(exc), exc, exc.__traceback__)), secrets)
        logger.error("integration %s: local.%s (%s); the message is retried\n%s",
                     self.integration.pk, failure, exc.__class__.__name__, traceback)
        return local_failure(failure, stage=stage,
                             detail=f"{exc.__class__.__name__}: {redact(str(exc), secrets)}")

    def _check_sender(self, message: Message) -> None:
        """A sender removed after the message was queued is a configuration failure (seen
        within the drain's turn, as sender lists are remembered for longer anyway)."""
        if message.from_email in self.checked_senders:
            return
        if error := from_header_error(message.from_email):
            raise error
        address = envelope_address(message.from_email).lower()
        if address not in sender_addresses(self.integration) and address not in (
            sender_addresses(self.integration, fresh=True)
        ):
            raise local_failure("sender-removed", address=address)
        self.checked_senders.add(message.from_email)

    def _take_turn(self, recipients: int = 1, *, pause_only: bool = False) -> bool:
        """Whether the message may go now (counted in the limits); else halt until it may.

        `pause_only`: only whether the integration is paused (before connecting).
        """
        wait = self.turns.pause_wait() if pause_only else self.turns.wait(recipients)
        if wait:
            self.halted = True
            self._postpone(timezone.now() + timedelta(seconds=wait))
        return not wait

    def _open(self, message: Message) -> SmtpSession:
        mailbox = self._mailbox_for(message)
        if self.session is not None and self.session.mailbox != mailbox:
            self._put_back()  # XOAUTH2 as the sender: one session per sender mailbox
        if self.session is None:
            self.session = sessions.take(self.integration, mailbox)
        if self.session is None:
            # Kept when open() fails, so _unexpected can redact the token it fetched.
            self.opening = SmtpSession(self.integration)
            self.opening.open(mailbox=mailbox)
            self.session, self.opening = self.opening, None
        return self.session

    def _mailbox_for(self, message: Message) -> str:
        integration = self.integration
        if integration.auth_type == "oauth2" and integration.xoauth2_as_sender:
            return envelope_address(message.from_email)
        return integration.username

    def _content(self, message: Message) -> bytes:
        """The bytes of DATA, built before the session is touched."""
        try:
            return render(message)
        except Exception as exc:  # noqa: BLE001 - a message that cannot be built is a failure
            raise self._unexpected(exc, "data", "unbuildable-message") from exc

    def _send(
        self, session: SmtpSession, message: Message, pending: list[str], content: bytes
    ) -> dict:
        by_envelope = {envelope_address(r): r for r in pending}
        try:
            refused = session.send(envelope_address(message.from_email), list(by_envelope),
                                   content)
        except DeliveryError as error:
            error.refused_recipients = _as_queued(error.refused_recipients, by_envelope)
            raise
        return _as_queued(refused, by_envelope)

    def _after_failure(self, error: DeliveryError) -> None:
        if error.stage in SESSION_STAGES or error.smtp_code in SESSION_ENDING_CODES:
            self.close()
        elif error.failure_class is FailureClass.TRANSIENT and error.smtp_code is None:
            self.close()  # a network error mid-transaction leaves the connection unusable
        elif self.session is not None:
            self.session.reset_quietly()
        if error.stage in SESSION_STAGES:
            self.halted = True

    def _record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        record_outcomes(outcomes, self.integration)
        for outcome in outcomes:
            if outcome.moved_to is not None:
                wakeups.publish_on_commit(outcome.moved_to.pk)
            elif outcome.message.status == Status.QUEUED:
                self._postpone(outcome.message.next_attempt_at)
        errors = [o.error for o in outcomes if o.error is not None]
        configuration = [e for e in errors if e.failure_class is FailureClass.CONFIGURATION]
        if configuration:
            self.flagged = True
            mark_integration(self.integration, configuration[-1])
        elif len(errors) < len(outcomes) and not self.flagged:
            mark_integration(self.integration, None)

    def _postpone(self, when: datetime) -> None:
        when = wakeups.wake_time(when)
        if self.earliest_retry is None or when < self.earliest_retry:
            self.earliest_retry = when

    def _release(self, messages: list[Message]) -> None:
        """Give claimed but untried messages back; after a failure that halted the session,
        those not pinned to this integration follow the failover too."""
        give_back(messages, retry_at=self.earliest_retry or timezone.now(),
                  failover_to=self.failover_to)

    def finish(self) -> None:
        """Keep the session for the next batch and schedule the wake-up for retries."""
        self._put_back()
        if self.earliest_retry is not None:
            wakeups.publish_at(self.integration.pk, self.earliest_retry)

    def _put_back(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            sessions.give_back(session, self.integration)

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()


def _last_start(batch: list[Message]) -> datetime | None:
    """The last moment a message of the batch may be started under its claim's lease.

    Once the lease has ended the sweeper queues the message again and another worker sends
    it: sending it here too would send it twice, and saving this try would find the claim
    gone. A slow server (or a long wait for rate-limit turns) can make a batch outlast its
    lease, so a message is started only while a third of the lease is left for its exchange
    and for saving the outcomes; the rest of the batch goes back to the queue, untried.
    """
    expiries = [m.lease_expires_at for m in batch if m.lease_expires_at is not None]
    if not expiries:
        return None
    return min(expiries) - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS / 3)


def _as_queued(refused: dict, by_envelope: dict[str, str]) -> dict:
    """Refusals keyed by the recipient as the message stores it, not its envelope form."""
    return {by_envelope.get(addr, addr): reply for addr, reply in refused.items()}
