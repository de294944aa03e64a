"""The INSERT behind `send_email`, with its SQL built once per process.

Django compiles a model INSERT afresh on every `save()`: for the 30-odd columns of a
message that costs about three times the INSERT itself, and `send_email` in a loop is
bound by it. On PostgreSQL the statement is built once and each call only adapts the
values (the same adaptation `save()` does) on Django's own connection, so errors,
transactions and `on_commit` behave as with `save()`. Other databases use `save()`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import psycopg
from django.db import connections, models, router
from django.utils import timezone

from .models import Message

# Field types whose Python value PostgreSQL's driver takes as it is.
PASSED_AS_IS = (
    models.BooleanField, models.CharField, models.TextField, models.IntegerField,
    models.DateTimeField, models.UUIDField, models.ForeignKey,
)


class _CompiledInsert:
    """`INSERT INTO delivery_message (…) VALUES (…) RETURNING id` and how to fill it."""

    def __init__(self, connection) -> None:
        fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        self.sql = (
            f"INSERT INTO {quote(Message._meta.db_table)} ({columns}) "
            f"VALUES ({placeholders}) RETURNING {quote(Message._meta.pk.column)}"
        )
        self.attnames = [f.attname for f in fields]
        self.timestamps = [f.attname for f in fields if _is_auto_timestamp(f)]
        self.adapters: list[Callable[[Any], Any] | None] = [
            None if _passed_as_is(f) else partial(f.get_db_prep_save, connection=connection)
            for f in fields
        ]

    def params(self, message: Message) -> list:
        values = []
        for attname, adapt in zip(self.attnames, self.adapters, strict=True):
            value = getattr(message, attname)
            values.append(value if adapt is None or value is None else adapt(value))
        return values


def _is_auto_timestamp(field: models.Field) -> bool:
    return isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add)


def _passed_as_is(field: models.Field) -> bool:
    # URLField is a CharField; JSONField is none of these: it needs the driver's Jsonb wrapper.
    return isinstance(field, PASSED_AS_IS)


_compiled: dict[str, _CompiledInsert] = {}


def insert_message(message: Message) -> None:
    """Save a new message with one INSERT, as `message.save()` would."""
    alias = router.db_for_write(Message)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        message.save()
        return
    compiled = _compiled.get(alias)
    if compiled is None:
        compiled = _compiled[alias] = _CompiledInsert(connection)
    now = timezone.now()
    for attname in compiled.timestamps:
        setattr(message, attname, now)
    params = compiled.params(message)
    connection.ensure_connection()
    driver_connection = connection.connection
    # psycopg prepares the statement once per connection, so PostgreSQL skips parsing and
    # planning too. `"prepare_threshold": None` in the database OPTIONS (for a pooler that
    # cannot keep prepared statements) turns that off here as it does for psycopg.
    prepare = driver_connection.prepare_threshold is not None
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors, psycopg.Cursor(driver_connection) as cursor:
        cursor.execute(compiled.sql, params, prepare=prepare)
        (message.pk,) = cursor.fetchone()
    message._state.adding = False
    message._state.db = alias
