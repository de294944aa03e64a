"""A secret encrypted with a key that left FERNET_KEYS: clear errors, never a traceback."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from fernet_fields.hkdf import derive_fernet_key

from delivery import engine
from delivery.api import send_email
from delivery.models import SendAttempt, Status
from integrations.models import SmtpIntegration
from integrations.secrets import UndecryptableSecret
from tests.factories import make_integration
from tests.integrations.test_admin_integration_form import change_url, form_data, form_errors
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db

OLD_KEY = "a-key-that-was-removed-from-FERNET_KEYS"


def encrypt_with_an_old_key(integration: SmtpIntegration, field: str, secret: str) -> None:
    """Store `secret` as a deployment would have before its key was dropped."""
    token = Fernet(derive_fernet_key(OLD_KEY)).encrypt(secret.encode())
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE integrations_smtpintegration SET {field} = %s WHERE id = %s",
                       [token, integration.pk])


def test_the_integration_loads_and_says_its_secret_is_unreadable():
    integration = make_integration(auth_type="basic", username="app", password="s3cret")
    encrypt_with_an_old_key(integration, "password", "s3cret")
    loaded = SmtpIntegration.objects.get(pk=integration.pk)
    assert isinstance(loaded.password, UndecryptableSecret) and loaded.password == ""


def test_mail_waits_and_the_attempt_says_fernet_keys_not_535():
    with SmtpTestServer(credentials={"app": "s3cret"}) as server:
        integration = make_integration(server)
        encrypt_with_an_old_key(integration, "password", "s3cret")
        message = send_email(to="bob@example.org", subject="Hi", text="x",
                             integration=integration)
        engine.drain(integration.pk)
        attempt = SendAttempt.objects.get(message=message)
        assert (attempt.stage, attempt.failure_class, attempt.smtp_code) == (
            "auth", "configuration", None)
        assert "FERNET_KEYS" in attempt.error and "rotate_secrets" in attempt.hint
        assert server.auth_attempts == []  # no empty password was tried
        message.refresh_from_db()
        integration.refresh_from_db()
        assert message.status == Status.QUEUED and integration.needs_attention


def test_the_admin_asks_for_the_secret_again_instead_of_storing_it_empty(admin_client):
    integration = make_integration(auth_type="basic", username="app", password="s3cret",
                                   host="smtp.example.com", port=587)
    encrypt_with_an_old_key(integration, "password", "s3cret")
    page = admin_client.get(change_url(integration))
    assert page.status_code == 200 and "cannot be decrypted" in page.text
    data = form_data(name=integration.name, username="app", password="")
    errors = form_errors(admin_client.post(change_url(integration), data))
    assert "cannot be decrypted" in str(errors["password"])
    data = form_data(name=integration.name, username="app", password="n3w-secret")
    assert admin_client.post(change_url(integration), data).status_code == 302
    assert SmtpIntegration.objects.get(pk=integration.pk).password == "n3w-secret"


def test_rotate_secrets_changes_nothing_and_names_the_integration():
    readable = make_integration(name="Readable", auth_type="basic", username="a",
                                password="fine")
    broken = make_integration(name="Broken", auth_type="basic", username="b", password="x")
    encrypt_with_an_old_key(broken, "password", "x")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM integrations_smtpintegration WHERE id = %s",
                       [readable.pk])
        before = bytes(cursor.fetchone()[0])
    with pytest.raises(CommandError, match=r"Broken \(password\).*Nothing was changed"):
        call_command("rotate_secrets", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM integrations_smtpintegration WHERE id = %s",
                       [readable.pk])
        assert bytes(cursor.fetchone()[0]) == before
