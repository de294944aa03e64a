"""Keyset pages of the message log: newest first, by (created_at, id), never by offset.

An offset page reads and throws away every row before it, and counting the matches reads
them all; a keyset page reads its own rows through the (created_at, id) index whatever the
table holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

from delivery.models import Message

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Page:
    """One page of rows and the cursors of the pages next to it (None: there is none)."""

    rows: list[Message]
    older: str | None
    newer: str | None


def cursor_of(message: Message) -> str:
    """The position of a row: microseconds since the epoch and the id ("1733100000123456-42")."""
    micros = (message.created_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{message.pk}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    """The (created_at, id) a cursor names; None for a missing or malformed one."""
    micros, _, pk = (text or "").partition("-")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    return EPOCH + timedelta(microseconds=int(micros)), int(pk)


def page_of(messages: QuerySet[Message], *, before: str | None, after: str | None,
            size: int) -> Page:
    """The page of `size` rows older than `before`, newer than `after`, or the newest."""
    newer_than = parse_cursor(after)
    if newer_than:
        return _newer_page(messages, newer_than, size)
    older_than = parse_cursor(before)
    if older_than:
        created, pk = older_than
        # The plain bound lets the index start at the cursor; the OR breaks ties by id.
        messages = messages.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk),
                                   created_at__lte=created)
    rows = list(messages.order_by("-created_at", "-pk")[: size + 1])
    older = cursor_of(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    newer = cursor_of(rows[0]) if older_than and rows else None
    return Page(rows, older, newer)


def _newer_page(messages: QuerySet[Message], cursor: tuple[datetime, int], size: int) -> Page:
    created, pk = cursor
    rows = list(
        messages.filter(Q(created_at__gt=created) | Q(created_at=created, pk__gt=pk),
                        created_at__gte=created)
        .order_by("created_at", "pk")[: size + 1]
    )
    has_newer = len(rows) > size
    rows = rows[:size][::-1]
    return Page(rows, older=cursor_of(rows[-1]) if rows else None,
                newer=cursor_of(rows[0]) if has_newer and rows else None)
