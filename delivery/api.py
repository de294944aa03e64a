"""The public entry points app code calls: `send_email` and `send_bulk`."""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from notifuse_smtp.caching import RecentAnswers

from . import suppressions, wakeups
from .inserts import insert_many, insert_message, inserts_with_conditions
from .lifecycle import transitions
from .lifecycle.suppression import apply_suppressions
from .lifecycle.transitions import CannotCancel, new_message
from .models import Kind, Message, Status
from .routing import route
from .tracking.links import urls_to_store
from .validation import (
    InvalidMessage,
    check_attachment_type,
    check_header_value,
    check_headers,
    check_priority,
    check_send_at,
    check_text,
    normalize_address,
    normalize_addresses,
)

__all__ = ["CannotCancel", "InvalidMessage", "QueuedMessages", "cancel", "send_bulk",
           "send_email"]


class QueuedMessages(list):
    """What send_bulk returns: the messages, and how many recipients were suppressed."""

    suppressed: int = 0


def send_email(
    *,
    to,
    subject: str,
    text: str | None = None,
    html: str | None = None,
    kind: str = Kind.TRANSACTIONAL,
    from_email: str | None = None,
    cc=(),
    bcc=(),
    reply_to=(),
    headers: dict | None = None,
    idempotency_key: str | None = None,
    integration=None,
    attachments: list[dict] | None = None,
    track: bool | None = None,
    unsubscribe_url: str = "",
    priority: int | str | None = None,
    send_at: datetime | None = None,
) -> Message:
    """Validate, route and queue one message; a worker sends it once the transaction commits.

    `priority` (0-100 or low/normal/high/urgent; by default transactional high, marketing
    normal) orders an integration's due mail; `send_at` (aware) holds the message until then.
    Raises `InvalidMessage` (a ValueError naming the field) and stores nothing when the input
    is refused. With an `idempotency_key` already used, returns that message unchanged.
    Suppressed recipients are recorded, not sent to (`suppressed` when nobody is left).
    """
    existing = _already_queued(idempotency_key)
    if existing is not None:
        return existing
    message = build_message(
        to=to, subject=subject, text=text, html=html, kind=kind, from_email=from_email,
        cc=cc, bcc=bcc, reply_to=reply_to, headers=headers, integration=integration,
        attachments=attachments, idempotency_key=idempotency_key, track=track,
        unsubscribe_url=unsubscribe_url, priority=priority, send_at=send_at,
    )
    stored = _insert_unless_suppressed(message, idempotency_key)
    if stored is message and message.status == Status.QUEUED:
        wakeups.publish_on_commit(message.integration_id)
    return stored


def _insert_unless_suppressed(message: Message, idempotency_key: str | None) -> Message:
    """Store the message, its suppressed recipients recorded. Where the INSERT can check the
    list itself (PostgreSQL) nobody on it, the common case, costs no lookup of its own; when
    somebody is, the lookup says who."""
    if inserts_with_conditions():
        unless = suppressions.blocking_entry_query(message.all_recipients, message.kind)
        stored = _insert(message, idempotency_key, unless=unless)
        if stored is not None:
            return stored
    apply_suppressions([message])
    return _insert(message, idempotency_key)


def _insert(message: Message, idempotency_key: str | None, unless=None) -> Message | None:
    """Store the message (None when `unless` found a row); with a key a concurrent call just
    used, return that call's."""
    try:
        if idempotency_key and transaction.get_connection().in_atomic_block:
            # A duplicate key must not break the caller's transaction: try it in a savepoint.
            with transaction.atomic():
                inserted = insert_message(message, unless=unless)
        else:
            # Autocommitted: no BEGIN/COMMIT round trips of our own.
            inserted = insert_message(message, unless=unless)
    except IntegrityError:
        # A concurrent call with the same key won the race: return its message.
        if idempotency_key:
            return Message.objects.get(idempotency_key=idempotency_key)
        raise
    return message if inserted else None


def cancel(message: Message | int, *, by: str = "app code") -> Message:
    """Cancel a queued or scheduled message (status `cancelled`); a worker never sends it.

    Raises `CannotCancel` when a worker has already claimed it, or it is finished.
    """
    if not isinstance(message, Message):
        found = Message.objects.filter(pk=message).first()
        if found is None:
            raise CannotCancel(f"message {message} does not exist")
        message = found
    return transitions.cancel(message, by=by)


def _already_queued(idempotency_key: str | None) -> Message | None:
    if not idempotency_key:
        return None
    # PostgreSQL cannot compare text holding a NUL: refuse it before asking.
    check_text("idempotency_key", str(idempotency_key))
    return Message.objects.filter(idempotency_key=str(idempotency_key)).first()


