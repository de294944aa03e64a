"""The queued email backend: Django's mail API goes through the delivery queue."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from .api import InvalidMessage, encode_attachment, send_email
from .models import Kind

# Headers that carry the routing choice instead of going out with the message.
KIND_HEADER = "X-Notifuse-Kind"
INTEGRATION_HEADER = "X-Notifuse-Integration"
IDEMPOTENCY_HEADER = "X-Notifuse-Idempotency-Key"


class QueuedEmailBackend(BaseEmailBackend):
    """Queues each EmailMessage; set the kind with the `X-Notifuse-Kind` header.

    Invalid input raises `InvalidMessage` even with `fail_silently`: a message is never
    dropped without the caller knowing.
    """

    def send_messages(self, email_messages) -> int:
        return sum(1 for email in email_messages if self._queue(email))

    def _queue(self, email: EmailMessage) -> bool:
        if not email.recipients():
            return False
        headers = dict(email.extra_headers)
        kind = _pop_header(headers, KIND_HEADER, Kind.TRANSACTIONAL)
        integration = _pop_header(headers, INTEGRATION_HEADER, None)
        idempotency_key = _pop_header(headers, IDEMPOTENCY_HEADER, None)
        # Django shows a From header instead of from_email: here it is the sender, checked
        # against the integration's senders like any from_email.
        from_email = _pop_header(headers, "From", None) or email.from_email or None
        reply_to = list(email.reply_to)
        text, html = _bodies(email)
        send_email(
            to=list(email.to),
            cc=list(email.cc),
            bcc=list(email.bcc),
            reply_to=reply_to,
            subject=str(email.subject),
            text=text,
            html=html,
            kind=kind,
            from_email=from_email,
            headers=headers,
            integration=integration,
            idempotency_key=idempotency_key,
            attachments=[_attachment(item) for item in email.attachments],
        )
        return True


def _pop_header(headers: dict, name: str, default):
    """Remove `name` from `headers` in any case (header names are case-insensitive)."""
    for key in list(headers):
        if str(key).lower() == name.lower():
            return headers.pop(key)
    return default


def _bodies(email: EmailMessage) -> tuple[str | None, str | None]:
    """The text/plain and text/html bodies, wherever the message carries them.

    A message stores one of each: any other alternative is refused rather than dropped.
    """
    bodies = {"text/plain": None, "text/html": None}
    parts = [(content, mimetype) for content, mimetype in getattr(email, "alternatives", ())]
    if email.body or not parts:  # an empty body beside alternatives is no body
        parts.insert(0, (email.body, f"text/{email.content_subtype}"))
    for content, mimetype in parts:
        kind = str(mimetype).split(";")[0].strip().lower()
        if kind not in bodies or bodies[kind] is not None:
            raise InvalidMessage(
                "alternatives",
                f"a {mimetype} body cannot be queued: a message carries one text/plain and "
                "one text/html body; send other content as an attachment",
            )
        bodies[kind] = str(content)
    return bodies["text/plain"], bodies["text/html"]


def _attachment(item) -> dict:
    if hasattr(item, "get_payload"):  # a MIMEBase object attached as is
        if item.is_multipart():
            raise InvalidMessage(
                "attachments",
                f"a {item.get_content_type()} part holding other parts cannot be queued; "
                "attach its bytes instead: email.attach(filename, part.as_bytes(), "
                "'message/rfc822')",
            )
        # The Content-ID and the inline disposition are what an HTML body's cid: image needs.
        return encode_attachment(
            item.get_filename() or "", item.get_payload(decode=True) or b"",
            item.get_content_type(),
            content_id=(item.get("Content-ID") or "").strip().strip("<>") or None,
            inline=item.get_content_disposition() == "inline",
        )
    filename, content, mimetype = item
    return encode_attachment(filename, content, mimetype)
