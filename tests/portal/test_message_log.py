"""The message log: filters, search, keyset pages, the CSV export and the bulk retry."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import Message, SendAttempt, Status
from tests.factories import make_integration
from tests.portal.helpers import count_queries, make_message, page_of

pytestmark = pytest.mark.django_db


def subjects_on(html: str) -> list[str]:
    """The subjects of the log's rows, in their order."""
    return re.findall(r'<td><a href="/portal/messages/\d+/">([^<]*)</a></td>', html)


# -- message log -----------------------------------------------------------------------------

def test_the_log_filters_by_status_kind_integration_and_date(staff):
    first, second = make_integration(name="First"), make_integration(name="Second")
    make_message(first, subject="sent-transactional")
    make_message(first, status=Status.FAILED, subject="failed-marketing", kind="marketing")
    old = make_message(second, subject="old-one")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))

    def subjects(query: str) -> set[str]:
        html = page_of(staff, f"/portal/messages/?{query}")
        return {s for s in ("sent-transactional", "failed-marketing", "old-one") if s in html}

    assert subjects("status=failed") == {"failed-marketing"}
    assert subjects("kind=marketing") == {"failed-marketing"}
    assert subjects(f"integration={second.pk}") == {"old-one"}
    week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert subjects(f"date_from={week_ago}") == {"sent-transactional", "failed-marketing"}
    assert subjects(f"date_to={week_ago}") == {"old-one"}


def test_the_log_searches_recipients_and_subjects(staff):
    integration = make_integration()
    make_message(integration, subject="Invoice 42", to=["carol@example.org"])
    make_message(integration, subject="Welcome", to=["dave@example.org", "Erin@Example.org"])
    assert subjects_on(page_of(staff, "/portal/messages/?q=CAROL")) == ["Invoice 42"]
    assert subjects_on(page_of(staff, "/portal/messages/?q=invoice")) == ["Invoice 42"]
    assert subjects_on(page_of(staff, "/portal/messages/?q=erin@example")) == ["Welcome"]
    assert subjects_on(page_of(staff, "/portal/messages/?q=nobody")) == []


def test_the_log_searches_the_from_address_and_the_message_id(staff):
    integration = make_integration()
    billing = make_message(integration, subject="Receipt",
                           from_email="Billing <billing@example.com>")
    make_message(integration, subject="News", from_email="news@example.com")
    custom = make_message(integration, subject="Own id",
                          headers={"Message-ID": "<abc@app.example>"})
    assert subjects_on(page_of(staff, "/portal/messages/?q=billing@")) == ["Receipt"]
    own_id = page_of(staff, f"/portal/messages/{billing.pk}/").split('id="message-id">')[1]
    own_id = own_id.split("</code>")[0].replace("&lt;", "<").replace("&gt;", ">")
    assert own_id.startswith(f"<notifuse-smtp.{billing.pk}.")
    assert subjects_on(page_of(staff, f"/portal/messages/?q={own_id}")) == ["Receipt"]
    assert subjects_on(page_of(staff, f"/portal/messages/?q={own_id.strip('<>')}")) == ["Receipt"]
    assert subjects_on(page_of(staff, "/portal/messages/?q=<abc@app.example>")) == ["Own id"]
    assert custom.pk


def test_the_log_finds_a_recipient_with_non_ascii_characters(staff):
    # SQLite (the ./scripts/run default) keeps them as \\u escapes in the JSON text.
    integration = make_integration()
    make_message(integration, subject="Hallo", to=["jürgen.müller@example.de"])
    make_message(integration, subject="Hello", to=["bob@example.org"])
    assert subjects_on(page_of(staff, "/portal/messages/?q=müller")) == ["Hallo"]


def test_the_log_shows_attempts_and_the_last_error(staff):
    integration = make_integration()
    message = make_message(integration, status=Status.FAILED, last_error="550 5.1.1 unknown")
    for number in (1, 2):
        SendAttempt.objects.create(message=message, integration=integration, number=number,
                                   started_at=timezone.now(), stage="rcpt", smtp_code=550)
    html = page_of(staff, "/portal/messages/")
    assert '<td class="num">2</td>' in html and "550 5.1.1 unknown" in html
    assert '<span class="badge status-failed">Failed</span>' in html