def send_bulk(
    messages, *, kind: str = Kind.MARKETING, chunk_size: int = 1000,
    priority: int | str | None = None, send_at: datetime | None = None,
) -> QueuedMessages:
    """Queue many messages (dicts of `send_email` arguments) with one insert per chunk.

    `kind`, `priority` and `send_at` apply to every message that does not set its own.
    Returns the messages (a list) whose `suppressed` says how many recipients were on the
    suppression list (recorded in each message, not sent to).
    """
    routes: dict = {}
    defaults = {"kind": kind, "priority": priority, "send_at": send_at}
    built = [build_message(routes=routes, **{**defaults, **item}) for item in map(dict, messages)]
    return queue_built(built, chunk_size=chunk_size)


def queue_built(built: list[Message], *, chunk_size: int = 1000) -> QueuedMessages:
    """Insert messages made by `build_message`, then wake each integration once.

    As with send_email, a message whose idempotency key is already used (stored, or earlier
    in `built`) is not inserted: the message holding the key takes its place in the result.
    Suppressed recipients are recorded as send_email does; the result's `suppressed` counts
    them.
    """
    created: list[Message] = []
    queued = QueuedMessages()
    with transaction.atomic():
        holders = _holders_of_keys(built)
        for message in built:
            key = message.idempotency_key
            if key is not None and key in holders:
                queued.append(holders[key])
                continue
            if key is not None:
                holders[key] = message
            created.append(message)
            queued.append(message)
        queued.suppressed = apply_suppressions(created)
        for start in range(0, len(created), chunk_size):
            insert_many(created[start : start + chunk_size], read_ids=True)
    per_integration = Counter(m.integration_id for m in created if m.status == Status.QUEUED)
    for integration_id, count in per_integration.items():
        wakeups.publish_bulk_on_commit(integration_id, count)
    return queued


def _holders_of_keys(built: list[Message]) -> dict[str, Message]:
    """The stored messages that already hold an idempotency key of `built`."""
    keys = {check_text("idempotency_key", m.idempotency_key) for m in built
            if m.idempotency_key is not None}
    if not keys:
        return {}
    return {m.idempotency_key: m for m in Message.objects.filter(idempotency_key__in=keys)}


ADDRESS_FIELDS = ("to", "cc", "bcc", "reply_to")


def build_message(
    *, to, subject, text=None, html=None, kind=Kind.TRANSACTIONAL, from_email=None, cc=(),
    bcc=(), reply_to=(), headers=None, integration=None, attachments=None,
    idempotency_key=None, track=None, unsubscribe_url="", priority=None, send_at=None,
    routes: dict | None = None,
) -> Message:
    """Return an unsaved, validated and routed Message.

    `routes` memoises routing decisions across the messages of one bulk send.
    """
    # Plain str and bool from here on: a lazy translation or a 1 for True is what callers
    # mean, and the database driver takes only the real types.
    subject, text, html = (None if v is None else str(v) for v in (subject, text, html))
    kind = str(kind)
    idempotency_key = None if idempotency_key is None else str(idempotency_key)
    given = zip(ADDRESS_FIELDS, (to, cc, bcc, reply_to), strict=True)
    to, cc, bcc, reply_to = (normalize_addresses(f, v, required=f == "to") for f, v in given)
    subject = check_header_value("subject", subject or "")
    if from_email:
        from_email = normalize_address("from_email", from_email)
    headers = check_headers(headers, kind=kind)
    if not (text or html):
        raise InvalidMessage("text", "a message needs a text or an HTML body")
    text = text and check_text("text", text)
    html = html and check_text("html", html)
    attachments = _check_attachments(attachments)
    unsubscribe_url = _check_url("unsubscribe_url", unsubscribe_url)
    _check_size(text, html, attachments)
    chosen = _route(routes, kind=kind, from_email=from_email, integration=integration)
    _check_lengths(subject=subject, from_email=chosen.from_email,
                   idempotency_key=idempotency_key, unsubscribe_url=unsubscribe_url)
    tracked = _tracked(track, kind, chosen.integration)
    return new_message(
        kind=kind,
        integration=chosen.integration,
        integration_pinned=chosen.pinned,
        from_email=chosen.from_email,
        to=to, cc=cc, bcc=bcc, reply_to=reply_to,
        subject=subject, text=text or "", html=html or "",
        headers=headers, attachments=attachments, idempotency_key=idempotency_key or None,
        track=tracked,
        tracked_urls=urls_to_store(html or "", tracked),
        unsubscribe_url=unsubscribe_url,
        priority=check_priority(priority, kind),
        send_at=check_send_at(send_at),
    )


