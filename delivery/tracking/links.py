"""Signed tracking URLs: a token names the message and the link, and nothing else works."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from delivery.models import Message

from .finder import Link, find_links, tracked_urls
from .rewrite import add_tracking

CLICK_SALT = "notifuse-smtp.tracking.click"
OPEN_SALT = "notifuse-smtp.tracking.open"
# Primary keys are PostgreSQL bigints: a larger number in a token is no message at all.
LARGEST_ID = 2**63 - 1


def click_token(message_id: int, index: int, signer: signing.Signer | None = None) -> str:
    """signing.dumps(); a message's links can share one `signer`, which is not free to make."""
    signer = signer or signing.TimestampSigner(salt=CLICK_SALT)
    return signer.sign_object([message_id, index], compress=True)


def open_token(message_id: int) -> str:
    return signing.dumps(message_id, salt=OPEN_SALT)


def read_click_token(token: str) -> tuple[int, int] | None:
    try:
        message_id, index = signing.loads(token, salt=CLICK_SALT)
        message_id, index = int(message_id), int(index)
    except (signing.BadSignature, ValueError, TypeError, OverflowError):
        return None
    if not (0 < message_id <= LARGEST_ID and 0 <= index):
        return None
    return message_id, index


def read_open_token(token: str) -> int | None:
    try:
        message_id = int(signing.loads(token, salt=OPEN_SALT))
    except (signing.BadSignature, ValueError, TypeError, OverflowError):
        return None
    return message_id if 0 < message_id <= LARGEST_ID else None


def _absolute(path: str) -> str:
    return settings.TRACKING_BASE_URL.rstrip("/") + path


def urls_to_store(html: str, track: bool) -> list[str] | None:
    """The value of Message.tracked_urls for a new message: None when it is not tracked."""
    if not (html and track and settings.TRACKING_ENABLED):
        return None
    return tracked_urls(html)


def tracked_html(message: Message) -> str:
    """The HTML to send: with tracking when it is on globally and for this message."""
    if not (message.html and message.track and settings.TRACKING_ENABLED):
        return message.html
    found = find_links(message.html)
    # A click finds its URL in tracked_urls by index: links are rewritten only when that
    # list is the one found now (not for a message queued while tracking was off).
    same = [link.url for link in found.links] == message.tracked_urls

    # One reverse() and one signer for all links: a large message has thousands.
    before, _, after = _absolute(reverse("tracking:click", args=["-"])).rpartition("-")
    signer = signing.TimestampSigner(salt=CLICK_SALT)

    def click_url(link: Link) -> str:
        return before + click_token(message.pk, link.index, signer) + after

    pixel = _absolute(reverse("tracking:open", args=[open_token(message.pk)]))
    return add_tracking(message.html, found, click_url, pixel, links=None if same else [])


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
