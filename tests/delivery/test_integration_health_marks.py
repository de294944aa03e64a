"""Health marks written by the engine: set by a configuration failure, cleared by a success."""

from __future__ import annotations

import pytest

from integrations.health import mark_integration
from integrations.failures.catalog import from_reply
from integrations.failures.rules import Context
from integrations.models import SmtpIntegration
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

AUTH_FAILURE = from_reply("auth", 535, "5.7.8 bad credentials", Context())


def test_a_failure_then_a_success_in_one_drain_leaves_the_integration_clear():
    integration = make_integration()
    mark_integration(integration, AUTH_FAILURE)
    assert SmtpIntegration.objects.get(pk=integration.pk).needs_attention
    mark_integration(integration, None)  # the same in-memory object, as in one drain
    stored = SmtpIntegration.objects.get(pk=integration.pk)
    assert not stored.needs_attention and stored.last_success_at is not None


def test_a_healthy_integration_is_not_rewritten_for_every_batch(django_assert_num_queries):
    integration = make_integration()
    with django_assert_num_queries(1):
        mark_integration(integration, None)
    with django_assert_num_queries(0):
        mark_integration(integration, None)


def test_a_configuration_failure_keeps_its_mark_through_the_later_saves_of_the_drain(settings):
    # Outcomes are saved during the drain: a success saved after the failure cleared the mark.
    from delivery import engine
    from delivery.api import send_email
    from senders.models import Sender
    from tests.factories import make_integration
    from tests.support.smtp_servers import SmtpTestServer

    settings.DELIVERY_RECORD_SECONDS = 0
    with SmtpTestServer() as server:
        integration = make_integration(server)
        Sender.objects.create(integration=integration, email="old@example.com")
        send_email(to=["a@example.org"], subject="x", text="x", integration=integration,
                   from_email="old@example.com")
        for n in range(2):
            send_email(to=[f"b{n}@example.org"], subject="x", text="x", integration=integration)
        Sender.objects.filter(email="old@example.com").delete()  # forgotten at once
        engine.drain(integration.pk)
        assert len(server.messages) == 2
    integration.refresh_from_db()
    assert integration.needs_attention
    assert "no longer a sender" in integration.needs_attention_reason
