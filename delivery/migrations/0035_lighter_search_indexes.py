"""The search indexes hold only what is searched: the trigram indexes settled mail (not
queued, not in flight), the Message-ID index the messages that were given one.

A status change is never a HOT update, so every index of every row is written again when a
message is claimed and when it is sent: with three GIN indexes of all rows, each message paid
for its search text three times in the send path, the largest cost left in it. Settled rows
are written once. delivery.search asks for unsettled mail through the status index, in a
query the planner cannot fold back into one that misses these indexes.

PostgreSQL keeps no statistics for the expressions of a partial index, so without the
expression statistics below it guessed every search term rare: a term in a third of all mail
(`billing@`) was read whole through the index and sorted, 1.1 s at 1,000,000 messages instead
of 22 ms down the log's own order. The new indexes are built before the old ones go, so search
is never without one. PostgreSQL only, as in 0030: SQLite scans.
"""

from __future__ import annotations

from django.db import migrations

OLD_INDEXES = {
    "message_to_trgm": 'gin (UPPER(("to")::text) gin_trgm_ops)',
    "message_subject_trgm": 'gin (UPPER(("subject")::text) gin_trgm_ops)',
    "message_from_trgm": 'gin (UPPER(("from_email")::text) gin_trgm_ops)',
    "message_header_message_id": "btree ((\"headers\" ->> 'Message-ID'))",
}
# The predicate must be the very condition delivery.search writes for settled mail, for the
# planner to prove it.
SETTLED = "WHERE NOT (\"status\" IN ('queued', 'sending'))"
SEARCH_INDEXES = {
    "message_settled_to_trgm": f'{OLD_INDEXES["message_to_trgm"]} {SETTLED}',
    "message_settled_subject_trgm": f'{OLD_INDEXES["message_subject_trgm"]} {SETTLED}',
    "message_settled_from_trgm": f'{OLD_INDEXES["message_from_trgm"]} {SETTLED}',
    # Most mail has no Message-ID of the app's own: an index of every row wrote a NULL entry
    # three times per message. An equality lookup implies NOT NULL, so the planner uses it.
    "message_given_message_id": (f'{OLD_INDEXES["message_header_message_id"]} '
                                 "WHERE (\"headers\" ->> 'Message-ID') IS NOT NULL"),
}

# What the planner needs to judge how common a term is (ANALYZE fills them).
EXPRESSION_STATISTICS = {
    "message_to_text": 'UPPER(("to")::text)',
    "message_subject_text": 'UPPER(("subject")::text)',
    "message_from_text": 'UPPER(("from_email")::text)',
}


def create(indexes: dict[str, str], schema_editor) -> None:
    for name, definition in indexes.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "delivery_message" USING {definition}'
        )


def drop(indexes: dict[str, str], schema_editor) -> None:
    for name in indexes:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def add_search_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in EXPRESSION_STATISTICS.items():
        schema_editor.execute(
            f'CREATE STATISTICS IF NOT EXISTS "{name}" ON ({expression}) FROM "delivery_message"'
        )
    create(SEARCH_INDEXES, schema_editor)
    drop(OLD_INDEXES, schema_editor)


def restore_old_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    create(OLD_INDEXES, schema_editor)
    drop(SEARCH_INDEXES, schema_editor)
    for name in EXPRESSION_STATISTICS:
        schema_editor.execute(f'DROP STATISTICS IF EXISTS "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ("delivery", "0034_claim_order_index"),
    ]

    operations = [
        migrations.RunPython(add_search_indexes, restore_old_indexes),
    ]
