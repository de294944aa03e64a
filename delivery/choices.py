"""The names of a message's kinds, states and the SMTP stages an attempt reaches."""

from __future__ import annotations

from django.db import models


class Kind(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional"
    MARKETING = "marketing", "Marketing"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # Every recipient is on the suppression list: nothing was sent (see Message.suppressed).
    SUPPRESSED = "suppressed", "Suppressed"


# Not a stored status but a condition the log and the admin filter by: queued on an
# integration that needs attention (Message.objects.held()).
HELD = "held"


class Priority(models.IntegerChoices):
    """Claiming takes the highest first: transactional mail is high unless the caller says."""

    LOW = 10, "Low"
    NORMAL = 20, "Normal"
    HIGH = 30, "High"
    URGENT = 40, "Urgent"


DEFAULT_PRIORITY = {"transactional": Priority.HIGH, "marketing": Priority.NORMAL}


class Stage(models.TextChoices):
    CONNECT = "connect", "Connect"
    TLS = "tls", "TLS"
    EHLO = "ehlo", "EHLO"
    TOKEN = "token", "Token"
    AUTH = "auth", "AUTH"
    MAIL = "mail", "MAIL FROM"
    RCPT = "rcpt", "RCPT TO"
    DATA = "data", "DATA"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    COMPLAINT = "complaint", "Complaint"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
    SOFT_BOUNCE_SCORE = "soft_bounce_score", "Soft-bounce score"
    MANUAL = "manual", "Manual"


class SuppressionScope(models.TextChoices):
    MARKETING = "marketing", "Marketing mail"
    ALL = "all", "All mail"


class FeedbackKind(models.TextChoices):
    """What came back about a message after the server took it."""

    BOUNCE = "bounce", "Bounce"
    COMPLAINT = "complaint", "Complaint"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
