"""send_email's in-INSERT suppression check (`blocking_entry_query`, SQL written by hand) finds
an entry exactly when the list lookup and `blocks` say the mail is stopped, on generated and
hostile addresses (case, IDN, line breaks, quotes, very long)."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery import suppressions
from delivery.choices import Kind, SuppressionReason, SuppressionScope
from delivery.models import Suppression
from delivery.suppressions import blocking_entry_query, blocks, normalize, suppressed_among

pytestmark = pytest.mark.django_db

LOCAL = st.one_of(
    st.sampled_from(["ada", "Ada", "a\nb", '"a b"', "x" * 64, "o'neil", "a%b", "a_b"]),
    # No NUL: send_email refuses it before any lookup, and PostgreSQL text cannot hold one.
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
            min_size=1, max_size=20),
)
DOMAIN = st.sampled_from(["example.org", "EXAMPLE.org", "straße.de", "xn--strae-oqa.de",
                          "ドメイン.jp", "exa\nmple.com", "example.org."])
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN)


def _normalized(address: str) -> str | None:
    try:
        return normalize(address)
    except (ValueError, UnicodeError):
        return None


@settings(max_examples=150, deadline=None)
@given(
    recipients=st.lists(ADDRESS, min_size=1, max_size=5),
    listed=st.lists(st.tuples(ADDRESS, st.sampled_from(list(SuppressionScope))), max_size=4),
    kind=st.sampled_from([Kind.TRANSACTIONAL, Kind.MARKETING]),
)
def test_the_insert_condition_agrees_with_the_list_lookup(recipients, listed, kind):
    if connection.vendor != "postgresql":
        pytest.skip("the condition is PostgreSQL's")
    Suppression.objects.all().delete()
    entries = {}
    for address, scope in listed:
        if (key := _normalized(address)) is not None:
            entries[key] = scope
    Suppression.objects.bulk_create(
        Suppression(address=a, scope=s, reason=SuppressionReason.MANUAL) for a, s in entries.items()
    )
    expected = any(blocks(kind, scope) for _, scope in suppressed_among(recipients).values())
    # Both forms of the query: a parameter per address (a few), one array (more).
    for as_text_up_to in (suppressions.ADDRESSES_AS_TEXT, 0):
        with patch.object(suppressions, "ADDRESSES_AS_TEXT", as_text_up_to):
            condition, params = blocking_entry_query(recipients, kind)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS ({condition})", params)
            (found,) = cursor.fetchone()
        assert found is expected, condition


def test_ten_thousand_recipients_go_as_one_parameter():
    condition, params = blocking_entry_query([f"r{n}@example.org" for n in range(10_000)],
                                             Kind.MARKETING)
    assert condition.count("%s") == 1 and len(params[0]) == 10_000
