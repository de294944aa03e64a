"""The integration admin: presets, write-only secrets, validation, warnings, health, permissions."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from integrations.failures.catalog import rule
from integrations.models import SmtpIntegration
from integrations.presets import PRESETS, resolve
from senders.models import Sender

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:integrations_smtpintegration_add")
LIST_URL = reverse("admin:integrations_smtpintegration_changelist")
PASSWORD = "pa55-word-secret-1"
CLIENT_SECRET = "client-secret-value-2"
REFRESH_TOKEN = "1//refresh-token-value-3"
SECRETS = (PASSWORD, CLIENT_SECRET, REFRESH_TOKEN)
WARNING = "no longer accepts passwords for most accounts: choose OAuth2"


def form_data(**overrides) -> dict:
    """POST data for the add/change form; a None override leaves the key out (a checkbox off)."""
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


def gmail_data(**overrides) -> dict:
    """The change form of `google_integration()` as the browser posts it: secrets blank."""
    return form_data(**{
        "name": "Gmail", "host": "smtp.gmail.com", "auth_type": "oauth2",
        "oauth2_provider": "google", "username": "me@gmail.example", "client_id": "cid",
        "password": "", **overrides,
    })


def with_senders(data: dict, *senders: tuple[str, str, bool]) -> dict:
    data["senders-TOTAL_FORMS"] = str(len(senders))
    for n, (name, email, default) in enumerate(senders):
        data[f"senders-{n}-name"] = name
        data[f"senders-{n}-email"] = email
        if default:
            data[f"senders-{n}-is_default"] = "on"
    return data


def google_integration(**fields) -> SmtpIntegration:
    """A Gmail integration holding all three secrets (the password is a left-over)."""
    values = {
        "name": "Gmail", "host": "smtp.gmail.com", "auth_type": "oauth2",
        "oauth2_provider": "google", "username": "me@gmail.example", "client_id": "cid",
        "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN, "password": PASSWORD,
    }
    return SmtpIntegration.objects.create(**{**values, **fields})


def change_url(integration) -> str:
    return reverse("admin:integrations_smtpintegration_change", args=[integration.pk])


def form_errors(response) -> dict:
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


# -- creating, with senders ---------------------------------------------------------------

def test_staff_create_a_basic_integration_with_two_senders(admin_client):
    data = with_senders(form_data(), ("Support", "Support@Example.com", True),
                        ("Billing", "billing@example.com", False))
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 302, response.text[:2000]
    integration = SmtpIntegration.objects.get()
    assert (integration.auth_type, integration.username, integration.password) == (
        "basic", "app@example.com", PASSWORD,
    )
    assert sorted(integration.senders.values_list("email", "name", "is_default")) == [
        ("billing@example.com", "Billing", False), ("support@example.com", "Support", True),
    ]


# -- secrets: encrypted, never shown, kept when blank --------------------------------------

def test_secrets_are_encrypted_in_the_table():
    integration = google_integration()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT password, client_secret, refresh_token, username "
            "FROM integrations_smtpintegration WHERE id = %s", [integration.pk],
        )
        stored = cursor.fetchone()
    raw = " ".join(bytes(v).decode() if isinstance(v, memoryview) else str(v) for v in stored)
    assert "me@gmail.example" in raw  # the read itself works: plain fields are plain
    for secret in SECRETS:
        assert secret not in raw
    assert all(stored[:3]), "each secret is stored, encrypted"


def test_the_change_page_never_contains_a_stored_secret(admin_client):
    integration = google_integration()
    html = admin_client.get(change_url(integration)).text
    assert 'name="client_secret"' in html
    for secret in SECRETS:
        assert secret not in html


def test_the_edit_form_says_only_whether_a_secret_is_stored(admin_client):
    integration = google_integration(password="")
    fields = admin_client.get(change_url(integration)).context["adminform"].form.fields
    assert fields["client_secret"].help_text == (
        "A value is stored. Leave blank to keep the stored value."
    )
    assert fields["refresh_token"].help_text.startswith("A value is stored.")
    assert fields["password"].help_text == "Nothing stored."


def test_a_secret_typed_into_a_refused_form_is_not_sent_back(admin_client):
    integration = google_integration()
    data = gmail_data(port="0", client_secret="typed-but-refused-secret")
    response = admin_client.post(change_url(integration), data)
    assert "port" in form_errors(response)
    for secret in (*SECRETS, "typed-but-refused-secret"):
        assert secret not in response.text


def test_saving_with_blank_secrets_keeps_them(admin_client):
    integration = google_integration()
    data = gmail_data(client_secret="", refresh_token="", ehlo_hostname="mail.example.com")
    assert admin_client.post(change_url(integration), data).status_code == 302
    integration.refresh_from_db()
    assert integration.ehlo_hostname == "mail.example.com"
    assert (integration.password, integration.client_secret, integration.refresh_token) == (
        PASSWORD, CLIENT_SECRET, REFRESH_TOKEN,
    )


def test_a_new_secret_replaces_the_stored_one_and_leaves_the_others(admin_client):
    integration = google_integration()
    data = gmail_data(client_secret="a-brand-new-secret", refresh_token="")
    assert admin_client.post(change_url(integration), data).status_code == 302
    integration.refresh_from_db()
    assert integration.client_secret == "a-brand-new-secret"
    assert (integration.password, integration.refresh_token) == (PASSWORD, REFRESH_TOKEN)


def test_the_admin_history_names_a_changed_secret_but_never_its_value(admin_client):
    integration = google_integration()
    data = gmail_data(client_secret="new-secret-in-history?", refresh_token="")
    assert admin_client.post(change_url(integration), data).status_code == 302
    entry = LogEntry.objects.get(object_id=str(integration.pk))
    history = entry.get_change_message() + entry.change_message
    assert "client secret" in history.lower()
    assert "refresh token" not in history.lower()  # left blank: not a change
    for secret in (*SECRETS, "new-secret-in-history?"):
        assert secret not in history
    html = admin_client.get(change_url(integration) + "../history/").text
    assert "new-secret-in-history?" not in html


# -- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"password": ""}, ["password"]),
        ({"username": "", "password": ""}, ["password", "username"]),
        ({"auth_type": "oauth2", "oauth2_provider": "microsoft", "password": ""},
         ["client_id", "client_secret", "tenant_id"]),
        ({"auth_type": "oauth2", "oauth2_provider": "google", "password": "", "username": ""},
         ["client_id", "client_secret", "refresh_token", "username"]),
        ({"auth_type": "oauth2", "oauth2_provider": ""}, ["oauth2_provider"]),
    ],
)
def test_missing_fields_for_the_auth_type_are_named_on_their_fields(
    admin_client, overrides, missing
):
    errors = form_errors(admin_client.post(ADD_URL, form_data(**overrides)))
    assert sorted(errors) == missing
    for name in missing:
        if name != "oauth2_provider":
            label = SmtpIntegration._meta.get_field(name).verbose_name
            assert errors[name] == [f"Required for this authentication type: enter the {label}."]
    assert not SmtpIntegration.objects.exists()


def test_a_microsoft_integration_with_every_field_is_accepted(admin_client):
    data = form_data(auth_type="oauth2", oauth2_provider="microsoft", password="",
                     username="mailbox@contoso.com", tenant_id="t", client_id="c",
                     client_secret="s", host="smtp.office365.com")
    assert admin_client.post(ADD_URL, data).status_code == 302
    assert SmtpIntegration.objects.get().client_secret == "s"


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_out_of_range_is_refused(admin_client, port):
    errors = form_errors(admin_client.post(ADD_URL, form_data(port=port)))
    assert list(errors) == ["port"]


@pytest.mark.parametrize("port", ["1", "65535"])
def test_the_ends_of_the_port_range_are_accepted(admin_client, port):
    assert admin_client.post(ADD_URL, form_data(port=port)).status_code == 302


def test_without_a_preset_an_empty_host_and_port_are_required(admin_client):
    errors = form_errors(admin_client.post(ADD_URL, form_data(host="", port="")))
    assert errors["host"] == ["This field is required."]
    assert errors["port"] == ["This field is required."]


@pytest.mark.parametrize("field", ["host", "ehlo_hostname"])
def test_a_host_name_idna_cannot_encode_is_a_form_error(admin_client, field):
    # Saved, it crashed every connection with a UnicodeError instead of a classified failure.
    errors = form_errors(admin_client.post(ADD_URL, form_data(**{field: "mäil..example.com"})))
    assert list(errors) == [field] and "Not a valid host name" in errors[field][0]


def test_an_internationalised_ehlo_hostname_is_accepted(admin_client):
    response = admin_client.post(ADD_URL, form_data(ehlo_hostname="mäil.example.com"))
    assert response.status_code == 302


# -- presets --------------------------------------------------------------------------------

def test_the_ses_preset_with_a_region_fills_host_port_tls_and_auth_type(admin_client):
    data = form_data(preset="ses", ses_region="eu-west-1", host="", port="25", use_tls=None,
                     auth_type="none")
    assert admin_client.post(ADD_URL, data).status_code == 302
    integration = SmtpIntegration.objects.get()
    assert (integration.host, integration.port, integration.use_tls, integration.auth_type) == (
        "email-smtp.eu-west-1.amazonaws.com", 587, True, "basic",
    )
    assert (integration.rate_limit_per_minute, integration.rate_limit_per_day) == (60, 200)


def test_the_ses_preset_asks_for_the_region_rather_than_guess_it(admin_client):
    errors = form_errors(admin_client.post(ADD_URL, form_data(preset="ses", host="")))
    assert list(errors) == ["ses_region"]
    assert "region your SES SMTP credentials were made in" in errors["ses_region"][0]


def test_the_sendgrid_preset_fills_an_empty_port_and_the_apikey_username(admin_client):
    data = form_data(preset="sendgrid", host="", port="", username="", password="SG.key")
    assert admin_client.post(ADD_URL, data).status_code == 302
    integration = SmtpIntegration.objects.get()
    assert (integration.host, integration.port, integration.username) == (
        "smtp.sendgrid.net", 587, "apikey",
    )


def test_a_preset_keeps_what_was_typed(admin_client):
    data = form_data(preset="mailgun", host="smtp.eu.mailgun.org", port="2525", use_tls=None,
                     allow_plaintext_auth="on", rate_limit_per_minute="100")
    assert admin_client.post(ADD_URL, data).status_code == 302
    integration = SmtpIntegration.objects.get()
    assert (integration.host, integration.port, integration.use_tls) == (
        "smtp.eu.mailgun.org", 2525, False,
    )
    assert integration.rate_limit_per_minute == 100


def test_the_microsoft_preset_brings_oauth2_and_its_published_limits(admin_client):
    data = form_data(preset="microsoft365", host="", auth_type="basic",
                     username="mailbox@contoso.com", password="", tenant_id="t",
                     client_id="c", client_secret="s")
    assert admin_client.post(ADD_URL, data).status_code == 302
    integration = SmtpIntegration.objects.get()
    assert (integration.host, integration.auth_type, integration.oauth2_provider) == (
        "smtp.office365.com", "oauth2", "microsoft",
    )
    assert (integration.rate_limit_per_minute, integration.rate_limit_per_day,
            integration.daily_limit_counts, integration.max_connections) == (
        30, 10000, "recipients", 3,
    )


def test_the_gmail_preset_still_wants_the_google_credentials(admin_client):
    data = form_data(preset="gmail", host="", password="", username="me@gmail.example")
    errors = form_errors(admin_client.post(ADD_URL, data))
    assert sorted(errors) == ["client_id", "client_secret", "refresh_token"]


def test_the_form_hands_the_presets_to_the_script(admin_client):
    response = admin_client.get(ADD_URL)
    assert "integrations/presets.js" in response.text
    attrs = response.context["adminform"].form.fields["preset"].widget.attrs
    presets = json.loads(attrs["data-presets"])
    assert set(presets) == set(PRESETS)
    assert presets["ses"]["host"] == "email-smtp.{region}.amazonaws.com"
    assert presets["sendgrid"]["username"] == "apikey"
    assert "data-presets=" in response.text


def test_resolve_puts_the_region_in_the_ses_host_and_will_not_guess_one():
    assert resolve("ses", "ap-southeast-2")["host"] == "email-smtp.ap-southeast-2.amazonaws.com"
    with pytest.raises(ValueError, match="region"):
        resolve("ses")
    assert resolve("mailgun")["host"] == "smtp.mailgun.org"


# -- C9: Basic Auth on hosts that want OAuth2 -----------------------------------------------

@pytest.mark.parametrize("host", ["smtp.gmail.com", "smtp.office365.com", "SMTP.Gmail.com."])
def test_basic_auth_on_gmail_or_microsoft_saves_with_a_warning(admin_client, host):
    response = admin_client.post(ADD_URL, form_data(host=host), follow=True)
    assert response.redirect_chain, "saved despite the warning"
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert any(level == "warning" and WARNING in text for level, text in shown), shown
    assert WARNING in response.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"host": "smtp.example.com"},
        {"host": "smtp.gmail.com", "auth_type": "oauth2", "oauth2_provider": "google",
         "client_id": "c", "client_secret": "s", "refresh_token": "r", "password": ""},
    ],
)
def test_no_warning_for_other_hosts_or_for_oauth2(admin_client, overrides):
    response = admin_client.post(ADD_URL, form_data(**overrides), follow=True)
    assert response.redirect_chain
    assert WARNING not in response.text


# -- list, health, search, filters ------------------------------------------------------------

def test_the_list_shows_the_needs_attention_reason_and_hint_else_ok(admin_client):
    google_integration(needs_attention_reason="auth: 535 5.7.8 bad credentials",
                       needs_attention_hint=rule("smtp.535").hint)
    SmtpIntegration.objects.create(name="Healthy", host="relay.example.com", auth_type="none",
                                   last_success_at=timezone.now())
    html = admin_client.get(LIST_URL).text
    assert "Needs attention: auth: 535 5.7.8 bad credentials" in html
    assert rule("smtp.535").hint in html
    assert "&#10003; OK" in html or "✓ OK" in html
    for secret in SECRETS:
        assert secret not in html


def test_the_change_page_shows_health_read_only_and_the_add_page_does_not(admin_client):
    integration = google_integration(needs_attention_reason="token: invalid_grant")
    change = admin_client.get(change_url(integration))
    assert "token: invalid_grant" in change.text
    assert "needs_attention_reason" not in change.context["adminform"].form.fields
    assert "Needs attention reason" not in admin_client.get(ADD_URL).text


def test_staff_find_an_integration_by_username_and_filter_by_provider(admin_client):
    google_integration()
    SmtpIntegration.objects.create(name="Relay", host="relay.example.com", auth_type="none")
    found = admin_client.get(LIST_URL, {"q": "me@gmail"}).context["cl"].result_list
    assert [i.name for i in found] == ["Gmail"]
    found = admin_client.get(LIST_URL, {"auth_type__exact": "none"}).context["cl"].result_list
    assert [i.name for i in found] == ["Relay"]
    found = admin_client.get(LIST_URL, {"oauth2_provider__exact": "google"})
    assert [i.name for i in found.context["cl"].result_list] == ["Gmail"]


def test_deactivating_an_integration_keeps_its_senders_and_secrets(admin_client):
    integration = google_integration()
    Sender.objects.create(integration=integration, email="me@gmail.example", is_default=True)
    data = gmail_data(is_active=None, client_secret="", refresh_token="")
    sender = integration.senders.get()
    data.update({"senders-TOTAL_FORMS": "1", "senders-INITIAL_FORMS": "1",
                 "senders-0-id": str(sender.pk), "senders-0-integration": str(integration.pk),
                 "senders-0-email": sender.email, "senders-0-is_default": "on"})
    assert admin_client.post(change_url(integration), data).status_code == 302
    integration.refresh_from_db()
    assert integration.is_active is False
    assert integration.senders.count() == 1 and integration.client_secret == CLIENT_SECRET


# -- permissions --------------------------------------------------------------------------------

def test_a_view_only_staff_user_sees_no_secret_field_and_no_test_button(client, django_user_model):
    integration = google_integration()
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_smtpintegration"))
    client.force_login(viewer)
    html = client.get(change_url(integration)).text
    assert "Gmail" in html
    assert 'type="password"' not in html
    test_url = reverse("admin:integrations_smtpintegration_test", args=[integration.pk])
    gmail_url = reverse("admin:integrations_smtpintegration_gmail", args=[integration.pk])
    assert test_url not in html and gmail_url not in html
    for secret in SECRETS:
        assert secret not in html
    assert client.get(test_url).status_code == 403
    assert client.post(gmail_url, {"pasted": "4/x"}).status_code == 403


# -- the preset script, in a real browser ----------------------------------------------------

@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_choosing_a_preset_fills_the_form_before_saving(in_chromium, django_user_model):
    django_user_model.objects.create_superuser("ops", "ops@example.com", "ops-pass-123")
    in_chromium(choose_presets)


def choose_presets(page) -> None:
    """SES without, then with, a region; then SendGrid; then Microsoft 365."""
    from tests.browser.conftest import log_in

    log_in(page, "ops", "ops-pass-123")
    page.goto(ADD_URL)
    page.select_option("#id_preset", "ses")
    assert page.input_value("#id_host") == ""  # no region guessed
    page.select_option("#id_ses_region", "eu-west-1")
    assert page.input_value("#id_host") == "email-smtp.eu-west-1.amazonaws.com"
    assert page.input_value("#id_rate_limit_per_day") == "200"
    assert "sandbox" in page.inner_text("#preset-note")
    page.select_option("#id_preset", "sendgrid")
    assert page.input_value("#id_host") == "smtp.sendgrid.net"
    assert page.input_value("#id_username") == "apikey"
    assert page.input_value("#id_rate_limit_per_day") == ""
    page.select_option("#id_preset", "microsoft365")
    assert page.input_value("#id_username") == ""  # SendGrid's "apikey" does not linger
    assert (page.input_value("#id_auth_type"), page.input_value("#id_oauth2_provider")) == (
        "oauth2", "microsoft",
    )
    assert page.input_value("#id_rate_limit_per_minute") == "30"
    assert page.input_value("#id_daily_limit_counts") == "recipients"
    assert page.is_checked("#id_use_tls")


def test_saving_a_healthy_integration_leaves_backing_off_mail_to_its_schedule(admin_client):
    # Its mail waits after its own temporary failures (greylisting, throttling): trying it
    # early would only spend an attempt.
    from datetime import timedelta

    from django.utils import timezone

    from delivery.api import send_email
    from delivery.models import Message
    from senders.models import Sender

    integration = google_integration()
    sender = Sender.objects.create(integration=integration, email="me@gmail.example",
                                   is_default=True)
    waiting = send_email(to="bob@example.org", subject="x", text="x", integration=integration)
    later = timezone.now() + timedelta(hours=1)
    Message.objects.filter(pk=waiting.pk).update(next_attempt_at=later)
    data = with_senders(gmail_data(name="Gmail renamed", **{"senders-INITIAL_FORMS": "1",
                                                            "senders-0-id": str(sender.pk)}),
                        ("", "me@gmail.example", True))
    assert admin_client.post(change_url(integration), data).status_code == 302
    waiting.refresh_from_db()
    assert waiting.next_attempt_at == later
