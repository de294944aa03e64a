"""Health marks written by the engine: set by a configuration failure, cleared by a success."""

from __future__ import annotations

import pytest

from delivery.outcomes import mark_integration
from integrations.errors import DeliveryError, FailureClass
from integrations.models import SmtpIntegration
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

AUTH_FAILURE = DeliveryError(stage="auth", failure_class=FailureClass.CONFIGURATION,
                             text="535 5.7.8 bad credentials", smtp_code=535,
                             hint="Check the password.")


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