def test_pages_follow_the_keyset_and_keep_the_filters(staff):
    integration = make_integration()
    same_time = timezone.now()
    for n in range(120):
        message = make_message(integration, status=Status.FAILED, subject=f"user {n:03}",
                               to=[f"user{n}@example.org"])
        # Forty share one creation time: the id orders them, no row is lost or repeated.
        if n < 40:
            Message.objects.filter(pk=message.pk).update(created_at=same_time)
    make_message(integration, subject="Invoice 42", to=["carol@example.org"])
    html = page_of(staff, "/portal/messages/?status=failed&q=user")
    seen = subjects_on(html)
    while 'rel="next"' in html:
        older = re.search(r'href="\?q=user&amp;status=failed&amp;before=([\d-]+)" rel="next"', html)
        html = page_of(staff, f"/portal/messages/?q=user&status=failed&before={older[1]}")
        seen += subjects_on(html)
    assert len(seen) == 120 and set(seen) == {f"user {n:03}" for n in range(120)}
    assert 'rel="prev"' in html and 'rel="first"' in html
    newer = re.search(r'href="\?q=user&amp;status=failed&amp;after=([\d-]+)" rel="prev"', html)
    back = subjects_on(page_of(staff, f"/portal/messages/?q=user&status=failed&after={newer[1]}"))
    assert back == seen[50:100]


def test_a_malformed_cursor_shows_the_newest_page(staff):
    make_message(make_integration(), subject="Newest")
    assert subjects_on(page_of(staff, "/portal/messages/?before=garbage")) == ["Newest"]


def test_the_export_streams_the_filtered_log_as_csv(staff):
    integration = make_integration(name="Billing SMTP")
    make_message(integration, status=Status.FAILED, subject="=cmd()",
                 to=["a@example.org", "b@example.org"], last_error="550 5.1.1 unknown")
    make_message(integration, subject="Sent one")
    response = staff.get("/portal/messages/export.csv?status=failed")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    row = rows[0]
    assert row["integration"] == "Billing SMTP" and row["to"] == "a@example.org, b@example.org"
    assert row["subject"] == "'=cmd()"  # a spreadsheet must not run it as a formula
    assert row["status"] == "failed" and row["last_error"] == "550 5.1.1 unknown"
    assert row["failed_at"]


def test_the_export_refuses_invalid_filters_rather_than_export_everything(staff):
    make_message(make_integration())
    response = staff.get("/portal/messages/export.csv?status=bogus")
    assert response.status_code == 302 and "status=bogus" in response["Location"]


def test_an_invalid_filter_is_reported_not_a_500(staff):
    html = page_of(staff, "/portal/messages/?date_from=yesterday&status=bogus")
    assert 'class="field-error"' in html
    assert 'id="retry-failed"' not in html  # a bulk retry would ignore the bad filter


def test_the_log_runs_the_same_queries_for_one_or_fifty_rows(staff):
    integration = make_integration()
    make_message(integration)
    few = count_queries(staff, "/portal/messages/")
    for n in range(49):
        message = make_message(make_integration() if n % 5 == 0 else integration)
        SendAttempt.objects.create(message=message, integration=message.integration,
                                   number=1, started_at=timezone.now(), stage="data")
    assert count_queries(staff, "/portal/messages/") == few


# -- bulk retry ------------------------------------------------------------------------------

def test_bulk_retry_queues_only_the_filtered_failed_messages(staff):
    first, second = make_integration(), make_integration()
    chosen = [make_message(first, status=Status.FAILED) for _ in range(3)]
    other = make_message(second, status=Status.FAILED)
    sent = make_message(first)
    assert staff.get("/portal/messages/retry-failed/").status_code == 405
    asked = staff.post("/portal/messages/retry-failed/",
                       {"integration": first.pk, "status": "sent"})
    assert asked.status_code == 200 and 'id="retry-count">3<' in asked.content.decode()
    assert Message.objects.filter(status=Status.QUEUED).count() == 0  # not before confirming
    response = staff.post("/portal/messages/retry-failed/",
                          {"integration": first.pk, "status": "sent", "confirm": "yes"},
                          follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/messages/?status=sent&integration={first.pk}"
    assert "3 failed message(s) queued again" in response.content.decode()
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert all(statuses[m.pk] == Status.QUEUED for m in chosen)
    assert (statuses[other.pk], statuses[sent.pk]) == (Status.FAILED, Status.SENT)


def test_bulk_retry_with_an_invalid_filter_retries_nothing(staff):
    make_message(make_integration(), status=Status.FAILED)
    response = staff.post("/portal/messages/retry-failed/", {"integration": "999999"},
                          follow=True)
    assert "nothing was retried" in response.content.decode()
    assert Message.objects.get().status == Status.FAILED


def test_the_log_offers_a_bulk_retry_only_when_a_failed_message_matches(staff):
    integration = make_integration()
    make_message(integration, to=["bob@example.org"])
    assert 'id="retry-failed"' not in page_of(staff, "/portal/messages/")
    make_message(integration, status=Status.FAILED, to=["bob@example.org"])
    assert 'id="retry-failed"' not in page_of(staff, "/portal/messages/?status=sent")
    assert 'id="retry-failed"' not in page_of(staff, "/portal/messages/?q=nobody")
    html = page_of(staff, f"/portal/messages/?integration={integration.pk}&q=bob")
    assert 'action="/portal/messages/retry-failed/"' in html
    assert f'<input type="hidden" name="integration" value="{integration.pk}">' in html
    assert '<input type="hidden" name="q" value="bob">' in html

