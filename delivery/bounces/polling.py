"""Poll the integrations' bounce mailboxes: read new messages once, record what reports say.

Only reports about this service's mail are touched: flagged (BOUNCE_PROCESSED_FLAG) or moved
to the integration's bounce folder, never deleted. Everything else (out-of-office replies,
people's mail, reports about mail sent by others) is left as it was, unread state included
(messages are read with BODY.PEEK). The UIDVALIDITY and the last UID read are stored per
integration, so nothing is read twice across restarts; one worker at a time polls a mailbox
(a Redis lock), and the same report recorded twice is one event (its digest).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field

import imapclient
from django.conf import settings
from django.utils import timezone
from imapclient.exceptions import IMAPClientError

from delivery.models import BounceMailbox
from integrations.bounce_mailbox import MailboxError, open_mailbox
from integrations.models import SmtpIntegration
from notifuse_smtp.redis_connection import redis_client

from .matching import process
from .reports import BOUNCE, COMPLAINT

logger = logging.getLogger(__name__)
INBOX = "INBOX"
FETCH_CHUNK = 50
LOCK_SECONDS = 600


@dataclass
class PollResult:
    integration: str
    counts: Counter = field(default_factory=Counter)
    error: str = ""
    hint: str = ""
    busy: bool = False

    def summary(self) -> str:
        if self.busy:
            return f"{self.integration}: another worker is polling it"
        if self.error:
            return f"{self.integration}: {self.error}"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing new"
        return f"{self.integration}: {counts}"


def poll_all() -> list[PollResult]:
    """Poll every active integration with bounce processing on."""
    integrations = SmtpIntegration.objects.filter(bounce_processing=True, is_active=True)
    return [poll(integration) for integration in integrations.order_by("pk")]


def poll(integration: SmtpIntegration) -> PollResult:
    """Read the integration's new mailbox messages once; one poller per mailbox at a time."""
    result = PollResult(integration.name)
    lock_key, token = f"notifuse:bounce-poll:{integration.pk}", uuid.uuid4().hex
    client = redis_client()
    if not client.set(lock_key, token, nx=True, ex=LOCK_SECONDS):
        result.busy = True
        return result
    try:
        _poll_locked(integration, result)
    finally:
        if client.get(lock_key) == token.encode():
            client.delete(lock_key)
    return result


def _poll_locked(integration: SmtpIntegration, result: PollResult) -> None:
    state, _ = BounceMailbox.objects.get_or_create(integration=integration)
    try:
        mailbox = open_mailbox(integration, timeout=settings.SMTP_TIMEOUT)
    except MailboxError as exc:
        result.error, result.hint = exc.text, exc.hint
    else:
        try:
            _read_new(mailbox, state, integration, result)
        except (IMAPClientError, OSError) as exc:
            result.error = f"IMAP: {exc}"
        finally:
            _logout(mailbox)
    if result.error:
        logger.warning("bounce mailbox of integration %s: %s", integration.pk, result.error)
    state.last_polled_at = timezone.now()
    state.last_error = result.error
    state.last_counts = dict(result.counts)
    state.save(update_fields=["last_polled_at", "last_error", "last_counts", "uidvalidity",
                              "last_uid"])


def _read_new(
    mailbox: imapclient.IMAPClient, state: BounceMailbox, integration: SmtpIntegration,
    result: PollResult,
) -> None:
    selected = mailbox.select_folder(INBOX)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    if state.uidvalidity != uidvalidity:
        # A new mailbox (or a rebuilt one): its UIDs start again. Reports already recorded
        # are known by their digest and recorded once.
        state.uidvalidity, state.last_uid = uidvalidity, 0
    # "n:*" always names the last message, even when its UID is below n.
    uids = sorted(u for u in mailbox.search(["UID", f"{state.last_uid + 1}:*"])
                  if u > state.last_uid)
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[start:start + FETCH_CHUNK]
        fetched = mailbox.fetch(chunk, ["BODY.PEEK[]"])
        handled = []
        for uid in chunk:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is None:
                continue  # expunged meanwhile
            outcome = process(raw, integration_id=integration.pk)
            result.counts["events"] += outcome.events
            result.counts[_label(outcome)] += 1
            if outcome.matched:
                handled.append(uid)
        _put_away(mailbox, handled, integration.bounce_folder.strip())
        state.last_uid = chunk[-1]
        state.save(update_fields=["uidvalidity", "last_uid"])


def _label(outcome) -> str:
    """How the poll's summary counts a mailbox message."""
    if outcome.kind in (BOUNCE, COMPLAINT) and not outcome.matched:
        return "unmatched"  # a report about mail this service did not send: left alone
    return outcome.kind


def _put_away(mailbox: imapclient.IMAPClient, uids: list[int], folder: str) -> None:
    """Flag the processed reports, or move them to `folder` (created when missing)."""
    if not uids:
        return
    if not folder:
        mailbox.add_flags(uids, [settings.BOUNCE_PROCESSED_FLAG.encode()])
        return
    if not mailbox.folder_exists(folder):
        mailbox.create_folder(folder)
    if mailbox.has_capability("MOVE"):
        mailbox.move(uids, folder)
        return
    # Without MOVE: copy, then remove only these UIDs from the inbox (UID EXPUNGE).
    mailbox.copy(uids, folder)
    mailbox.add_flags(uids, [imapclient.DELETED])
    mailbox.uid_expunge(uids)


def _logout(mailbox: imapclient.IMAPClient) -> None:
    try:
        mailbox.logout()
    except (IMAPClientError, OSError):
        pass
