"""Sender rules in the admin: one address once per integration, at most one default."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from integrations.models import SmtpIntegration
from senders.models import Sender

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:integrations_smtpintegration_add")
SENDER_ADD_URL = reverse("admin:senders_sender_add")


def integration_data(name: str = "Relay", *senders: dict) -> dict:
    """POST data for the integration form (a local relay: no credentials) and its senders."""
    data = {
        "name": name, "host": "relay.example.com", "port": "25", "auth_type": "none",
        "use_for_transactional": "on", "is_active": "on",
        "senders-TOTAL_FORMS": str(len(senders)), "senders-INITIAL_FORMS": "0",
        "senders-MIN_NUM_FORMS": "0", "senders-MAX_NUM_FORMS": "1000",
    }
    initial = 0
    for n, sender in enumerate(senders):
        for key, value in sender.items():
            if value is True:
                data[f"senders-{n}-{key}"] = "on"
            elif value not in (False, None):
                data[f"senders-{n}-{key}"] = str(value)
        initial += "id" in sender
    data["senders-INITIAL_FORMS"] = str(initial)
    return data


def row(email: str, *, default: bool = False, name: str = "", **extra) -> dict:
    return {"name": name, "email": email, "is_default": default, **extra}


def existing(sender: Sender, **changes) -> dict:
    """A formset row for a stored sender, with `changes` applied."""
    values = {"id": sender.pk, "integration": sender.integration_id, "name": sender.name,
              "email": sender.email, "is_default": sender.is_default}
    return {**values, **changes}


def relay_with(*senders: tuple[str, bool]) -> SmtpIntegration:
    integration = SmtpIntegration.objects.create(name="Relay", host="relay.example.com",
                                                 port=25, auth_type="none")
    for email, default in senders:
        Sender.objects.create(integration=integration, email=email, is_default=default)
    return integration


def change_url(integration: SmtpIntegration) -> str:
    return reverse("admin:integrations_smtpintegration_change", args=[integration.pk])


def test_it_refuses_the_same_address_twice_in_one_integration_whatever_the_case(admin_client):
    data = integration_data("Relay", row("same@example.com"), row("SAME@Example.COM"))
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "same@example.com is already a sender of this integration" in response.text
    assert not SmtpIntegration.objects.exists()


def test_it_refuses_an_address_already_stored_added_again_in_capitals(admin_client):
    integration = relay_with(("team@example.com", True))
    first = integration.senders.get()
    data = integration_data("Relay", existing(first), row("Team@Example.com"))
    response = admin_client.post(change_url(integration), data)
    assert response.status_code == 200
    assert "team@example.com is already a sender of this integration" in response.text
    assert integration.senders.count() == 1


def test_it_stores_addresses_in_lower_case(admin_client):
    data = integration_data("Relay", row("Mixed.Case@Example.COM", default=True))
    assert admin_client.post(ADD_URL, data).status_code == 302
    assert Sender.objects.get().email == "mixed.case@example.com"


def test_the_same_address_may_belong_to_two_integrations(admin_client):
    for name in ("First", "Second"):
        data = integration_data(name, row("shared@example.com", default=True))
        assert admin_client.post(ADD_URL, data).status_code == 302
    owners = Sender.objects.filter(email="shared@example.com").values_list(
        "integration__name", flat=True)
    assert sorted(owners) == ["First", "Second"]


def test_it_refuses_two_default_senders_with_a_message_not_a_traceback(admin_client):
    data = integration_data("Relay", row("a@example.com", default=True),
                            row("b@example.com", default=True))
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "An integration has at most one default sender." in response.text
    assert not Sender.objects.exists()


def test_it_refuses_a_second_default_added_while_the_first_stays_default(admin_client):
    integration = relay_with(("a@example.com", True))
    data = integration_data("Relay", existing(integration.senders.get()),
                            row("b@example.com", default=True))
    response = admin_client.post(change_url(integration), data)
    assert response.status_code == 200
    assert "An integration has at most one default sender." in response.text
    assert list(integration.senders.values_list("email", flat=True)) == ["a@example.com"]


def test_the_default_moves_to_a_new_sender_in_one_save(admin_client):
    integration = relay_with(("a@example.com", True))
    data = integration_data("Relay", existing(integration.senders.get(), is_default=False),
                            row("b@example.com", default=True))
    response = admin_client.post(change_url(integration), data)
    assert response.status_code == 302, response.text[:3000]
    assert integration.senders.get(is_default=True).email == "b@example.com"


def test_the_default_moves_between_stored_senders_in_one_save(admin_client):
    integration = relay_with(("a@example.com", True), ("b@example.com", False))
    a, b = integration.senders.order_by("email")
    data = integration_data("Relay", existing(a, is_default=False), existing(b, is_default=True))
    response = admin_client.post(change_url(integration), data)
    assert response.status_code == 302, response.text[:3000]
    assert integration.senders.get(is_default=True).email == "b@example.com"


def test_a_removed_address_can_be_added_back_in_the_same_save(admin_client):
    integration = relay_with(("a@example.com", True))
    data = integration_data("Relay", existing(integration.senders.get(), DELETE=True),
                            row("A@example.com", default=True, name="Again"))
    response = admin_client.post(change_url(integration), data)
    assert response.status_code == 302, response.text[:3000]
    assert list(integration.senders.values_list("name", "email")) == [("Again", "a@example.com")]


def test_the_sender_admin_refuses_an_address_the_integration_already_has(admin_client):
    integration = relay_with(("team@example.com", False))
    data = {"integration": integration.pk, "name": "", "email": "TEAM@example.com"}
    response = admin_client.post(SENDER_ADD_URL, data)
    assert response.status_code == 200
    assert "This address is already a sender of this integration." in response.text
    assert integration.senders.count() == 1


def test_the_sender_admin_refuses_a_second_default(admin_client):
    integration = relay_with(("a@example.com", True))
    data = {"integration": integration.pk, "email": "b@example.com", "is_default": "on"}
    response = admin_client.post(SENDER_ADD_URL, data)
    assert response.status_code == 200
    assert "An integration has at most one default sender." in response.text


def test_the_sender_list_finds_which_integration_owns_an_address(admin_client):
    relay_with(("billing@example.com", True))
    other = SmtpIntegration.objects.create(name="Marketing relay", host="mx.example.com",
                                           auth_type="none")
    Sender.objects.create(integration=other, email="news@example.com")
    response = admin_client.get(reverse("admin:senders_sender_changelist"), {"q": "billing@"})
    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert [(s.email, s.integration.name) for s in found] == [("billing@example.com", "Relay")]
    filtered = admin_client.get(reverse("admin:senders_sender_changelist"),
                                {"integration__id__exact": other.pk})
    assert [s.email for s in filtered.context["cl"].result_list] == ["news@example.com"]


def test_a_stored_sender_takes_the_address_of_one_removed_in_the_same_save(admin_client):
    # The rename was saved before the removal: an IntegrityError and a 500.
    integration = relay_with(("a@example.com", True), ("b@example.com", False))
    a, b = integration.senders.order_by("email")
    data = integration_data("Relay", existing(a, email="b@example.com"), existing(b, DELETE=True))
    response = admin_client.post(change_url(integration), data)
    assert response.status_code == 302
    assert list(integration.senders.values_list("pk", "email")) == [(a.pk, "b@example.com")]
    history = LogEntry.objects.get(object_id=str(integration.pk)).get_change_message()
    assert "Deleted sender" in history and "b@example.com" in history


def test_two_stored_senders_trading_addresses_is_a_form_error(admin_client):
    integration = relay_with(("a@example.com", True), ("b@example.com", False))
    a, b = integration.senders.order_by("email")
    data = integration_data("Relay", existing(a, email="b@example.com"),
                            existing(b, email="a@example.com"))
    response = admin_client.post(change_url(integration), data)
    assert response.status_code == 200
    assert "b@example.com is still the address of another sender" in response.text
    assert set(integration.senders.values_list("pk", "email")) == {
        (a.pk, "a@example.com"), (b.pk, "b@example.com")}


# -- display names ----------------------------------------------------------------------------

CRAFTED_NAME = "Support\r\nBcc: victim@example.org"


def test_a_display_name_with_a_line_break_is_a_form_error_on_the_name(admin_client):
    # A text input cannot type one, a crafted POST can: Sender.formatted then raised
    # ValueError wherever the sender was shown or used as From.
    data = integration_data("Relay", row("a@example.com", default=True, name=CRAFTED_NAME))
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert "line break" in str(errors[0]["name"])
    assert not SmtpIntegration.objects.exists()


def test_the_sender_admin_refuses_a_display_name_with_a_line_break(admin_client):
    integration = relay_with()
    response = admin_client.post(SENDER_ADD_URL, {"integration": integration.pk,
                                                  "name": "Sup\nport", "email": "s@example.com"})
    assert response.status_code == 200
    assert "line break" in str(response.context["adminform"].form.errors["name"])
    assert not integration.senders.exists()


def test_a_stored_display_name_with_a_line_break_is_shown_on_one_line(admin_client):
    # Rows written before the check (or from the shell) must not 500 the pages showing them.
    integration = relay_with()
    sender = Sender.objects.create(integration=integration, email="s@example.com",
                                   name=CRAFTED_NAME, is_default=True)
    assert sender.formatted == '"Support Bcc: victim@example.org" <s@example.com>'
    assert admin_client.get(change_url(integration)).status_code == 200
    assert admin_client.get(reverse("admin:senders_sender_changelist")).status_code == 200
