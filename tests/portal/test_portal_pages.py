"""The staff portal: who may see it, what each page shows, and a constant query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.models import Message, SendAttempt, Status
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

PAGES = ["/portal/", "/portal/messages/", "/portal/test/"]


@pytest.fixture
def staff(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw",
                                                 is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_smtpintegration"))
    client.force_login(user)
    return client


def make_message(integration, status=Status.SENT, **fields) -> Message:
    now = timezone.now()
    values = {"integration": integration, "from_email": "app@example.com",
              "to": ["bob@example.org"], "subject": "Hello", "text": "Hi", "status": status,
              "next_attempt_at": now, "deadline": now + timedelta(days=1), **fields}
    return Message.objects.create(**values)


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_and_non_staff_users_are_sent_to_login(client, django_user_model, url):
    assert "/admin/login/" in client.get(url)["Location"]
    client.force_login(django_user_model.objects.create_user("user", "u@example.com", "pw"))
    assert "/admin/login/" in client.get(url)["Location"]


def test_the_dashboard_shows_counts_rates_and_the_attention_reason(staff):
    broken = make_integration(name="Broken", needs_attention_reason="auth: 535 5.7.8 bad",
                              needs_attention_hint="Check the password",
                              needs_attention_since=timezone.now())
    for status in (Status.SENT, Status.SENT, Status.SENT, Status.FAILED):
        make_message(broken, status=status)
    make_message(broken, status=Status.QUEUED)
    html = staff.get("/portal/").content.decode()
    assert "Needs attention" in html and "auth: 535 5.7.8 bad" in html
    assert '<td class="num sent">3</td>' in html and '<td class="num failed">1</td>' in html
    assert "25.0 %" in html


def test_the_dashboard_runs_the_same_queries_for_2_or_20_integrations(staff):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff.get("/portal/").status_code == 200
        return len(captured)

    for n in range(2):
        make_message(make_integration(name=f"a{n}"))
    few = count()
    for n in range(18):
        make_message(make_integration(name=f"b{n}"))
    assert count() == few


def test_the_log_filters_searches_and_keeps_filters_across_pages(staff):
    integration = make_integration()
    for n in range(60):
        make_message(integration, status=Status.FAILED, to=[f"user{n}@example.org"])
    make_message(integration, subject="Invoice 42", to=["carol@example.org"])
    html = staff.get("/portal/messages/?q=carol").content.decode()
    assert "Invoice 42" in html and "1 message(s)" in html
    html = staff.get("/portal/messages/?status=failed").content.decode()
    assert "60 message(s)" in html and "status=failed&amp;page=2" in html
    assert "61 message(s)" in staff.get("/portal/messages/").content.decode()


def test_the_log_runs_the_same_queries_for_one_or_fifty_rows(staff):
    integration = make_integration()

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            staff.get("/portal/messages/")
        return len(captured)

    make_message(integration)
    few = count()
    for _ in range(49):
        make_message(integration)
    assert count() == few


def test_the_message_page_renders_html_safely_and_shows_attempts(staff):
    integration = make_integration()
    message = make_message(integration, status=Status.FAILED,
                           html='<p>Hi</p><script>alert("x")</script>')
    SendAttempt.objects.create(message=message, integration=integration, number=1,
                               started_at=timezone.now(), stage="rcpt", smtp_code=550,
                               enhanced_code="5.1.1", error="No such user",
                               hint="Check the address", failure_class="permanent")
    html = staff.get(f"/portal/messages/{message.pk}/").content.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html and "sandbox" in html
    assert "550 5.1.1" in html and "Check the address" in html


def test_retry_queues_a_failed_message_and_get_is_refused(staff):
    message = make_message(make_integration(), status=Status.FAILED)
    url = f"/portal/messages/{message.pk}/retry/"
    assert staff.get(url).status_code == 405
    staff.post(url)
    message.refresh_from_db()
    assert message.status == Status.QUEUED


def test_the_quota_error_shows_on_the_test_page(staff, monkeypatch):
    from integrations.testing import QuotaExceeded

    def refuse(*args, **kwargs):
        raise QuotaExceeded("You have sent 10 test emails in this hour, the limit.")

    monkeypatch.setattr("delivery.portal.views.run_integration_test", refuse)
    integration = make_integration()
    response = staff.post("/portal/test/", {"integration": integration.pk,
                                            "to": "me@example.org"})
    assert response.status_code == 200
    assert "10 test emails in this hour" in response.content.decode()


def test_no_portal_page_contains_a_stored_secret(staff):
    integration = make_integration(auth_type="basic", username="app",
                                   password="very-secret-password-1", client_secret="cs-22")
    message = make_message(integration)
    for url in [*PAGES, f"/portal/messages/{message.pk}/",
                f"/portal/test/?integration={integration.pk}"]:
        html = staff.get(url).content.decode()
        assert "very-secret-password-1" not in html and "cs-22" not in html


def test_a_staff_user_who_may_only_view_integrations_cannot_send_tests(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw",
                                                   is_staff=True)
    client.force_login(viewer)
    integration = make_integration()
    page = client.get("/portal/test/").content.decode()
    assert "Send test email</button>" not in page
    response = client.post("/portal/test/", {"integration": integration.pk,
                                             "to": "me@example.org"})
    assert "needs permission to change integrations" in response.content.decode()
