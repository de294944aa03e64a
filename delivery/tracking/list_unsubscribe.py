"""The List-Unsubscribe headers of marketing mail (RFC 2369), one-click only over HTTPS.

RFC 8058 defines `List-Unsubscribe-Post: List-Unsubscribe=One-Click` for an HTTPS URI only:
mailbox providers send that POST without the reader's say, and over plain HTTP (or to a
mailto: address) it would travel in clear or mean nothing, so those URLs go out as a plain
List-Unsubscribe.
"""

from __future__ import annotations

from django.conf import settings

from delivery.models import Kind, Message

from .links import hosted_unsubscribe_url, unsubscribe_token

ONE_CLICK = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
# What DEFAULT_UNSUBSCRIBE_URL may hold: each is filled in with the message's random,
# unguessable unsubscribe token. "{message_id}" is the name documented before the token: it
# once took the raw sequential id, which let anyone unsubscribe every reader in turn.
PLACEHOLDERS = ("{token}", "{message_id}")


def list_unsubscribe_headers(message: Message) -> dict[str, str]:
    """For marketing mail: the message's own URL, else DEFAULT_UNSUBSCRIBE_URL, else this
    service's hosted one-click page; with the one-click header when that URL is HTTPS."""
    if message.kind != Kind.MARKETING:
        return {}
    url = (
        message.unsubscribe_url
        or default_unsubscribe_url(message)
        or hosted_unsubscribe_url(message)
    )
    one_click = ONE_CLICK if url[:8].lower() == "https://" else {}
    return {"List-Unsubscribe": f"<{url}>", **one_click}


def default_unsubscribe_url(message: Message) -> str:
    """DEFAULT_UNSUBSCRIBE_URL with its placeholders filled in, or "" when it is unset."""
    url = settings.DEFAULT_UNSUBSCRIBE_URL
    if any(placeholder in url for placeholder in PLACEHOLDERS):
        token = unsubscribe_token(message)
        for placeholder in PLACEHOLDERS:
            url = url.replace(placeholder, token)
    return url
