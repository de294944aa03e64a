"""delivery.unsaved builds what Model(**values) builds, without its per-field walk."""

from __future__ import annotations

import pytest
from django.db.models.signals import post_init
from django.utils import timezone

from delivery.models import Message, SendAttempt
from delivery.unsaved import unsaved
from integrations.models import SmtpIntegration


def _state(instance) -> dict:
    values = {k: v for k, v in instance.__dict__.items() if k != "_state"}
    return {**values, "_state": (instance._state.adding, instance._state.db,
                                 dict(instance._state.fields_cache))}


def _message_values() -> dict:
    now = timezone.now()
    return {"kind": "marketing", "integration": SmtpIntegration(pk=7, name="x"),
            "from_email": "app@example.com", "to": ["ada@example.org"], "subject": "Hi",
            "text": "x", "priority": 30, "next_attempt_at": now, "deadline": now}


def test_a_message_is_the_one_model_init_builds():
    values = _message_values()
    built, reference = unsaved(Message, **values), Message(**values)
    assert len(built.tracking_key) == 32 and built.tracking_key != reference.tracking_key
    built.tracking_key = reference.tracking_key
    assert _state(built) == _state(reference)
    assert built.integration_id == 7 and built.pk is None and built._state.adding


def test_default_lists_and_keys_are_fresh_for_each_instance():
    first, second = unsaved(Message, **_message_values()), unsaved(Message, **_message_values())
    first.cc.append("x@example.org")
    assert second.cc == [] and first.tracking_key != second.tracking_key


def test_an_attempt_by_attname_and_by_relation():
    message = Message(pk=3, integration_id=7)
    values = {"message": message, "integration_id": 7, "number": 1,
              "started_at": timezone.now(), "stage": "data", "succeeded": True}
    assert _state(unsaved(SendAttempt, **values)) == _state(SendAttempt(**values))


def test_an_unknown_field_is_refused_as_model_init_refuses_it():
    with pytest.raises(TypeError, match="subjcet"):
        unsaved(Message, subjcet="typo")


def test_a_post_init_receiver_still_sees_each_instance():
    seen = []

    def receiver(sender, instance, **_):
        seen.append(instance)

    post_init.connect(receiver, sender=Message)
    try:
        message = unsaved(Message, **_message_values())
    finally:
        post_init.disconnect(receiver, sender=Message)
    assert seen == [message]
