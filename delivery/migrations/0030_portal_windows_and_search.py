"""Failure times, indexes for the portal's time windows and keyset pages, and search indexes.

The trigram (pg_trgm) and Message-ID indexes exist on PostgreSQL only: they serve the
expressions the log's search compiles to there, and SQLite (the zero-setup default) scans.
"""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# The expressions must be the ones Django compiles `icontains` and the key lookup to, or
# PostgreSQL does not use the index.
SEARCH_INDEXES = {
    "message_to_trgm": 'gin (UPPER(("to")::text) gin_trgm_ops)',
    "message_subject_trgm": 'gin (UPPER(("subject")::text) gin_trgm_ops)',
    "message_from_trgm": 'gin (UPPER(("from_email")::text) gin_trgm_ops)',
    "message_header_message_id": "btree ((\"headers\" ->> 'Message-ID'))",
}


def add_search_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in SEARCH_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "delivery_message" USING {definition}'
        )


def drop_search_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in SEARCH_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def failed_at_from_updated_at(apps, schema_editor) -> None:
    """A failed row was not changed after it failed: its updated_at is when it failed."""
    Message = apps.get_model("delivery", "Message")
    Message.objects.filter(status="failed").update(failed_at=models.F("updated_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("delivery", "0021_webhooks"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddField(
            model_name="message",
            name="failed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(failed_at_from_updated_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["created_at", "id"], name="message_created_id"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(condition=models.Q(("sent_at__isnull", False)),
                               fields=["sent_at", "integration"], name="message_sent_window"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(condition=models.Q(("failed_at__isnull", False)),
                               fields=["failed_at", "integration"],
                               name="message_failed_window"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(condition=models.Q(("first_opened_at__isnull", False)),
                               fields=["created_at", "integration"],
                               name="message_opened_window"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(condition=models.Q(("click_count__gt", 0)),
                               fields=["created_at", "integration"],
                               name="message_clicked_window"),
        ),
        migrations.RunPython(add_search_indexes, drop_search_indexes),
    ]
