"""The precompiled INSERT behind send_email stores exactly what Model.save() stores."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.forms.models import model_to_dict

from delivery import api
from delivery.api import build_message, encode_attachment, send_email
from delivery.inserts import insert_message
from delivery.models import Message, Suppression
from integrations.failures.catalog import rule
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

EVERY_FIELD = {
    "to": ["Bob <bob@example.org>", "eve@example.org"],
    "subject": "Ünïcode subject",
    "text": "text body\nwith two lines",
    "html": "<p>html body</p>",
    "cc": ["carol@example.org"],
    "bcc": ["dan@example.org"],
    "reply_to": ["help@example.com"],
    "headers": {"X-Order": "42", "X-Nested": "ok"},
    "attachments": [encode_attachment("a.pdf", b"%PDF-1.4\x00\xff", "application/pdf")],
    "track": False,
    "unsubscribe_url": "https://example.com/u/1",
    "kind": "marketing",
}


def _stored(message: Message) -> dict:
    fields = model_to_dict(Message.objects.get(pk=message.pk))
    return {k: v for k, v in fields.items() if k not in ("id", "idempotency_key")}


def test_a_message_inserted_reads_back_as_one_saved_by_the_orm():
    make_integration()
    fast = build_message(**EVERY_FIELD, idempotency_key="fast")
    insert_message(fast)
    slow = build_message(**EVERY_FIELD, idempotency_key="slow")
    slow.save()
    assert fast.pk and fast.pk != slow.pk and not fast._state.adding
    fast_row, slow_row = _stored(fast), _stored(slow)
    for timestamp in ("next_attempt_at", "deadline"):
        assert abs(fast_row.pop(timestamp) - slow_row.pop(timestamp)).total_seconds() < 5
    assert fast_row == slow_row
    assert fast_row["attachments"][0]["content_b64"] == EVERY_FIELD["attachments"][0]["content_b64"]
    stored = Message.objects.get(pk=fast.pk)
    assert stored.created_at == fast.created_at and stored.updated_at == fast.updated_at


def test_a_duplicate_idempotency_key_raises_django_integrity_error():
    make_integration()
    insert_message(build_message(to=["a@example.org"], subject="x", text="x",
                                 idempotency_key="dup"))
    with pytest.raises(IntegrityError):
        insert_message(build_message(to=["a@example.org"], subject="x", text="x",
                                     idempotency_key="dup"))


def test_losing_the_idempotency_race_returns_the_winner_and_keeps_the_transaction(
    monkeypatch,
):
    make_integration()
    winner = send_email(to="bob@example.org", subject="Order", text="1", idempotency_key="k")
    # As if the other call inserted between this call's lookup and its INSERT.
    monkeypatch.setattr(api, "_already_queued", lambda key: None)
    assert connection.in_atomic_block  # the test's transaction: it must stay usable
    again = send_email(to="bob@example.org", subject="Order", text="2", idempotency_key="k")
    assert again.pk == winner.pk and again.text == "1"
    assert Message.objects.filter(idempotency_key="k").count() == 1


def test_attempts_inserted_together_read_back_as_bulk_create_stores_them():
    from django.utils import timezone

    from delivery.inserts import insert_many
    from delivery.models import SendAttempt

    integration = make_integration()
    message = send_email(to="bob@example.org", subject="x", text="x")

    def attempt(number: int, **fields) -> SendAttempt:
        return SendAttempt(message=message, integration=integration, number=number,
                           started_at=timezone.now(), finished_at=timezone.now(), **fields)

    failed = {"stage": "rcpt", "smtp_code": 550, "enhanced_code": "5.1.1", "error": "No such user",
              "hint": rule("smtp.5.1.1").hint, "failure_class": "permanent"}
    insert_many([attempt(1, **failed), attempt(2, stage="data", succeeded=True)])
    SendAttempt.objects.bulk_create([attempt(3, **failed), attempt(4, stage="data",
                                                                    succeeded=True)])
    rows = [model_to_dict(a, exclude=["id", "number", "started_at", "finished_at"])
            for a in SendAttempt.objects.filter(message=message).order_by("number")]
    assert rows[0] == rows[2] and rows[1] == rows[3]
    assert rows[0]["smtp_code"] == 550 and rows[1]["succeeded"] is True


def test_lazy_strings_and_truthy_values_are_stored_as_save_would_store_them():
    from django.utils.translation import gettext_lazy

    make_integration()
    message = send_email(to="bob@example.org", subject=gettext_lazy("Welcome"),
                         text=gettext_lazy("Hello"), track=1)
    stored = Message.objects.get(pk=message.pk)
    assert (stored.subject, stored.text, stored.track) == ("Welcome", "Hello", True)


@pytest.mark.django_db(transaction=True)
def test_send_email_survives_a_database_restart_on_a_kept_connection():
    import psycopg

    integration = make_integration()
    send_email(to="bob@example.org", subject="before", text="x", integration=integration)
    settings_dict = connection.settings_dict
    assert settings_dict["CONN_HEALTH_CHECKS"] and settings_dict["CONN_MAX_AGE"]
    backend_pid = connection.connection.info.backend_pid
    admin = psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432,
                            user=settings_dict["USER"], dbname="postgres", autocommit=True)
    with admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    connection.close_if_unusable_or_obsolete()  # what each request and task start does
    # The route is remembered, so the INSERT is the first thing to touch the database.
    after = send_email(to="bob@example.org", subject="after", text="x", integration=integration)
    assert Message.objects.filter(pk=after.pk).exists()


def test_the_insert_is_one_query_in_djangos_log_and_is_prepared_after_a_few_runs(
    django_assert_num_queries,
):
    integration = make_integration()
    send_email(to="bob@example.org", subject="x", text="x", integration=integration)
    # The route is remembered: only the INSERT, which checks the suppression list itself.
    with django_assert_num_queries(1) as captured:
        send_email(to="bob@example.org", subject="x", text="x", integration=integration)
    (insert,) = (query["sql"] for query in captured.captured_queries)
    assert insert.startswith('INSERT INTO "delivery_message"')
    assert 'NOT EXISTS (SELECT 1 FROM "delivery_suppression"' in insert
    for _ in range(6):
        send_email(to="bob@example.org", subject="x", text="x", integration=integration)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements "
                       "WHERE statement LIKE 'INSERT INTO \"delivery_message\"%%'")
        assert cursor.fetchone()[0] == 1


def test_a_suppressed_recipient_stops_the_checking_insert_and_is_recorded(
    django_assert_num_queries,
):
    integration = make_integration()
    send_email(to="warm@example.org", subject="x", text="x", integration=integration)
    Suppression.objects.create(address="bob@example.org", reason="complaint", scope="all")
    # The INSERT finds the entry and adds nothing; the lookup says who; the INSERT stores.
    with django_assert_num_queries(3):
        message = send_email(to=["bob@example.org", "amy@example.org"], subject="x", text="x",
                             integration=integration)
    stored = Message.objects.get(pk=message.pk)
    assert stored.suppressed_recipients == {"bob@example.org": "complaint"}
    assert stored.status == "queued"
    assert Message.objects.count() == 2


def test_a_marketing_only_entry_does_not_stop_transactional_mail(django_assert_num_queries):
    integration = make_integration()
    send_email(to="warm@example.org", subject="x", text="x", integration=integration)
    Suppression.objects.create(address="bob@example.org", reason="unsubscribe",
                               scope="marketing")
    with django_assert_num_queries(1):
        message = send_email(to="bob@example.org", subject="x", text="x",
                             integration=integration)
    assert Message.objects.get(pk=message.pk).suppressed_recipients == {}
