"""Turn a Message row into the bytes sent in DATA, using Django's message classes."""

from __future__ import annotations

import base64
from email.utils import getaddresses

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from .models import Kind, Message
from .tracking.links import tracked_html


def message_id(message: Message) -> str:
    """A Message-ID stable across retries, so receivers can spot a repeat."""
    domain = getaddresses([message.from_email])[0][1].rpartition("@")[2] or "localhost"
    domain = domain.encode("idna").decode("ascii")
    return f"<notifuse-smtp.{message.pk}.{int(message.created_at.timestamp())}@{domain}>"


def build_email(message: Message) -> EmailMultiAlternatives:
    headers = {"Message-ID": message_id(message), **message.headers, **_unsubscribe(message)}
    html = tracked_html(message)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text or html,
        from_email=message.from_email,
        to=message.to,
        cc=message.cc,
        reply_to=message.reply_to,
        headers=headers,
    )
    if html and message.text:
        email.attach_alternative(html, "text/html")
    elif html:
        email.content_subtype = "html"
    for item in message.attachments:
        email.attach(item["filename"], base64.b64decode(item["content_b64"]), item["mimetype"])
    return email


def _unsubscribe(message: Message) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe headers, for marketing mail only."""
    if message.kind != Kind.MARKETING:
        return {}
    url = message.unsubscribe_url or settings.DEFAULT_UNSUBSCRIBE_URL.replace(
        "{message_id}", str(message.pk)
    )
    if not url:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def render(message: Message) -> bytes:
    return build_email(message).message().as_bytes(linesep="\r\n")
