"""delivery.unsaved builds what Model(**values) builds, without its per-field walk."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.db.models.signals import post_init
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Values each field may be given; a drawn subset of them is given, the rest left to defaults.
GIVEN = {
    "kind": st.sampled_from(["transactional", "marketing"]),
    "status": st.sampled_from(["queued", "sent"]),
    "priority": st.integers(0, 100),
    "integration": st.just(SmtpIntegration(pk=7, name="x")),
    "integration_id": st.just(8),
    "to": st.lists(st.emails(), max_size=3),
    "cc": st.lists(st.emails(), max_size=2),
    "subject": st.text(max_size=30),
    "headers": st.dictionaries(st.sampled_from(["X-A", "X-B"]), st.text(max_size=5)),
    "tracked_urls": st.none() | st.lists(st.text(max_size=5), max_size=2),
    "tracking_key": st.text("0123456789abcdef", min_size=32, max_size=32),
    "attempt_count": st.integers(0, 5),
    "send_at": st.none() | st.datetimes(timezones=st.just(UTC)),
    "id": st.none() | st.integers(1, 10**9),
}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(sorted(GIVEN))).flatmap(
    lambda names: st.fixed_dictionaries({name: GIVEN[name] for name in names})))
def test_any_set_of_given_fields_builds_what_model_init_builds(values):
    if "integration" in values and "integration_id" in values:
        del values["integration_id"]  # Model(**values) would take the later one: ambiguous
    built, reference = unsaved(Message, **values), Message(**values)
    if "tracking_key" not in values:
        built.tracking_key = reference.tracking_key  # a fresh random key each
    assert _state(built) == _state(reference)
