"""A test run reads at a glance: coloured results, a link to the field to fix, test wording."""

from __future__ import annotations

import pytest

from integrations.diagnostics import Step
from integrations.models import SmtpIntegration
from integrations.templatetags.test_report import fix_link, for_a_test


def failed(name: str) -> Step:
    return Step(name=name, status="failed")


@pytest.mark.parametrize(("step", "auth_type", "provider", "anchor"), [
    ("dns", "basic", "", "#id_host"), ("connect", "basic", "", "#id_port"),
    ("tls", "basic", "", "#id_use_tls"), ("ehlo", "none", "", "#id_ehlo_hostname"),
    ("auth", "basic", "", "#id_password"), ("auth", "oauth2", "microsoft", "#id_username"),
    ("token", "oauth2", "microsoft", "#id_client_secret"),
    ("token", "oauth2", "google", "#id_refresh_token"), ("mail", "basic", "", "#senders-group"),
])
def test_a_failed_step_links_to_the_field_that_fixes_it(step, auth_type, provider, anchor):
    integration = SmtpIntegration(pk=7, auth_type=auth_type, oauth2_provider=provider)
    link = fix_link(failed(step), integration)
    assert link["url"] == f"/admin/integrations/smtpintegration/7/change/{anchor}"


def test_steps_that_passed_or_no_field_fixes_have_no_link():
    integration = SmtpIntegration(pk=7, auth_type="basic")
    assert fix_link(Step(name="auth", status="ok"), integration) is None
    assert fix_link(failed("rcpt"), integration) is None  # the recipient is the test's own
    assert fix_link(failed("auth"), None) is None


def test_a_hint_about_retrying_a_message_is_worded_for_a_test():
    hint = "Temporary failure at the server: the message will be retried."
    worded = for_a_test(hint)
    assert "the message will be retried" not in worded
    assert worded == ("Temporary failure at the server: a real message would be retried; "
                      "this test is not, so run it again later.")
    assert for_a_test("Busy. The message will be retried.").startswith("Busy. A real message")
    assert for_a_test("Check the password.") == "Check the password."
