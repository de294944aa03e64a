"""The integration admin: presets, write-only secrets, validation, senders, permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from integrations.models import SmtpIntegration
from senders.models import Sender

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/integrations/smtpintegration/add/"
PASSWORD = "pa55-word-secret-1"
CLIENT_SECRET = "client-secret-value-2"
REFRESH_TOKEN = "1//refresh-token-value-3"


def form_data(**overrides) -> dict:
    data = {
        "name": "Company SMTP", "preset": "", "ses_region": "", "host": "smtp.example.com",
        "port": "587", "use_tls": "on", "ehlo_hostname": "", "auth_type": "basic",
        "username": "app@example.com", "password": PASSWORD, "oauth2_provider": "",
        "client_id": "", "client_secret": "", "tenant_id": "", "refresh_token": "",
        "use_for_transactional": "on", "is_active": "on",
        "rate_limit_per_minute": "", "rate_limit_per_day": "", "max_connections": "",
        "senders-TOTAL_FORMS": "0", "senders-INITIAL_FORMS": "0",
        "senders-MIN_NUM_FORMS": "0", "senders-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def with_senders(data: dict, *senders: tuple[str, str, bool]) -> dict:
    data["senders-TOTAL_FORMS"] = str(len(senders))
    for n, (name, email, default) in enumerate(senders):
        data[f"senders-{n}-name"] = name
        data[f"senders-{n}-email"] = email
        if default:
            data[f"senders-{n}-is_default"] = "on"
    return data


def google_integration() -> SmtpIntegration:
    return SmtpIntegration.objects.create(
        name="Gmail", host="smtp.gmail.com", auth_type="oauth2", oauth2_provider="google",
        username="me@gmail.example", client_id="cid", client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN, password=PASSWORD,
    )


def change_url(integration) -> str:
    return reverse("admin:integrations_smtpintegration_change", args=[integration.pk])


def test_staff_create_an_integration_with_two_senders(admin_client):
    data = with_senders(form_data(), ("Support", "Support@Example.com", True),
                        ("Billing", "billing@example.com", False))
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    integration = SmtpIntegration.objects.get()
    assert integration.password == PASSWORD
    assert sorted(integration.senders.values_list("email", flat=True)) == [
        "billing@example.com", "support@example.com",
    ]


def test_secrets_are_encrypted_in_the_table():
    google_integration()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM integrations_smtpintegration")
        row = " ".join(str(bytes(v) if isinstance(v, memoryview) else v)
                       for v in cursor.fetchone())
    for secret in (PASSWORD, CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in row


def test_the_change_page_never_contains_a_stored_secret(admin_client):
    integration = google_integration()
    html = admin_client.get(change_url(integration)).content.decode()
    assert "A value is stored" in html
    for secret in (PASSWORD, CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in html


def test_saving_with_blank_secrets_keeps_them_and_a_new_value_replaces_one(admin_client):
    integration = google_integration()
    data = form_data(name="Gmail", host="smtp.gmail.com", auth_type="oauth2",
                     oauth2_provider="google", username="me@gmail.example", client_id="cid",
                     password="", client_secret="", refresh_token="")
    assert admin_client.post(change_url(integration), data).status_code == 302
    integration.refresh_from_db()
    assert (integration.password, integration.client_secret, integration.refresh_token) == (
        PASSWORD, CLIENT_SECRET, REFRESH_TOKEN,
    )
    data["client_secret"] = "a-brand-new-secret"
    assert admin_client.post(change_url(integration), data).status_code == 302
    integration.refresh_from_db()
    assert integration.client_secret == "a-brand-new-secret"
    assert integration.refresh_token == REFRESH_TOKEN


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"password": ""}, ["password"]),
        ({"auth_type": "oauth2", "oauth2_provider": "microsoft", "password": ""},
         ["tenant_id", "client_id", "client_secret"]),
        ({"auth_type": "oauth2", "oauth2_provider": "google", "password": "", "username": ""},
         ["username", "client_id", "client_secret", "refresh_token"]),
        ({"auth_type": "oauth2", "oauth2_provider": ""}, ["oauth2_provider"]),
    ],
)
def test_missing_fields_for_the_auth_type_are_named(admin_client, overrides, missing):
    response = admin_client.post(ADD_URL, form_data(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert sorted(errors) == sorted(missing)
    assert not SmtpIntegration.objects.exists()


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_out_of_range_is_refused(admin_client, port):
    response = admin_client.post(ADD_URL, form_data(port=port))
    assert "port" in response.context["adminform"].form.errors


def test_a_preset_fills_host_port_tls_and_auth_type(admin_client):
    data = form_data(preset="ses", ses_region="eu-west-1", host="", port="25", use_tls=None,
                     auth_type="none")
    assert admin_client.post(ADD_URL, data).status_code == 302
    integration = SmtpIntegration.objects.get()
    assert (integration.host, integration.port, integration.use_tls, integration.auth_type) == (
        "email-smtp.eu-west-1.amazonaws.com", 587, True, "basic",
    )


def test_the_microsoft_preset_brings_its_published_limits(admin_client):
    data = form_data(preset="microsoft365", host="", auth_type="basic",
                     username="mailbox@contoso.com", password="", tenant_id="t",
                     client_id="c", client_secret="s")
    assert admin_client.post(ADD_URL, data).status_code == 302
    integration = SmtpIntegration.objects.get()
    assert (integration.auth_type, integration.oauth2_provider) == ("oauth2", "microsoft")
    assert (integration.rate_limit_per_minute, integration.max_connections) == (30, 3)


@pytest.mark.parametrize("host", ["smtp.gmail.com", "smtp.office365.com"])
def test_basic_auth_on_gmail_or_microsoft_warns(admin_client, host):
    response = admin_client.post(ADD_URL, form_data(host=host), follow=True)
    text = response.content.decode()
    assert "no longer accepts passwords" in text and "choose OAuth2" in text


def test_a_duplicate_sender_in_one_integration_is_refused_clearly(admin_client):
    data = with_senders(form_data(), ("A", "same@example.com", False),
                        ("B", "SAME@example.com", False))
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "already a sender of this integration" in response.content.decode() or (
        "Please correct the duplicate" in response.content.decode()
    )
    assert not SmtpIntegration.objects.exists()


def test_the_same_sender_may_belong_to_two_integrations(admin_client):
    for name in ("First", "Second"):
        data = with_senders(form_data(name=name), ("A", "shared@example.com", True))
        assert admin_client.post(ADD_URL, data).status_code == 302
    assert Sender.objects.filter(email="shared@example.com").count() == 2


def test_two_default_senders_are_refused_clearly(admin_client):
    data = with_senders(form_data(), ("A", "a@example.com", True), ("B", "b@example.com", True))
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "at most one default sender" in response.content.decode()


def test_a_view_only_staff_user_sees_no_secret_field_and_no_test_button(client, django_user_model):
    integration = google_integration()
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_smtpintegration"))
    client.force_login(viewer)
    html = client.get(change_url(integration)).content.decode()
    assert "Gmail" in html
    assert 'type="password"' not in html
    test_url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    gmail_url = reverse("admin:integrations_smtpintegration_gmail", args=[integration.pk])
    assert test_url not in html and gmail_url not in html
    for secret in (PASSWORD, CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in html
    assert client.get(test_url).status_code == 403
    assert client.post(gmail_url, {"pasted": "4/x"}).status_code == 403


def test_the_admin_history_never_records_secret_values(admin_client):
    from django.contrib.admin.models import LogEntry

    integration = google_integration()
    data = form_data(name="Gmail", host="smtp.gmail.com", auth_type="oauth2",
                     oauth2_provider="google", username="me@gmail.example", client_id="cid",
                     password="", client_secret="new-secret-in-history?", refresh_token="")
    admin_client.post(change_url(integration), data)
    history = " ".join(e.get_change_message() + e.change_message for e in LogEntry.objects.all())
    assert "client secret" in history.lower()
    assert "new-secret-in-history?" not in history and CLIENT_SECRET not in history
