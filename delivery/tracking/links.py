"""Signed tracking URLs: a token names the message and the link, and nothing else works."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from delivery.models import Message

from .rewrite import Link, add_tracking

CLICK_SALT = "notifuse-smtp.tracking.click"
OPEN_SALT = "notifuse-smtp.tracking.open"


def click_token(message_id: int, index: int) -> str:
    return signing.dumps([message_id, index], salt=CLICK_SALT, compress=True)


def open_token(message_id: int) -> str:
    return signing.dumps(message_id, salt=OPEN_SALT)


def read_click_token(token: str) -> tuple[int, int] | None:
    try:
        message_id, index = signing.loads(token, salt=CLICK_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return int(message_id), int(index)


def read_open_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=OPEN_SALT))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def _absolute(path: str) -> str:
    return settings.TRACKING_BASE_URL.rstrip("/") + path


def tracked_html(message: Message) -> str:
    """The HTML to send: with tracking when it is on globally and for this message."""
    if not (message.html and message.track and settings.TRACKING_ENABLED):
        return message.html

    def click_url(link: Link) -> str:
        return _absolute(reverse("tracking:click", args=[click_token(message.pk, link.index)]))

    pixel = _absolute(reverse("tracking:open", args=[open_token(message.pk)]))
    return add_tracking(message.html, click_url, pixel)


UNSUBSCRIBE_SALT = "notifuse-smtp.unsubscribe"


def unsubscribe_token(message: Message) -> str:
    """Names the message and its `to` recipients; signed, so it cannot be made up or edited."""
    return signing.dumps([message.pk, message.to], salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, list[str]] | None:
    try:
        message_id, recipients = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        return None
    return int(message_id), recipients


def hosted_unsubscribe_url(message: Message) -> str:
    """This service's own RFC 8058 one-click URL for `message` (on TRACKING_BASE_URL)."""
    return _absolute(reverse("tracking:unsubscribe", args=[unsubscribe_token(message)]))
