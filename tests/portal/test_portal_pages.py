"""The staff portal: what each page shows, and a constant query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import Message, Status
from integrations.failures.catalog import rule
from integrations.models import IntegrationTest, SmtpIntegration
from tests.factories import make_integration
from tests.portal.helpers import PAGES, count_queries, make_message, page_of, staff_with
from tests.support.queued_runs import carry_out_queued, post_and_read_result, progress
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
    make_message(integration, status=Status.FAILED, failed_at=long_ago)
    late = make_message(integration)  # queued three days ago, sent just now: counted
    Message.objects.filter(pk=late.pk).update(created_at=long_ago)
    row = row_of(page_of(staff, "/portal/"), "Windowed")
    assert '<td class="num sent">1</td>' in row and '<td class="num failed">0</td>' in row
    assert '<td class="num rate">0.0 %</td>' in row


def test_the_dashboard_still_counts_failures_that_staff_retried_since(staff):
    from delivery.lifecycle.transitions import staff_retry

    integration = make_integration(name="Outage")
    for _ in range(3):
        make_message(integration, status=Status.FAILED)
    staff_retry(Message.objects.all())
    assert Message.objects.failed().count() == 0
    row = row_of(page_of(staff, "/portal/"), "Outage")
    assert '<td class="num failed">3</td>' in row and '<td class="num queued">3</td>' in row


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


# -- message page ----------------------------------------------------------------------------

# -- retry -----------------------------------------------------------------------------------

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
        html = post_and_read_result(staff, "/portal/test/", {"integration": integration.pk,
                                                             "to": "me@example.org",
                                                             "sender": "APP@example.com"})
    assert "Failed at AUTH" in html
    for label in ("Resolve host", "TCP connect", "EHLO", "AUTH", "MAIL FROM", "DATA"):
        assert f"<td>{label}</td>" in html
    failed = html[html.index('<tr class="step-failed"'):]
    failed = failed[:failed.index("</tr>")]
    assert "535" in failed and "5.7.8" in failed and "What to do" in failed
    assert 'value="me@example.org"' in html and 'value="app@example.com"' in html  # again?
    integration.refresh_from_db()
    assert integration.last_test_ok is False


def test_the_test_page_answers_before_any_step_and_its_run_page_polls_for_them(staff):
    with SmtpTestServer(credentials={"app": "right"}) as server:
        integration = make_integration(server, username="app", password="right")
        response = staff.post("/portal/test/", {"integration": integration.pk,
                                                "to": "me@example.org"})
        run = IntegrationTest.objects.get()
        assert response["Location"] == f"/portal/test/{run.pk}/" and server.connections == 0
        html = page_of(staff, response["Location"])
        progress_url = f"/portal/test/{run.pk}/progress/"
        assert f'data-progress-url="{progress_url}"' in html
        assert "integrations/test_progress.js" in html
        running = progress(staff, progress_url)
        assert running["status"] == "running" and running["steps"][0] == {
            "name": "worker", "status": "pending"}
        carry_out_queued()  # what a worker does
        done = progress(staff, progress_url)
    assert done["status"] == "ok" and "All steps succeeded" in done["html"]
    assert "data-progress-url" not in page_of(staff, response["Location"])


def test_only_staff_who_may_test_see_a_test_run(staff, django_user_model):
    from django.test import Client

    integration = make_integration()
    staff.post("/portal/test/", {"integration": integration.pk, "to": "me@example.org"})
    run = IntegrationTest.objects.get()
    assert staff.get(f"/portal/test/{run.pk}/").status_code == 200
    assert staff.get(f"/portal/test/{run.pk + 1}/").status_code == 404
    viewer = Client()
    viewer.force_login(staff_with(django_user_model, "view_smtpintegration"))
    for url in (f"/portal/test/{run.pk}/", f"/portal/test/{run.pk}/progress/"):
        response = viewer.get(url)
        assert response.status_code == 403 and b"me@example.org" not in response.content, url


def test_the_quota_error_shows_on_the_test_page(staff, monkeypatch):
    from integrations.diagnostic_runs import QuotaExceeded

    def refuse(*args, **kwargs):
        raise QuotaExceeded("You have sent 10 test emails in this hour, the limit.")

    monkeypatch.setattr("delivery.portal.test_send.start_integration_test", refuse)
    integration = make_integration()
    response = staff.post("/portal/test/", {"integration": integration.pk,
                                            "to": "me@example.org"})
    assert response.status_code == 200
    assert "10 test emails in this hour" in response.content.decode()
    assert not IntegrationTest.objects.exists()


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
