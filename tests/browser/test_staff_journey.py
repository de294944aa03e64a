"""A staff member's day in a real browser: set up, test, see a failure, fix it, retry."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from delivery.api import encode_attachment, send_email
from delivery.models import Message, Status
from integrations.models import SmtpIntegration
from tests.browser.conftest import log_in
from tests.conftest import wait_until
from tests.support.smtp_servers import SmtpTestServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
INVOICE = b"%PDF-1.4 invoice 42\n"


@pytest.fixture
def smtp_server():
    with SmtpTestServer(credentials={"apikey": "SG.right-key"}) as server:
        yield server


@pytest.fixture
def staff_user():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pass-123")


def create_integration_from_preset(page, server) -> None:
    page.goto("/admin/integrations/smtpintegration/add/")
    page.fill("#id_name", "Company SMTP")
    page.select_option("#id_preset", "sendgrid")
    assert page.input_value("#id_host") == "smtp.sendgrid.net"  # filled by the preset
    assert page.input_value("#id_username") == "apikey"
    page.fill("#id_host", server.host)  # the test stands in for SendGrid
    page.fill("#id_port", str(server.port))
    page.uncheck("#id_use_tls")
    page.check("#id_allow_plaintext_auth")  # the test server is a relay on this machine
    page.fill("#id_password", "SG.right-key")
    page.fill("#id_senders-0-name", "Support")
    page.fill("#id_senders-0-email", "support@example.com")
    page.check("#id_senders-0-is_default")
    page.click("text=Add another Sender")
    page.fill("#id_senders-1-name", "Billing")
    page.fill("#id_senders-1-email", "billing@example.com")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was added successfully")


def run_test(page, to: str = "ops@example.com") -> str:
    """Start a test from the integration's page; wait, polling, for the worker's verdict."""
    page.click("text=Test integration")
    assert page.input_value("#id_to") == "ops@example.com"  # the staff user's address
    page.fill("#id_to", to)
    page.click("input[value='Send test email']")
    page.wait_for_url("**/test/*/")  # the run's own page, which polls for its steps
    page.wait_for_selector("#test-report:not([data-status=running])", timeout=30_000)
    return page.inner_text("#test-outcome")


def test_staff_set_up_test_and_recover_an_integration(
    page, smtp_server, staff_user, start_worker, screenshot, settings
):
    start_worker()  # it runs the tests, and later sends the mail
    log_in(page, "ops", "ops-pass-123")
    create_integration_from_preset(page, smtp_server)
    integration = SmtpIntegration.objects.get()
    assert integration.senders.count() == 2
    change_url = page.url

    assert "All steps succeeded" in run_test(page)
    assert page.locator("tr.step-ok").count() >= 6
    smtp_server.wait_for_messages(1)

    # A wrong password: the AUTH step fails with 535 and says what to do.
    page.goto(change_url)
    page.fill("#id_password", "SG.wrong-key")
    page.click("input[name=_continue]")
    outcome = run_test(page)
    assert "Failed at AUTH" in outcome
    failed_row = page.inner_text("tr.step-failed")
    assert "535" in failed_row and "What to do" in failed_row
    screenshot("test-integration-failed")

    # Mail sent meanwhile is held for the fix until its deadline (a few seconds here: its
    # next try would come after it), then fails and shows in the portal.
    settings.DELIVERY_MAX_AGE = 5
    message = send_email(to="customer@example.org", subject="Your invoice", text="Attached.",
                         attachments=[encode_attachment("invoice.pdf", INVOICE,
                                                        "application/pdf")])
    wait_until(lambda: Message.objects.get(pk=message.pk).status == Status.FAILED, timeout=30)
    assert "deadline" in Message.objects.get(pk=message.pk).last_error
    page.goto("/portal/messages/?status=failed")
    page.click("text=Your invoice")
    assert "535" in page.inner_text("#attempts")

    check_the_message_page(page, message)
    screenshot("portal-message")

    # Fix the password, retry from the portal after confirming: the worker delivers it.
    integration.refresh_from_db()
    page.goto(change_url)
    page.fill("#id_password", "SG.right-key")
    page.click("input[name=_continue]")
    page.goto(f"/portal/messages/{message.pk}/")
    page.click("#retry")
    page.wait_for_selector("#confirm-retry")
    assert Message.objects.get(pk=message.pk).status == Status.FAILED  # asked, not done
    page.click("#confirm-retry")
    page.wait_for_selector("text=Queued again")
    wait_until(lambda: Message.objects.get(pk=message.pk).status == Status.SENT, timeout=30)
    assert any(m.parsed["Subject"] == "Your invoice" for m in smtp_server.messages)
    page.goto("/portal/")
    assert "Company SMTP" in page.inner_text("#integrations")
    screenshot("portal-dashboard")


def check_the_message_page(page, message) -> None:
    """The source as sent, and the attachment downloads as it was queued."""
    page.click("#source summary")
    source = page.inner_text("#source pre")
    assert "Subject: Your invoice" in source and "Message-ID: <notifuse-smtp." in source
    with page.expect_download() as download:
        page.click("#attachments a")
    assert Path(download.value.path()).read_bytes() == INVOICE
    assert download.value.suggested_filename == "invoice.pdf"
    assert page.inner_text("#integration") == "Company SMTP"


def test_held_mail_shows_as_held_until_a_fix_that_logs_in_releases_it(
    page, smtp_server, staff_user, start_worker, screenshot
):
    integration = SmtpIntegration.objects.create(
        name="Company SMTP", host=smtp_server.host, port=smtp_server.port, use_tls=False,
        allow_plaintext_auth=True, auth_type="basic", username="apikey",
        password="SG.wrong-key")
    integration.senders.create(email="support@example.com", name="Support", is_default=True)
    # Held mail is tried again only after minutes: nothing but the fixes below moves it.
    start_worker(DELIVERY_RETRY_BASE_SECONDS="600")
    message = send_email(to="customer@example.org", subject="Your receipt", text="Thanks.")
    wait_until(lambda: Message.objects.held().filter(pk=message.pk).exists(), timeout=30,
               message="the wrong password did not hold the message")
    log_in(page, "ops", "ops-pass-123")
    assert "535" in held_on_its_page(page, message)
    screenshot("portal-message-held")
    page.goto(f"/admin/delivery/message/{message.pk}/change/")
    assert page.inner_text(".field-state .readonly").startswith("Held: auth: 535")
    page.goto("/portal/messages/?status=held")
    assert page.locator("#message-log .status-held").all_inner_texts() == ["Held"]
    assert "Your receipt" in page.inner_text("#message-log")
    page.goto("/portal/")
    assert page.inner_text("#held-count") == "1"
    assert page.inner_text("#oldest-due") != "—"  # held mail waits to leave
    assert "Needs attention" in page.inner_text("[data-integration='Company SMTP']")
    screenshot("portal-dashboard-held")

    # A wrong fix: no authentication. The check before release fails and says why.
    change_url = f"/admin/integrations/smtpintegration/{integration.pk}/change/"
    page.goto(change_url)
    page.select_option("#id_auth_type", "none")
    page.click("input[name=_continue]")
    kept = page.inner_text("ul.messagelist")
    assert "stays held" in kept and "530" in kept and "Release it anyway" in kept
    assert "530" in held_on_its_page(page, message)
    assert Message.objects.held().filter(pk=message.pk).exists()

    # The right fix logs in: the mail is released, delivered, and the mark is gone.
    page.goto(change_url)
    page.select_option("#id_auth_type", "basic")
    page.fill("#id_username", "apikey")
    page.fill("#id_password", "SG.right-key")
    page.click("input[name=_continue]")
    assert "1 queued message(s) of Company SMTP" in page.inner_text("ul.messagelist")
    smtp_server.wait_for_messages(1, timeout=30)
    assert smtp_server.messages[0].parsed["Subject"] == "Your receipt"
    wait_until(lambda: Message.objects.get(pk=message.pk).status == Status.SENT, timeout=30)
    page.goto("/portal/")
    assert page.inner_text("#held-count") == "0"
    row = page.inner_text("[data-integration='Company SMTP']")
    assert "Needs attention" not in row and "OK" in row


def held_on_its_page(page, message) -> str:
    """The message page's held notice, after checking it shows held and not a next try."""
    page.goto(f"/portal/messages/{message.pk}/")
    assert page.inner_text("#message-status") == "Held"
    assert page.locator("#next-attempt").count() == 0
    held = page.inner_text("#held")
    assert held.startswith("Held: ") and " since 20" in held and "What to do" in held
    return held


