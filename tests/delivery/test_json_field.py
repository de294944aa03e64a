"""delivery.json_field reads what Django's JSONField reads, on generated JSON as PostgreSQL
writes it, and never hands two readers the same object."""

from __future__ import annotations

import json

import pytest
from django.db import connection, models
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.json_field import JSONField
from delivery.models import Message
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

# PostgreSQL's jsonb holds no NUL character.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def _as_stored(value) -> str:
    """The value's text as the database gives it back for a JSON column."""
    with connection.cursor() as cursor:
        cast = "%s::jsonb::text" if connection.vendor == "postgresql" else "json(%s)"
        cursor.execute(f"SELECT {cast}", [json.dumps(value)])
        return cursor.fetchone()[0]


@settings(max_examples=200, deadline=None)
@given(value=JSON | st.sampled_from([[], {}, [[]], {"": {}}, " []", "[]", "{}"]))
def test_it_reads_what_djangos_field_reads(value):
    text = _as_stored(value)
    ours = JSONField().from_db_value(text, None, connection)
    djangos = models.JSONField().from_db_value(text, None, connection)
    assert ours == djangos and type(ours) is type(djangos)


def test_a_decoder_sees_the_empty_object_as_django_gives_it():
    class Tagging(json.JSONDecoder):
        def __init__(self, **kwargs):
            super().__init__(object_hook=lambda o: {"tagged": True, **o}, **kwargs)

    assert JSONField(decoder=Tagging).from_db_value("{}", None, connection) == {"tagged": True}
    assert JSONField(decoder=Tagging).from_db_value("[]", None, connection) == []


def test_each_read_is_a_fresh_object():
    message = Message.objects.create(integration=make_integration(), from_email="a@example.com",
                                     to=["b@example.org"], subject="x", text="x",
                                     next_attempt_at="2026-12-02T00:00Z",
                                     deadline="2026-12-03T00:00Z")
    first, second = Message.objects.get(pk=message.pk), Message.objects.get(pk=message.pk)
    first.cc.append("c@example.org")
    first.headers["X-Tag"] = "1"
    assert second.cc == [] and second.headers == {}
