"""The health badge: one rule, shown the same in the admin's list and the portal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import SmtpIntegration

pytestmark = pytest.mark.django_db

NOW = timezone.now()
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "untested"),
        ({"last_test_at": NOW, "last_test_ok": True}, "ok"),
        ({"last_success_at": NOW}, "ok"),
        ({"last_test_at": NOW, "last_test_ok": False}, "test_failed"),
        # Tested, failed, fixed, and the queue drained: the send is the newer verdict.
        ({"last_test_at": NOW - HOUR, "last_test_ok": False, "last_success_at": NOW}, "ok"),
        ({"last_test_at": NOW, "last_test_ok": False, "last_success_at": NOW - HOUR},
         "test_failed"),
        ({"needs_attention_reason": "535 5.7.8", "last_success_at": NOW}, "attention"),
        # A provider's throttling pause, while it lasts.
        ({"throttled_until": timezone.now() + HOUR, "last_success_at": NOW}, "throttled"),
        ({"throttled_until": NOW - HOUR, "last_success_at": NOW}, "ok"),
        ({"throttled_until": timezone.now() + HOUR, "needs_attention_reason": "535"},
         "attention"),
    ],
)
def test_health_follows_the_newest_evidence(fields, expected):
    assert SmtpIntegration(name="x", host="h", port=587, **fields).health == expected


def test_admin_list_shows_ok_after_a_success_newer_than_a_failed_test(admin_client):
    SmtpIntegration.objects.create(
        name="fixed-since", host="smtp.example.com", port=587,
        last_test_at=NOW - HOUR, last_test_ok=False, last_success_at=NOW,
    )
    page = admin_client.get("/admin/integrations/smtpintegration/").content.decode()
    assert "OK" in page
    assert "Last test failed" not in page


def test_the_admin_shows_a_throttling_pause_with_its_reason(admin_client):
    integration = SmtpIntegration.objects.create(
        name="throttled", host="smtp.office365.com", port=587, last_success_at=NOW,
        throttled_until=timezone.now() + HOUR,
        throttled_reason="Microsoft 365 limits this mailbox to 30 messages a minute: mail: "
        "421 4.4.2 Message submission rate for this client has exceeded the configured limit",
    )
    listing = admin_client.get("/admin/integrations/smtpintegration/").content.decode()
    assert "Paused until" in listing and "30 messages a minute" in listing
    change = admin_client.get(f"/admin/integrations/smtpintegration/{integration.pk}/change/")
    page = change.content.decode()
    assert "Throttled until" in page and "421 4.4.2 Message submission rate" in page
