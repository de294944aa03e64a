"""Message.tracking_key: tracking URLs name a message by 128 random bits, not its id.

Every existing row gets a key (on PostgreSQL in one UPDATE, from gen_random_uuid()'s strong
random bytes; elsewhere row by row), so mail rendered from now on carries the new URLs.
Mail already sent carries tokens signed with SECRET_KEY over the message id: those rows are
marked `signed_tracking_tokens`, and only for them are such tokens still read.
"""

import secrets

from django.db import migrations, models

import delivery.models

BATCH = 500


def fill_tracking_keys(apps, schema_editor):
    Message = apps.get_model("delivery", "Message")
    # Rendered at least once with tracking on: its links may already be in a mailbox.
    Message.objects.filter(track=True, attempt_count__gt=0).update(signed_tracking_tokens=True)
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(Message._meta.db_table)
        schema_editor.execute(
            f"UPDATE {table} SET tracking_key = replace(gen_random_uuid()::text, '-', '') "
            "WHERE tracking_key IS NULL"
        )
        return
    batch = []
    for message in Message.objects.filter(tracking_key=None).only("pk").iterator(BATCH):
        message.tracking_key = secrets.token_hex(16)
        batch.append(message)
        if len(batch) == BATCH:
            Message.objects.bulk_update(batch, ["tracking_key"])
            batch = []
    Message.objects.bulk_update(batch, ["tracking_key"])


class Migration(migrations.Migration):

    dependencies = [
        ("delivery", "0032_suppressions_feedback"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="tracking_key",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="signed_tracking_tokens",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(fill_tracking_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="tracking_key",
            field=models.CharField(
                default=delivery.models.new_tracking_key, editable=False, max_length=32
            ),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                fields=("tracking_key",), name="message_tracking_key_unique"
            ),
        ),
    ]
