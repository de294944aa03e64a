"""A message's files for staff: its source as sent (.eml) and its attachments."""

from __future__ import annotations

import base64

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from delivery.mime import render
from delivery.models import Message
from delivery.permissions import VIEW_MESSAGES

# The message page shows the source up to this many characters; the .eml has all of it.
SHOWN_SOURCE_CHARS = 100_000


def source_of(message: Message) -> str:
    """The message as a worker renders it for SMTP (every header, MIME parts, attachments).

    Rendered now, so the Date header is the time of rendering, not of sending.
    """
    return render(message).decode("utf-8", errors="replace")


def shown_source(message: Message) -> tuple[str, int]:
    """The start of the source for the page, and how many characters were left out."""
    source = source_of(message)
    return source[:SHOWN_SOURCE_CHARS], max(len(source) - SHOWN_SOURCE_CHARS, 0)


def attachment_summary(index: int, stored: dict) -> dict:
    """Name, type and decoded size of a stored attachment, without decoding it."""
    encoded = "".join((stored.get("content_b64") or "").split())
    size = len(encoded) * 3 // 4 - encoded[-2:].count("=")
    return {"index": index, "filename": stored.get("filename") or "(no name)",
            "mimetype": stored.get("mimetype") or "", "size": max(size, 0),
            "inline": bool(stored.get("inline") or stored.get("content_id"))}


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    # Always a download: an HTML attachment must not run as a page of the portal.
    response = HttpResponse(content, content_type=content_type or "application/octet-stream")
    safe_name = "".join(c for c in filename if c.isprintable() and c not in '"\\/') or "file"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return response


@staff_member_required
@permission_required(VIEW_MESSAGES, raise_exception=True)
def raw_source(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole source as a .eml file, ready for a mail client or a support ticket."""
    message = get_object_or_404(Message, pk=pk)
    return _download(render(message), "message/rfc822", f"message-{pk}.eml")


@staff_member_required
@permission_required(VIEW_MESSAGES, raise_exception=True)
def attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """One attachment of a message, as it was queued."""
    stored = get_object_or_404(Message.objects.only("attachments"), pk=pk).attachments
    if index >= len(stored):
        raise Http404("No such attachment")
    item = stored[index]
    content = base64.b64decode(item.get("content_b64") or "")
    return _download(content, item.get("mimetype") or "", item.get("filename") or "attachment")