def test_a_bulk_retry_asks_first_and_is_offered_only_for_failed_mail(
    page, smtp_server, staff_user, start_worker, screenshot
):
    integration = SmtpIntegration.objects.create(
        name="Relay", host=smtp_server.host, port=smtp_server.port, use_tls=False,
        allow_plaintext_auth=True, auth_type="basic", username="apikey", password="SG.right-key")
    integration.senders.create(email="support@example.com", is_default=True)
    log_in(page, "ops", "ops-pass-123")
    page.goto("/portal/messages/")
    assert page.locator("#retry-failed").count() == 0  # nothing failed: nothing to offer
    failed = [send_email(to=f"c{n}@example.org", subject=f"Outage {n}", text="x")
              for n in range(3)]
    Message.objects.filter(pk__in=[m.pk for m in failed]).update(status=Status.FAILED)
    page.goto("/portal/messages/?q=Outage")
    screenshot("portal-messages")
    page.click("#retry-failed button")
    assert page.inner_text("#retry-count") == "3"
    assert Message.objects.failed().count() == 3  # asked, not done
    start_worker()
    page.click("#confirm-retry")
    page.wait_for_selector("text=3 failed message(s) queued again")
    wait_until(lambda: Message.objects.sent().count() == 3, timeout=30)


def test_the_integration_form_shows_what_applies(page, staff_user):
    log_in(page, "ops", "ops-pass-123")
    page.goto("/admin/integrations/smtpintegration/add/")
    google = page.locator("fieldset.only-google")
    assert page.is_visible("#id_password") and not google.is_visible()
    page.select_option("#id_auth_type", "oauth2")
    page.select_option("#id_oauth2_provider", "google")
    assert google.is_visible() and not page.is_visible("#id_password")
    assert not page.locator("fieldset.only-microsoft").is_visible()
    page.select_option("#id_auth_type", "basic")
    page.uncheck("#id_use_tls")
    assert page.is_visible("#tls-warning")
    page.select_option("#id_auth_type", "none")
    assert not page.is_visible("#tls-warning") and not page.is_visible("#id_username")


def test_a_user_without_staff_status_gets_no_portal(page, django_user_model):
    django_user_model.objects.create_user("visitor", "v@example.com", "visitor-pass-1")
    log_in(page, "visitor", "visitor-pass-1")
    page.goto("/portal/")
    assert "/admin/login/" in page.url
    assert page.locator("#integrations").count() == 0
