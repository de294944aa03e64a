"""The filtered message log as CSV, streamed: rows are written as the database hands them over."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Case, F, QuerySet, Value, When
from django.http import StreamingHttpResponse
from django.utils import timezone

from delivery.choices import HELD
from delivery.conditions import HELD_CONDITION
from delivery.models import Message

COLUMNS = (
    ("id", "pk"), ("created_at", "created_at"), ("status", "shown_status"), ("kind", "kind"),
    ("integration", "integration__name"), ("from", "from_email"), ("to", "to"),
    ("subject", "subject"), ("attempts", "attempt_count"), ("sent_at", "sent_at"),
    ("failed_at", "failed_at"), ("last_error", "last_error"),
)
# Rows fetched per round trip (a server-side cursor on PostgreSQL): memory stays flat.
CHUNK = 2000
# Fewer, larger pieces: each piece costs the response machinery a round.
LINES_PER_PIECE = 500
# A cell a spreadsheet would run as a formula (CSV injection) gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file whose write() hands back the line, so csv.writer produces strings to stream."""

    def write(self, value: str) -> str:
        return value


def csv_response(messages: QuerySet[Message]) -> StreamingHttpResponse:
    """A CSV download of these messages, one line per message, written as it is read."""
    rows = messages.select_related(None).annotate(shown_status=_shown_status()).order_by(
        "-created_at", "-pk"
    ).values_list(*(field for _, field in COLUMNS)).iterator(chunk_size=CHUNK)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="messages-{stamp}.csv"'
    return response


def _shown_status() -> Case:
    """The status as the log shows it: queued mail on an integration that needs attention is
    `held` (it waits for staff, not for its turn)."""
    return Case(When(HELD_CONDITION, then=Value(HELD)), default=F("status"))


def lines(rows: Iterable[tuple]) -> Iterator[str]:
    """The header line, then the rows as CSV, a few hundred lines per piece handed over."""
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in COLUMNS])
    piece: list[str] = []
    for row in rows:
        cells = [convert(value) for convert, value in zip(CELLS, row, strict=True)]
        piece.append(writer.writerow(cells))
        if len(piece) == LINES_PER_PIECE:
            yield "".join(piece)
            piece = []
    if piece:
        yield "".join(piece)


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _addresses(value: list[str]) -> str:
    return _text(", ".join(value))


# One converter per column of COLUMNS: each knows its type, so no cell is inspected.
CELLS = (_number, _time, _text, _text, _text, _text, _addresses, _text, _number, _time, _time,
         _text)
