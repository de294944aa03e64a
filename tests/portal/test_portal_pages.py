"""The staff portal: what each page shows, and a constant query count."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import Message, SendAttempt, Status
from integrations.failures.catalog import rule
from integrations.models import SmtpIntegration
from tests.factories import make_integration
from tests.portal.helpers import PAGES, count_queries, make_message, page_of, staff_with
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


# -- dashboard -------------------------------------------------------------------------------

def row_of(html: str, name: str) -> str:
    start = html.index(f'data-integration="{name}"')
    return html[start:html.index("</tr>", start)]


def test_the_dashboard_shows_counts_rates_and_the_attention_reason(staff):
    broken = make_integration(name="Broken", needs_attention_reason="auth: 535 5.7.8 bad",
                              needs_attention_hint=rule("smtp.535").hint,
                              needs_attention_since=timezone.now())
    for status in (Status.SENT, Status.SENT, Status.SENT, Status.FAILED):
        make_message(broken, status=status)
    make_message(broken, status=Status.QUEUED)
    make_message(broken, status=Status.SENDING)
    row = row_of(page_of(staff, "/portal/"), "Broken")
    assert "Needs attention" in row and "auth: 535 5.7.8 bad" in row
    assert "check the username" in row
    assert '<td class="num sent">3</td>' in row and '<td class="num failed">1</td>' in row
    assert '<td class="num rate">25.0 %</td>' in row
    assert '<td class="num queued">2</td>' in row


def test_the_dashboard_counts_outcomes_of_the_last_24_hours(staff):
    integration = make_integration(name="Windowed")
    long_ago = timezone.now() - timedelta(days=3)
    make_message(integration, sent_at=long_ago)  # sent three days ago: not counted
    old_failure = make_message(integration, status=Status.FAILED)
    Message.objects.filter(pk=old_failure.pk).update(updated_at=long_ago)
    late = make_message(integration)  # queued three days ago, sent just now: counted
    Message.objects.filter(pk=late.pk).update(created_at=long_ago)
    row = row_of(page_of(staff, "/portal/"), "Windowed")
    assert '<td class="num sent">1</td>' in row and '<td class="num failed">0</td>' in row
    assert '<td class="num rate">0.0 %</td>' in row


def test_the_dashboard_shows_the_queue_depth_and_the_oldest_due_message(staff):
    integration = make_integration()
    make_message(integration, status=Status.QUEUED,
                 next_attempt_at=timezone.now() - timedelta(minutes=7, seconds=5))
    make_message(integration, status=Status.QUEUED,
                 next_attempt_at=timezone.now() + timedelta(hours=1))  # not due yet
    make_message(integration, status=Status.SENDING)
    html = page_of(staff, "/portal/")
    assert '<div class="figure" id="queue-depth">3</div>' in html
    assert ">7 min</div>" in html


def test_the_dashboard_lists_active_integrations_first_with_their_health(staff):
    now = timezone.now()
    make_integration(name="a-inactive", is_active=False)
    make_integration(name="b-untested")
    make_integration(name="c-healthy", last_success_at=now)
    make_integration(name="d-test-failed", last_test_at=now, last_test_ok=False,
                     last_success_at=now - timedelta(hours=1))
    make_integration(name="e-fixed-since", last_test_at=now - timedelta(hours=1),
                     last_test_ok=False, last_success_at=now)
    html = page_of(staff, "/portal/")
    order = ["b-untested", "c-healthy", "d-test-failed", "e-fixed-since", "a-inactive"]
    assert sorted(order, key=lambda name: html.index(f'data-integration="{name}"')) == order
    assert "Untested" in row_of(html, "b-untested")
    assert ">OK</span>" in row_of(html, "c-healthy")
    assert "Last test failed" in row_of(html, "d-test-failed")
    assert ">OK</span>" in row_of(html, "e-fixed-since")  # a send succeeded after the test
    assert "inactive" in row_of(html, "a-inactive")


def test_the_dashboard_runs_the_same_queries_for_2_or_20_integrations(staff):
    for n in range(2):
        make_message(make_integration(name=f"a{n}"))
    few = count_queries(staff, "/portal/")
    for n in range(18):
        integration = make_integration(name=f"b{n}", needs_attention_reason="535")
        for status in (Status.SENT, Status.FAILED, Status.QUEUED):
            make_message(integration, status=status)
    assert count_queries(staff, "/portal/") == few


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
    assert "1 message(s)" in page_of(staff, "/portal/messages/?q=CAROL")
    assert "Invoice 42" in page_of(staff, "/portal/messages/?q=invoice")
    html = page_of(staff, "/portal/messages/?q=erin@example")
    assert "Welcome" in html and "1 message(s)" in html
    assert "0 message(s)" in page_of(staff, "/portal/messages/?q=nobody")


def test_the_log_finds_a_recipient_with_non_ascii_characters(staff):
    # SQLite (the ./scripts/run default) keeps them as \\u escapes in the JSON text.
    integration = make_integration()
    make_message(integration, subject="Hallo", to=["jürgen.müller@example.de"])
    make_message(integration, subject="Hello", to=["bob@example.org"])
    html = page_of(staff, "/portal/messages/?q=müller")
    assert "Hallo" in html and "1 message(s)" in html


def test_the_log_shows_attempts_and_the_last_error(staff):
    integration = make_integration()
    message = make_message(integration, status=Status.FAILED, last_error="550 5.1.1 unknown")
    for number in (1, 2):
        SendAttempt.objects.create(message=message, integration=integration, number=number,
                                   started_at=timezone.now(), stage="rcpt", smtp_code=550)
    html = page_of(staff, "/portal/messages/")
    assert '<td class="num">2</td>' in html and "550 5.1.1 unknown" in html
    assert '<span class="badge status-failed">Failed</span>' in html


def test_pagination_keeps_the_filters(staff):
    integration = make_integration()
    for n in range(60):
        make_message(integration, status=Status.FAILED, to=[f"user{n}@example.org"])
    make_message(integration, subject="Invoice 42", to=["carol@example.org"])
    assert "61 message(s)" in page_of(staff, "/portal/messages/")
    html = page_of(staff, "/portal/messages/?status=failed&q=user")
    assert "60 message(s)" in html and "Page 1 of 2" in html
    assert 'href="?q=user&amp;status=failed&amp;page=2"' in html
    html = page_of(staff, "/portal/messages/?q=user&status=failed&page=2")
    assert "Page 2 of 2" in html and 'href="?q=user&amp;status=failed&amp;page=1"' in html


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


# -- message page ----------------------------------------------------------------------------

def test_the_message_page_renders_html_safely_and_shows_attempts(staff):
    integration = make_integration()
    message = make_message(integration, status=Status.FAILED,
                           html='<p>Hi</p><script>alert("x")</script>',
                           text="Plain <b>text</b>")
    SendAttempt.objects.create(message=message, integration=integration, number=1,
                               started_at=timezone.now(), stage="rcpt", smtp_code=550,
                               enhanced_code="5.1.1", error="No such user",
                               hint=rule("smtp.5.1.1").hint, failure_class="permanent")
    html = page_of(staff, f"/portal/messages/{message.pk}/")
    assert "<script>" not in html and "<b>text</b>" not in html
    assert ('<iframe class="body" sandbox srcdoc="&lt;meta http-equiv=&quot;'
            "Content-Security-Policy&quot; content=&quot;default-src &#x27;none&#x27;; "
            "img-src data: cid:; style-src &#x27;unsafe-inline&#x27;; font-src data:&quot;&gt;"
            "&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\"") in html
    assert '<pre class="body">Plain &lt;b&gt;text&lt;/b&gt;</pre>' in html
    assert "550 5.1.1" in html and "No such user" in html
    assert "refuses mail: check the address" in html
    assert "permanent" in html and "RCPT TO" in html
    assert 'id="retry"' in html


def test_the_message_page_loads_nothing_but_its_own_files_and_data_urls(staff):
    # The preview (srcdoc) inherits this policy; tests/browser checks what Chromium loads.
    message = make_message(make_integration(), html='<img src="https://tracker.example/p">')
    response = staff.get(f"/portal/messages/{message.pk}/")
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    for directive in ("default-src 'self'", "img-src 'self' data:",
                      "style-src 'self' 'unsafe-inline'", "font-src 'self' data:"):
        assert directive in policy


def test_the_message_page_shows_headers_and_attachments(staff):
    payload = b"x" * 2048
    message = make_message(
        make_integration(), cc=["cc@example.org"], bcc=["bcc@example.org"],
        reply_to=["reply@example.org"], headers={"X-Campaign": "spring", "items": "odd"},
        attachments=[{"filename": "invoice.pdf", "mimetype": "application/pdf",
                      "content_b64": base64.b64encode(payload).decode()}],
    )
    html = page_of(staff, f"/portal/messages/{message.pk}/")
    for text in ("cc@example.org", "bcc@example.org", "reply@example.org", "X-Campaign",
                 "spring", "<th>items</th><td>odd</td>", "invoice.pdf", "2.0\xa0KB"):
        assert text in html, text
    assert 'id="retry"' not in html  # only failed messages offer a retry


def test_an_unknown_message_answers_404(staff):
    assert staff.get("/portal/messages/999999/").status_code == 404
    assert staff.post("/portal/messages/999999/retry/").status_code == 404


# -- retry -----------------------------------------------------------------------------------

def test_retry_queues_a_failed_message_and_get_is_refused(staff):
    message = make_message(make_integration(), status=Status.FAILED)
    url = f"/portal/messages/{message.pk}/retry/"
    assert staff.get(url).status_code == 405
    message.refresh_from_db()
    assert message.status == Status.FAILED
    response = staff.post(url, follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/messages/{message.pk}/"
    assert "Queued again" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.deadline > timezone.now()


def test_retry_leaves_a_sent_message_alone(staff):
    message = make_message(make_integration())
    response = staff.post(f"/portal/messages/{message.pk}/retry/", follow=True)
    assert "Only failed messages can be retried" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_bulk_retry_queues_only_the_filtered_failed_messages(staff):
    first, second = make_integration(), make_integration()
    chosen = [make_message(first, status=Status.FAILED) for _ in range(3)]
    other = make_message(second, status=Status.FAILED)
    sent = make_message(first)
    assert staff.get("/portal/messages/retry-failed/").status_code == 405
    response = staff.post("/portal/messages/retry-failed/",
                          {"integration": first.pk, "status": "sent"}, follow=True)
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


def test_the_log_offers_a_bulk_retry_that_carries_the_filters(staff):
    integration = make_integration()
    html = page_of(staff, f"/portal/messages/?integration={integration.pk}&q=bob")
    assert 'action="/portal/messages/retry-failed/"' in html
    assert f'<input type="hidden" name="integration" value="{integration.pk}">' in html
    assert '<input type="hidden" name="q" value="bob">' in html


# -- test send -------------------------------------------------------------------------------

def test_the_test_page_preselects_the_integration_and_the_staff_address(staff):
    chosen = make_integration(name="Chosen", sender="billing@example.com")
    make_integration(name="Off", is_active=False)
    html = page_of(staff, f"/portal/test/?integration={chosen.pk}")
    assert f'<option value="{chosen.pk}" selected>Chosen</option>' in html
    assert 'value="staff@example.com"' in html
    assert '<option value="billing@example.com">Chosen</option>' in html  # sender suggestion
    assert ">Off</option>" not in html  # inactive integrations cannot be tested


def test_the_test_page_refuses_a_sender_the_integration_does_not_have(staff):
    integration = make_integration(sender="app@example.com")
    response = staff.post("/portal/test/", {"integration": integration.pk,
                                            "to": "me@example.org",
                                            "sender": "stranger@example.com"})
    assert "stranger@example.com is not a sender of" in response.content.decode()


def test_the_test_page_lists_every_step_and_the_failing_one(staff):
    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server, username="app", password="wrong")
        response = staff.post("/portal/test/", {"integration": integration.pk,
                                                "to": "me@example.org",
                                                "sender": "APP@example.com"})
    html = response.content.decode()
    assert "Failed at AUTH" in html
    for label in ("Resolve host", "TCP connect", "EHLO", "AUTH", "MAIL FROM", "DATA"):
        assert f"<td>{label}</td>" in html
    failed = html[html.index('<tr class="step-failed"'):]
    failed = failed[:failed.index("</tr>")]
    assert "535" in failed and "5.7.8" in failed and "What to do" in failed
    integration.refresh_from_db()
    assert integration.last_test_ok is False


def test_the_quota_error_shows_on_the_test_page(staff, monkeypatch):
    from integrations.diagnostic_runs import QuotaExceeded

    def refuse(*args, **kwargs):
        raise QuotaExceeded("You have sent 10 test emails in this hour, the limit.")

    monkeypatch.setattr("delivery.portal.views.run_integration_test", refuse)
    integration = make_integration()
    response = staff.post("/portal/test/", {"integration": integration.pk,
                                            "to": "me@example.org"})
    assert response.status_code == 200
    assert "10 test emails in this hour" in response.content.decode()


def test_a_staff_user_who_may_only_view_integrations_cannot_send_tests(client, django_user_model):
    client.force_login(staff_with(django_user_model, "view_smtpintegration"))
    integration = make_integration()
    page = page_of(client, "/portal/test/")
    assert "Send test email</button>" not in page
    response = client.post("/portal/test/", {"integration": integration.pk,
                                             "to": "me@example.org"})
    assert "needs permission to change integrations" in response.content.decode()


# -- secrets ---------------------------------------------------------------------------------

def test_no_portal_page_contains_a_stored_secret(staff):
    integration = make_integration(auth_type="basic", username="app",
                                   password="very-secret-password-1", client_secret="cs-22-x",
                                   refresh_token="rt-33-x", needs_attention_reason="535")
    message = make_message(integration, status=Status.FAILED)
    urls = [*PAGES, f"/portal/messages/{message.pk}/", "/portal/messages/?q=bob",
            f"/portal/test/?integration={integration.pk}"]
    for url in urls:
        html = page_of(staff, url)
        for secret in ("very-secret-password-1", "cs-22-x", "rt-33-x"):
            assert secret not in html, (url, secret)
    assert SmtpIntegration.objects.get(pk=integration.pk).password == "very-secret-password-1"
