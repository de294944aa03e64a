"""Record what came back about a sent message (bounce, complaint, unsubscribe) and act on it.

Each function stores a FeedbackEvent for one recipient, updates the suppression list as the
event calls for, and sends the matching signal after commit. A report already recorded (same
digest, recipient and kind) records nothing and sends nothing.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from . import suppressions
from .choices import FeedbackKind, SuppressionReason, SuppressionScope
from .models import FeedbackEvent, Message
from .signals import (
    message_bounced,
    message_complained,
    recipient_unsubscribed,
    send_after_commit,
)

HARD, SOFT = "hard", "soft"


def record_bounce(
    message: Message, recipient: str, *, hard: bool, enhanced_code: str = "", diagnostic: str = "",
    report: str = "", digest: str = "",
) -> FeedbackEvent | None:
    """A bounce: hard suppresses at once, soft adds to the address's score."""
    event = _store(message, recipient, FeedbackKind.BOUNCE, digest, report,
                   bounce_type=HARD if hard else SOFT, enhanced_code=enhanced_code[:16],
                   diagnostic=diagnostic[:2000])
    if event is None:
        return None
    if hard:
        suppressions.suppress(recipient, SuppressionReason.HARD_BOUNCE, event=event,
                              message=message)
    elif suppressions.over_threshold(suppressions.score_soft_bounce(recipient)):
        suppressions.suppress(recipient, SuppressionReason.SOFT_BOUNCE_SCORE, event=event,
                              message=message)
    send_after_commit(message_bounced, Message, message=message, recipient=recipient,
                      bounce_type=event.bounce_type, status=event.enhanced_code,
                      diagnostic=event.diagnostic, event=event)
    return event


def record_complaint(
    message: Message, recipient: str, *, report: str = "", digest: str = "",
    feedback_type: str = "abuse",
) -> FeedbackEvent | None:
    """A complaint (an ARF report): the address is suppressed at once."""
    event = _store(message, recipient, FeedbackKind.COMPLAINT, digest, report,
                   diagnostic=f"Feedback-Type: {feedback_type}")
    if event is None:
        return None
    suppressions.suppress(recipient, SuppressionReason.COMPLAINT, event=event, message=message)
    send_after_commit(message_complained, Message, message=message, recipient=recipient,
                      event=event)
    return event


def record_unsubscribe(message: Message, recipient: str) -> FeedbackEvent | None:
    """The recipient unsubscribed (one-click): no more marketing mail to them.

    Nothing is recorded when the address is already suppressed for marketing."""
    address = suppressions.normalize(recipient)
    if suppressions.suppressed_among([address]):
        return None
    event = _store(message, recipient, FeedbackKind.UNSUBSCRIBE, "", "")
    scope = SuppressionScope.MARKETING
    suppressions.suppress(address, SuppressionReason.UNSUBSCRIBE, scope=scope, event=event,
                          message=message)
    send_after_commit(recipient_unsubscribed, Message, address=address, message=message,
                      scope=scope)
    return event


def _store(
    message: Message, recipient: str, kind: str, digest: str, report: str, **fields
) -> FeedbackEvent | None:
    try:
        with transaction.atomic():
            return FeedbackEvent.objects.create(message=message, recipient=recipient,
                                                kind=kind, report_digest=digest,
                                                report=report, **fields)
    except IntegrityError:
        return None  # this report was recorded already (another poll, another worker)
