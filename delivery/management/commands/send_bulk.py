"""`python manage.py send_bulk FILE.csv`: queue one message per row (to, subject, text, html)."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from delivery.api import InvalidMessage, build_message, queue_built

REQUIRED_COLUMNS = {"to", "subject"}
CHUNK = 1000
# Invalid rows listed in the error; the count says how many more there are.
MOST_REPORTED = 20


class Command(BaseCommand):
    help = ("Queue the rows of a CSV file as messages. Columns: to (commas between several "
            "addresses), subject, text, html, and optionally send_at (ISO 8601 with a time "
            "zone). Rows are marketing mail unless --kind transactional.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--kind", choices=("marketing", "transactional"), default="marketing")
        parser.add_argument("--from-email", default=None)
        parser.add_argument("--integration", default=None, help="name or id (default: routing)")

    def handle(self, *args, file: Path, kind: str, from_email, integration, **options) -> None:
        rows = self._read(file)
        self.routes: dict = {}
        self._check_every_row(rows, kind, from_email, integration)
        queued = suppressed = 0
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            try:
                built = [self._build(row, kind, from_email, integration) for _, row in chunk]
            except InvalidMessage as exc:
                # Only when routing changed since the check (an integration was deactivated).
                raise CommandError(
                    f"{exc}; the {queued} message(s) before line {chunk[0][0]} stay queued"
                ) from None
            result = queue_built(built)
            queued += len(result)
            suppressed += result.suppressed
            self._progress(queued, len(rows))
        self.stderr.write("")
        self.stdout.write(self.style.SUCCESS(
            f"Queued {queued} message(s) from {file}; {suppressed} recipient(s) on the "
            "suppression list were not sent to."
        ))

    def _read(self, file: Path) -> list[tuple[int, dict]]:
        """Each row with the line it ends on (a quoted field may span several lines)."""
        # The csv module refuses fields over 128 KiB: an HTML body may be as large as a message.
        csv.field_size_limit(max(csv.field_size_limit(), settings.DELIVERY_MAX_MESSAGE_BYTES))
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                try:
                    missing = REQUIRED_COLUMNS - set(reader.fieldnames or ())
                    if missing:
                        raise CommandError(
                            f"{file}: missing column(s): {', '.join(sorted(missing))}"
                        )
                    return [(reader.line_num, self._checked(row, reader)) for row in reader]
                except csv.Error as exc:
                    raise CommandError(f"{file}, line {reader.line_num}: {exc}") from None
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(
                f"{file} is not UTF-8 text: save it as CSV UTF-8 and run the command again"
            ) from None

    @staticmethod
    def _checked(row: dict, reader: csv.DictReader) -> dict:
        if None in row:  # DictReader's key for the fields beyond the header's
            fields, expected = len(reader.fieldnames) + len(row[None]), len(reader.fieldnames)
            raise CommandError(
                f"line {reader.line_num}: {fields} fields, the header has {expected} "
                "(quote a field that contains a comma)"
            )
        return row

    def _check_every_row(self, rows: list[tuple[int, dict]], *choices) -> None:
        """Refuse the file before queueing anything when any row is invalid, so that running
        it again once fixed sends no row twice."""
        problems = []
        for line, row in rows:
            try:
                self._build(row, *choices)
            except InvalidMessage as exc:
                problems.append(f"line {line}: {exc}")
        if problems:
            listed = "\n".join(problems[:MOST_REPORTED])
            if len(problems) > MOST_REPORTED:
                listed += f"\n… and {len(problems) - MOST_REPORTED} more"
            raise CommandError(
                f"{len(problems)} invalid row(s), nothing was queued; fix them and run the "
                f"command again:\n{listed}"
            )

    def _build(self, row: dict, kind: str, from_email, integration):
        return build_message(
            to=[a.strip() for a in (row.get("to") or "").split(",") if a.strip()],
            subject=row.get("subject") or "",
            text=row.get("text") or None,
            html=row.get("html") or None,
            kind=kind,
            from_email=from_email,
            integration=integration,
            # ISO 8601 with a time zone, e.g. 2026-12-24T09:00:00+01:00; empty: now.
            send_at=(row.get("send_at") or "").strip() or None,
            routes=self.routes,
        )

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stderr.flush()
