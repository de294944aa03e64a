"""INSERTs on the hot paths (a message per send_email, a batch's attempts), built once.

Django compiles a model INSERT afresh on every `save()` and `bulk_create()`: for the 30-odd
columns of a message that costs about three times the INSERT itself, and `send_email` in a
loop is bound by it. On PostgreSQL the statement is built once per process and prepared
once per connection (see `DATABASE_PREPARED_STATEMENTS`); each call only adapts the values
on Django's own connection and cursor wrapper, so errors, transactions, `on_commit` and
query logging behave as with the ORM. Other databases use the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import psycopg
from django.db import connections, models, router
from django.utils import timezone

from .models import Message

# Field types whose Python value PostgreSQL's driver takes as it is. JSONField is none of
# these: it needs the driver's Jsonb wrapper, which get_db_prep_save gives it.
PASSED_AS_IS = (
    models.BooleanField, models.CharField, models.TextField, models.IntegerField,
    models.DateTimeField, models.UUIDField, models.ForeignKey,
)


class _CompiledInsert:
    """`INSERT INTO <table> (…) VALUES (…) RETURNING id` for one model, and how to fill it."""

    def __init__(self, model: type[models.Model], connection) -> None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
        self.returning_sql = f"{self.sql} RETURNING {quote(model._meta.pk.column)}"
        # INSERT … SELECT: PostgreSQL types the parameters from the target columns here too.
        self._unless_template = (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
                                 f"SELECT {placeholders} WHERE NOT EXISTS ({{condition}}) "
                                 f"RETURNING {quote(model._meta.pk.column)}")
        self._unless_sql: dict[str, str] = {}
        self.attnames = [f.attname for f in fields]
        self.timestamps = [f.attname for f in fields if _is_auto_timestamp(f)]
        self.adapters: list[Callable[[Any], Any] | None] = [_adapter(f, connection) for f in fields]

    def unless_sql(self, condition: str) -> str:
        """The INSERT that adds no row when `condition` (a query) finds one; one text per
        condition, so PostgreSQL prepares it once per connection like the plain INSERT."""
        sql = self._unless_sql.get(condition)
        if sql is None:
            sql = self._unless_sql[condition] = self._unless_template.format(condition=condition)
        return sql

    def params(self, instance: models.Model) -> list:
        values = []
        for attname, adapt in zip(self.attnames, self.adapters, strict=True):
            value = getattr(instance, attname)
            values.append(value if adapt is None or value is None else adapt(value))
        return values

    def stamp(self, instance: models.Model, now) -> None:
        """Fill auto_now / auto_now_add fields, as save() would."""
        for attname in self.timestamps:
            setattr(instance, attname, now)


def _adapter(field: models.Field, connection) -> Callable[[Any], Any] | None:
    """How a value of `field` goes to the driver; None when it goes as it is."""
    if isinstance(field, PASSED_AS_IS):
        return None
    if isinstance(field, models.JSONField):
        # JSON text, which PostgreSQL reads into the jsonb column: the text Django's Jsonb
        # wrapper would send, without wrapping eight mostly empty values per message.
        return partial(_json_text, encoder=field.encoder)
    return partial(field.get_db_prep_save, connection=connection)


def _json_text(value: Any, encoder: type[json.JSONEncoder] | None) -> str:
    if value == [] or value == {}:
        return "[]" if isinstance(value, list) else "{}"
    return json.dumps(value, cls=encoder)


def _is_auto_timestamp(field: models.Field) -> bool:
    return isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add)


_compiled: dict[tuple[str, type[models.Model]], _CompiledInsert] = {}


def _compiled_for(model: type[models.Model], alias: str) -> _CompiledInsert:
    compiled = _compiled.get((alias, model))
    if compiled is None:
        compiled = _compiled[alias, model] = _CompiledInsert(model, connections[alias])
    return compiled


def _server_binding_cursor(connection):
    """Django's cursor wrapper (error translation, execute wrappers, query logging, the
    broken-transaction check) around a psycopg cursor that binds on the server, which
    psycopg prepares after `prepare_threshold` runs. Django's own cursors bind on the
    client and are never prepared.

    The psycopg cursor is kept for the connection's life and not closed after use: a new one
    per INSERT, finding its value adapters afresh, was a fifth of send_email's Python
    (0.235 ms a message against 0.19 ms with the cursor kept).
    """
    # As Django's cursor() does: a kept connection (CONN_MAX_AGE) that fails its health
    # check is replaced, so a restarted database is survived.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    driver_connection = connection.connection
    kept = getattr(connection, "_server_binding_cursor", None)
    if kept is None or kept.connection is not driver_connection or kept.closed:
        kept = connection._server_binding_cursor = psycopg.Cursor(driver_connection)
    with connection.wrap_database_errors:
        return connection._prepare_cursor(kept)


def inserts_with_conditions() -> bool:
    """Whether `insert_message(unless=…)` is available: on PostgreSQL."""
    return connections[router.db_for_write(Message)].vendor == "postgresql"


def insert_message(message: Message, *, unless: tuple[str, list] | None = None) -> bool:
    """Save a new message with one INSERT, as `message.save()` would.

    `unless` is a query (SQL, params) that, when it finds a row, stops the INSERT in the same
    statement (PostgreSQL only): returns False and the message stays unsaved.
    """
    alias = router.db_for_write(Message)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        assert unless is None, "conditional inserts need PostgreSQL"
        message.save()
        return True
    compiled = _compiled_for(Message, alias)
    compiled.stamp(message, timezone.now())
    params = compiled.params(message)
    sql = compiled.returning_sql
    if unless is not None:
        condition, condition_params = unless
        sql = compiled.unless_sql(condition)
        params = [*params, *condition_params]
    cursor = _server_binding_cursor(connection)
    cursor.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return False
    (message.pk,) = row
    message._state.adding = False
    message._state.db = alias
    return True


def insert_many(instances: Sequence[models.Model], *, read_ids: bool = False) -> None:
    """Insert new rows of one model in one pipelined round trip, as bulk_create() would.

    With `read_ids` each instance gets its primary key, as after save().
    """
    if not instances:
        return
    model = type(instances[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(instances)
        return
    compiled = _compiled_for(model, alias)
    now = timezone.now()
    rows = []
    for instance in instances:
        compiled.stamp(instance, now)
        rows.append(compiled.params(instance))
    cursor = _server_binding_cursor(connection)
    if not read_ids:
        cursor.executemany(compiled.sql, rows)
        return
    # Django's wrapper cannot ask for each row's RETURNING: the driver's cursor can
    # (this statement is not in Django's query log).
    with connection.wrap_database_errors:
        driver_cursor = cursor.cursor
        driver_cursor.executemany(compiled.returning_sql, rows, returning=True)
        for instance in instances:
            (instance.pk,) = driver_cursor.fetchone()
            instance._state.adding = False
            instance._state.db = alias
            driver_cursor.nextset()