def _tracked(track, kind: str, integration) -> bool:
    """As the caller says; else marketing mail is tracked, and transactional mail only where
    the integration turns it on (its links are often one-time logins and resets)."""
    if track is not None:
        return bool(track)
    return kind == Kind.MARKETING or integration.track_transactional


# Routing decisions of this process, reused for ROUTE_CACHE_SECONDS: a burst of send_email
# calls then costs one INSERT each instead of two more lookups.
_recent_routes = RecentAnswers("ROUTE_CACHE_SECONDS")


def _route(routes: dict | None, **choice):
    key = tuple(sorted((k, str(getattr(v, "pk", v))) for k, v in choice.items()))
    if routes is not None:
        if key not in routes:
            routes[key] = route(**choice)
        return routes[key]
    return _recent_routes.get(key, lambda: route(**choice))


def _check_url(field: str, url: str) -> str:
    url = check_header_value(field, (url or "").strip())
    if url and not url.lower().startswith(("https://", "http://", "mailto:")):
        raise InvalidMessage(field, "must be an https://, http:// or mailto: URL")
    return url


# type/subtype with the characters RFC 6838 allows in each, and no parameters.
MIMETYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")


def _check_attachments(attachments) -> list[dict]:
    """Attachments as `encode_attachment` makes them: the worker can render nothing else."""
    checked = []
    for item in attachments or ():
        if not isinstance(item, dict) or not isinstance(item.get("content_b64"), str):
            raise InvalidMessage(
                "attachments", "each must be a dict made by "
                "delivery.api.encode_attachment(filename, content, mimetype)",
            )
        filename, mimetype = item.get("filename", ""), item.get("mimetype", "")
        if not isinstance(filename, str):
            raise InvalidMessage("attachments", f"filename {filename!r} is not a string")
        check_header_value("attachments", filename)
        if not isinstance(mimetype, str) or not MIMETYPE.fullmatch(mimetype):
            raise InvalidMessage("attachments", f"{mimetype!r} is not a MIME type/subtype")
        _check_content_id(item.get("content_id", ""))
        if not isinstance(item.get("inline", False), bool):
            raise InvalidMessage("attachments", "inline must be True or False")
        try:
            content = base64.b64decode(item["content_b64"], validate=True)
        except binascii.Error:
            problem = f"{filename!r}: content_b64 is not base64"
            raise InvalidMessage("attachments", problem) from None
        check_attachment_type(filename, mimetype, content)
        checked.append(item)
    return checked


# A Content-ID without its angle brackets: id-left "@" id-right, or any dot-atom-ish token,
# short enough for its header line (998 bytes: a msg-id cannot be folded).
CONTENT_ID = re.compile(r"[!#-;=?-~]+")
MAX_CONTENT_ID = 998 - len("Content-ID: <>")


def _check_content_id(content_id) -> None:
    if content_id == "":
        return
    if not isinstance(content_id, str) or not CONTENT_ID.fullmatch(content_id):
        raise InvalidMessage(
            "attachments", f"content_id {content_id!r} must be printable ASCII without "
            "spaces or angle brackets (write logo@example.com, and cid:logo@example.com in HTML)",
        )
    if len(content_id) > MAX_CONTENT_ID:
        raise InvalidMessage(
            "attachments", f"content_id is {len(content_id)} characters, over the limit of "
            f"{MAX_CONTENT_ID}",
        )


def _check_lengths(**values: str | None) -> None:
    """PostgreSQL refuses a value longer than its column: name the field instead."""
    for field, value in values.items():
        limit = Message._meta.get_field(field).max_length
        if value and len(value) > limit:
            raise InvalidMessage(field, f"{len(value)} characters is over the limit of {limit}")


def _check_size(text: str | None, html: str | None, attachments: list[dict]) -> None:
    size = len((text or "").encode()) + len((html or "").encode())
    for item in attachments:
        size += len(item.get("content_b64", "")) * 3 // 4
    limit = settings.DELIVERY_MAX_MESSAGE_BYTES
    if size > limit:
        raise InvalidMessage("message", f"{size} bytes is over the limit of {limit} bytes")


def encode_attachment(
    filename: str, content: bytes | str, mimetype: str | None, *,
    content_id: str | None = None, inline: bool = False,
) -> dict:
    """Store an attachment in a message row (JSON-safe).

    `content_id` (without angle brackets) lets the HTML show it with `src="cid:…"`; `inline`
    asks mail clients to show it in the message rather than as a file to download.
    """
    if isinstance(content, str):
        content = content.encode()
    item = {
        "filename": filename or "",
        "mimetype": mimetype or "application/octet-stream",
        "content_b64": base64.b64encode(content).decode("ascii"),
    }
    if content_id:
        item["content_id"] = content_id
    if inline:
        item["inline"] = True
    return item
