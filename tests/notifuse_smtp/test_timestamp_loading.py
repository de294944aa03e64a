"""PostgreSQL timestamps read through psycopg's C loader (notifuse_smtp.timestamp_loading)
are the values Django's own loader gives, on generated and edge-case timestamps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, UTC

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.models import Message
from notifuse_smtp.timestamp_loading import TIMESTAMPTZ, UtcTimestamptzLoader, takes_fast_loader
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

OFFSETS = st.integers(min_value=-15 * 60, max_value=15 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=OFFSETS)
# What PostgreSQL can hold that Python cannot, and text no query of ours gives but a loader
# must still refuse rather than misread.
EDGES = ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "9999-12-31 23:59:59.999999+00",
         "0001-01-01 00:00:00+00", "2026-03-29 01:30:00+00", "2026-12-02 14:46:11.5+05:30"]


def _postgres_text(moment: datetime) -> bytes:
    """The moment as PostgreSQL writes it to this connection (session time zone UTC)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz::text", [moment])
        return cursor.fetchone()[0].encode()


def _djangos_loader():
    class DjangosLoader(BaseTzLoader):
        timezone = connection.timezone

    return DjangosLoader(connection.connection.adapters.types[TIMESTAMPTZ].oid,
                         connection.connection)


def _load(loader, text: bytes):
    try:
        value = loader.load(text)
    except Exception as error:  # noqa: BLE001 - the kind of refusal is compared
        return type(error).__name__
    return value, value.tzinfo, value.utcoffset()


def _skip_unless_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the loaders are psycopg's")
    connection.ensure_connection()


@settings(max_examples=300, deadline=None)
@given(moment=MOMENTS)
def test_the_c_loader_reads_what_djangos_loader_reads(moment):
    _skip_unless_postgresql()
    text = _postgres_text(moment)
    fast = UtcTimestamptzLoader(connection.connection.adapters.types[TIMESTAMPTZ].oid,
                                connection.connection)
    assert _load(fast, text) == _load(_djangos_loader(), text)


@pytest.mark.parametrize("text", EDGES)
def test_edge_cases_read_alike_or_are_refused_alike(text):
    _skip_unless_postgresql()
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz::text", [text])
        written = cursor.fetchone()[0].encode()
    fast = UtcTimestamptzLoader(connection.connection.adapters.types[TIMESTAMPTZ].oid,
                                connection.connection)
    assert _load(fast, written) == _load(_djangos_loader(), written)


def test_the_orm_reads_timestamps_through_it_with_djangos_time_zone():
    _skip_unless_postgresql()
    assert takes_fast_loader(connection)
    loader = connection.connection.adapters.get_loader(
        connection.connection.adapters.types[TIMESTAMPTZ].oid, 0)
    assert loader is UtcTimestamptzLoader
    message = Message.objects.create(
        integration=make_integration(), from_email="a@example.com", to=["b@example.org"],
        subject="x", text="x", next_attempt_at=datetime(2026, 12, 2, 14, 46, 11, 5, UTC),
        deadline=datetime(2026, 12, 3, tzinfo=timezone(timedelta(hours=5, minutes=30))))
    stored = Message.objects.get(pk=message.pk)
    assert stored.next_attempt_at == datetime(2026, 12, 2, 14, 46, 11, 5, UTC)
    assert stored.deadline == datetime(2026, 12, 2, 18, 30, tzinfo=UTC)
    assert stored.next_attempt_at.tzinfo is UTC is stored.deadline.tzinfo
