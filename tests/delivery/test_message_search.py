"""The log's search (delivery.search): it finds mail in every status, held to a plain reading
of its text on generated messages and terms, and on PostgreSQL it reads the settled-mail
indexes for a rare term and the log's own order for a common one."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.models import Message, Status
from delivery.search import search
from tests.factories import make_integration
from tests.portal.helpers import make_message

pytestmark = pytest.mark.django_db

# Few characters, so terms often match; LIKE's own wildcards and escape among them.
TEXT = st.text(st.sampled_from("abAB@._%\\ "), min_size=0, max_size=8)
MESSAGE = st.tuples(st.sampled_from(list(Status)), st.lists(TEXT, min_size=1, max_size=2),
                    TEXT, TEXT)


def _found_by_reading(message: Message, term: str) -> bool:
    """What the search means: the term, in any case, in the Subject, From or To's JSON text,
    where it may also stand JSON-escaped (SQLite writes non-ASCII that way; a backslash is
    escaped on both databases)."""
    wanted, to_text = term.upper(), json.dumps(message.to).upper()
    return (wanted in message.subject.upper() or wanted in message.from_email.upper()
            or wanted in to_text or json.dumps(term)[1:-1].upper() in to_text)


@settings(max_examples=60, deadline=None)
@given(messages=st.lists(MESSAGE, min_size=1, max_size=8), term=TEXT.filter(bool))
def test_the_search_finds_what_a_plain_reading_finds_in_every_status(messages, term):
    Message.objects.all().delete()
    integration = _integration()
    made = [make_message(integration, status=status, to=to, subject=subject, from_email=sender)
            for status, to, subject, sender in messages]
    found = set(search(Message.objects.all(), term).values_list("pk", flat=True))
    assert found == {m.pk for m in made if _found_by_reading(m, term)}


def _integration():
    from integrations.models import SmtpIntegration

    return SmtpIntegration.objects.first() or make_integration()


def _plan(term: str, *, scans: bool = True) -> dict:
    page = search(Message.objects.only("pk"), term).order_by("-created_at", "-id")[:51]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        for method in ("seqscan", "indexscan"):
            cursor.execute(f"SET LOCAL enable_{method} = {'on' if scans else 'off'}")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_a_rare_term_reads_the_settled_indexes_and_a_common_one_the_log_order():
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    integration = make_integration()
    now = timezone.now()
    Message.objects.bulk_create(
        Message(integration=integration, from_email=("billing@example.com" if n % 3 else
                                                     "news@example.com"),
                to=[f"reader{n}@example.org"], subject=f"Invoice {n}", text="x",
                status=Status.SENT if n % 50 else Status.QUEUED, next_attempt_at=now,
                deadline=now, tracking_key=f"key-{n}")
        for n in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE delivery_message")
    # At 20,000 rows reading the table, or the log's order, costs less than these indexes:
    # what is asked here is whether they can serve the query at all. A query PostgreSQL
    # could factor into `text AND (settled OR unsettled)` could use none of them.
    rare = {node.get("Index Name") for node in _nodes(_plan("reader12345@", scans=False))}
    # Unsettled mail is not in the trigram indexes: it is found through the status index.
    assert {"message_settled_to_trgm", "message_settled_subject_trgm",
            "message_settled_from_trgm", "message_status_created"} <= rare, rare
    # The Message-ID index holds only messages given one: an equality lookup still reaches it.
    given = {node.get("Index Name") for node in _nodes(_plan("<a@app.example>", scans=False))}
    assert "message_given_message_id" in given, given
    # Two messages in three. Without statistics on the indexed expressions (there are none
    # for a partial index's) the planner guessed a term rare: at 1,000,000 messages it then
    # read every match through the index and sorted them, 1.1 s instead of 22 ms.
    common = list(_nodes(_plan("billing@")))
    scan = next(node for node in common if node["Node Type"].endswith("Scan"))
    assert scan["Plan Rows"] > 20_000 / 3, scan
    assert not [node for node in common if "Sort" in node["Node Type"]], common
