"""A test run's page in a real browser: steps appear as the worker takes them, with or
without JavaScript."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import log_in
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held_server():
    with SmtpTestServer(credentials={"app": "right"}, hold_data_from=1) as server:
        yield server


def start_test(page, integration) -> None:
    page.goto(f"/admin/integrations/smtpintegration/{integration.pk}/test/")
    page.fill("#id_to", "me@example.org")
    page.click("input[value='Send test email']")
    page.wait_for_url("**/test/*/")


def test_the_page_shows_each_step_as_it_completes_without_reloading(
    page, held_server, start_worker
):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pass-123")
    integration = make_integration(held_server)
    start_worker()
    log_in(page, "ops", "ops-pass-123")
    start_test(page, integration)
    page.evaluate("window.sameDocument = true")  # gone if the page reloaded
    # The server holds its reply to the data: the steps before it show while the run runs.
    page.wait_for_selector(
        "#test-report[data-status=running] tr[data-step=rcpt].step-ok", timeout=30_000
    )
    assert page.inner_text("tr[data-step=data] .step-result") == "waiting"
    held_server.release_held()
    page.wait_for_selector("#test-report[data-status=ok]", timeout=30_000)
    assert "All steps succeeded" in page.inner_text("#test-outcome")
    assert page.evaluate("window.sameDocument === true")


def test_without_javascript_the_page_reloads_until_the_verdict(
    browser, live_server, held_server, start_worker
):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pass-123")
    integration = make_integration(held_server)
    start_worker()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, "ops", "ops-pass-123")
        start_test(page, integration)
        assert page.locator("#test-report[data-status=running]").count() == 1
        held_server.wait_until(lambda: held_server.held == 1, timeout=30)
        held_server.release_held()
        page.wait_for_selector("#test-report[data-status=ok]", timeout=30_000)  # reloaded
        assert "All steps succeeded" in page.inner_text("#test-outcome")
    finally:
        context.close()
