"""Django signals for app code: what happened to its mail, sent after the change commits.

Connect a receiver as usual (`message_sent.connect(handler)`); every signal is sent with
`sender=Message` (`recipient_suppressed`: `sender=Suppression`) once the database change it
reports is committed, so a receiver that reads the message sees it, and a rolled-back change
sends nothing. Each is sent once per event: a report read twice sends nothing the second
time. Arguments (keyword):

- `message_sent`: `message`, `recipients` (the addresses this try reached).
- `message_failed`: `message`, `reason` (the final error, as in the log).
- `message_bounced`: `message`, `recipient`, `bounce_type` ("hard" or "soft"), `status`
  (the enhanced code), `diagnostic`, `event`.
- `message_complained`: `message`, `recipient`, `event`.
- `message_opened`: `message`, `event`.
- `link_clicked`: `message`, `url`, `event`.
- `recipient_unsubscribed`: `address` (normalised), `message`, `scope` ("marketing").
- `recipient_suppressed`: `address` (normalised), `reason` (hard_bounce, complaint,
  unsubscribe, soft_bounce_score, manual), `scope` ("marketing" or "all"), `suppression`
  (the `delivery.Suppression`); sent when an address is put on the list or its entry widened.

`message_bounced`, `message_complained` and `recipient_unsubscribed` come from
`delivery.feedback`, `recipient_suppressed` from `delivery.suppressions`.

A receiver that raises is logged and does not stop the others or the delivery that sent it
(signals are sent with `send_robust`).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

message_sent = Signal()
message_failed = Signal()
message_bounced = Signal()
message_complained = Signal()
message_opened = Signal()
link_clicked = Signal()
recipient_unsubscribed = Signal()
recipient_suppressed = Signal()


def send_after_commit(signal: Signal, sender, **arguments) -> None:
    """Send `signal` once the current transaction commits (at once outside one).

    Costs nothing when nobody listens, which is the hot path's common case.
    """
    send_each_after_commit(sender, [(signal, arguments)])


def send_each_after_commit(sender, announcements: list[tuple[Signal, dict]]) -> None:
    """Several signals (signal, arguments) once the current transaction commits, in order:
    a batch's outcomes register one commit hook, not one per message."""
    listened = [(signal, arguments) for signal, arguments in announcements
                if signal.has_listeners(sender)]
    if listened:
        transaction.on_commit(lambda: [_send(s, sender, a) for s, a in listened])


def _send(signal: Signal, sender, arguments: dict) -> None:
    for receiver, result in signal.send_robust(sender, **arguments):
        if isinstance(result, Exception):
            logger.error("signal receiver %r failed: %s: %s", receiver,
                         result.__class__.__name__, result, exc_info=result)
