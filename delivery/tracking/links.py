"""Tracking URLs: a token names a message by its random key, and nothing else works.

A message's `tracking_key` is the second it was made and 96 random bits, not derived from
its id or from SECRET_KEY: a token tells nothing about another message, and whoever knows
SECRET_KEY can make none.
The pixel is `/t/o/<key>.gif`, a click `/t/c/<key>.<index>/` (the index of the link in
`Message.tracked_urls`). Mail rendered before the keys existed carries tokens signed with
SECRET_KEY over the message id (`signed_tokens.py`), still read for those messages only.
"""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, reverse

from delivery.models import Message

from .finder import Link, find_links, tracked_urls
from .rewrite import add_tracking

KEY = re.compile(r"[0-9a-f]{32}")
# More links than this in one message is no message this service rendered.
MAX_INDEX_DIGITS = 6


def click_token(message: Message, index: int) -> str:
    return f"{message.tracking_key}.{index}"


def open_token(message: Message) -> str:
    return message.tracking_key


def read_click_token(token: str) -> tuple[str, int] | None:
    """(the message's key, the link's index), or None when `token` cannot be one of ours."""
    key, dot, index = token.partition(".")
    if not (dot and KEY.fullmatch(key) and _is_index(index)):
        return None
    return key, int(index)


def read_open_token(token: str) -> str | None:
    return token if KEY.fullmatch(token) else None


def _is_index(text: str) -> bool:
    # One spelling per index ("01" is not 1): the digits are ASCII and bounded.
    return (0 < len(text) <= MAX_INDEX_DIGITS and text.isascii() and text.isdigit()
            and (text == "0" or text[0] != "0"))


def _absolute(path: str) -> str:
    return settings.TRACKING_BASE_URL.rstrip("/") + path


def _tracking_url(name: str, token: str) -> str:
    """The absolute URL of tracking view `name` for `token`, as reverse() gives it."""
    before, after = _around(name)
    return before + token + after


def _around(name: str) -> tuple[str, str]:
    """What comes before and after the token in `name`'s absolute URL.

    Reversed in ROOT_URLCONF, where the tracking views are: the project sets no per-request
    urlconf, and asking for one (get_urlconf) cost a sixth of a marketing message's render.
    """
    return _around_token(name, settings.TRACKING_BASE_URL, get_script_prefix(),
                         settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=64)
def _around_token(name: str, base_url: str, script_prefix: str, urlconf: str) -> tuple[str, str]:
    # reverse() costs more than the rest of a fast render: once per view and configuration.
    before, _, after = _absolute(reverse(name, args=["-"], urlconf=urlconf)).rpartition("-")
    return before, after


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

    before, after = _around("tracking:click")  # once: a large message has thousands of links

    def click_url(link: Link) -> str:
        return before + click_token(message, link.index) + after

    pixel = _tracking_url("tracking:open", open_token(message))
    return add_tracking(message.html, found, click_url, pixel, links=None if same else [])


UNSUBSCRIBE_SALT = "notifuse-smtp.unsubscribe"


def unsubscribe_token(message: Message) -> str:
    """The message's tracking key: as unguessable as a signature, it names no recipient, and
    it costs nothing per message (signing one was a tenth of a bulk worker's time)."""
    return message.tracking_key


def unsubscribe_recipients(token: str) -> tuple[Message, list[str]] | None:
    """The message a token names and the recipients it unsubscribes; None for no message.

    Mail sent before the key-based tokens carries a token signed with SECRET_KEY over the
    message id and its `to` recipients: still read.
    """
    if KEY.fullmatch(token):
        message = _for_unsubscribe().filter(tracking_key=token).first()
        return None if message is None else (message, list(message.to))
    decoded = read_signed_unsubscribe_token(token)
    if decoded is None:
        return None
    message_id, recipients = decoded
    message = _for_unsubscribe().filter(pk=message_id).first()
    return None if message is None else (message, recipients)


def _for_unsubscribe():
    return Message.objects.only("pk", "to", "kind")


def read_signed_unsubscribe_token(token: str) -> tuple[int, list[str]] | None:
    try:
        message_id, recipients = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        return None
    return int(message_id), recipients


def hosted_unsubscribe_url(message: Message) -> str:
    """This service's own RFC 8058 one-click URL for `message` (on TRACKING_BASE_URL)."""
    return _tracking_url("tracking:unsubscribe", unsubscribe_token(message))
