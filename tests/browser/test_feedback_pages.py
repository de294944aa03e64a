"""In a real browser: the dashboard's 7-day chart, a bounced message's report, and the
Suppressions page (search, add, remove)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from delivery import feedback
from delivery.models import FeedbackEvent, Message, Status, Suppression
from tests.browser.conftest import log_in
from tests.delivery.bounce_samples import sample
from tests.factories import make_integration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_user():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pass-123")


def _history() -> Message:
    """A week of mail: sends every few hours, some failures, bounces and a complaint."""
    integration = make_integration(name="Company SMTP", sender="news@example.com")
    now = timezone.now()
    bounced = None
    for n in range(0, 7 * 24, 3):
        when = now - timedelta(hours=n)
        for k in range(1 + (n * 7) % 5):
            message = Message.objects.create(
                integration=integration, from_email="news@example.com",
                to=[f"reader{n}-{k}@example.org"], subject="Weekly news", text="x",
                kind="marketing", status=Status.FAILED if k == 3 else Status.SENT,
                sent_at=when, next_attempt_at=when, deadline=when)
            if k == 2 and n % 9 == 0:
                bounced = message
                address = message.to[0]
                raw = sample("postfix_dsn", recipient=address, sender="news@example.com",
                             message_id=f"<notifuse-smtp.{message.pk}.0@example.com>")
                feedback.record_bounce(message, address, hard=True, enhanced_code="5.1.1",
                                       diagnostic="smtp; 550 5.1.1 User unknown",
                                       report=raw.decode(), digest=f"bench-{message.pk}")
    # As it would have happened: failures when they failed, bounces an hour after the send.
    Message.objects.filter(status=Status.FAILED).update(updated_at=F("sent_at"))
    for event in FeedbackEvent.objects.select_related("message"):
        FeedbackEvent.objects.filter(pk=event.pk).update(
            created_at=event.message.sent_at + timedelta(hours=1))
    feedback.record_complaint(bounced, bounced.to[0], digest="complaint-1")
    return bounced


def test_staff_see_the_chart_a_bounce_and_manage_suppressions(page, staff_user, screenshot):
    bounced = _history()
    log_in(page, "ops", "ops-pass-123")
    page.goto("/portal/")
    chart = page.locator("#hourly-chart svg")
    assert chart.is_visible()
    assert page.locator("#hourly-chart polyline").count() == 4
    assert page.locator("[data-series=bounced] b").inner_text() == str(
        FeedbackEvent.objects.filter(kind="bounce").count())
    assert "%" in page.inner_text("[data-integration='Company SMTP'] .feedback-rates")
    screenshot("portal-dashboard-chart")

    page.goto(f"/portal/messages/{bounced.pk}/")
    page.click("text=The report as received")
    assert "Final-Recipient" in page.inner_text("#feedback")
    screenshot("portal-message-bounce")

    page.goto("/portal/suppressions/")
    page.fill("#suppression-add [name=address]", "Blocked@Example.org")
    page.select_option("#suppression-add [name=scope]", "marketing")
    page.click("#suppression-add button")
    page.wait_for_selector("text=blocked@example.org is suppressed")
    page.fill("#suppression-search [name=q]", "reader")
    page.click("#suppression-search button")
    rows = page.locator("#suppressions tbody tr")
    assert rows.count() == Suppression.objects.filter(address__contains="reader").count() > 0
    page.goto("/portal/suppressions/")
    screenshot("portal-suppressions")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-address='blocked@example.org'] button.remove")
    page.wait_for_selector("text=is no longer suppressed")
    assert not Suppression.objects.filter(address="blocked@example.org").exists()
