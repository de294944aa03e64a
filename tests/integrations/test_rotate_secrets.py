"""Key rotation: a new first key, `rotate_secrets`, and rows readable only with the new key."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import connection
from fernet_fields.hkdf import derive_fernet_key

from delivery.api import send_email
from integrations.models import SECRET_FIELDS, SmtpIntegration
from tests.conftest import ROOT, worker_database_url
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

OLD_KEY, NEW_KEY = "old-key-for-rotation-0123456789", "new-key-for-rotation-9876543210"


def raw_secrets() -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, client_secret FROM integrations_smtpintegration")
        return [bytes(v) for row in cursor.fetchall() for v in row]


def fernet(key: str) -> Fernet:
    return Fernet(derive_fernet_key(key))


def manage(*args, keys: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "FERNET_KEYS": keys}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)


def forget_field_keys() -> None:
    """The encrypted fields cache their keys on first use; make them read the setting again."""
    for name in SECRET_FIELDS:
        for cached in ("keys", "fernet_keys", "fernet"):
            SmtpIntegration._meta.get_field(name).__dict__.pop(cached, None)


@pytest.fixture
def old_key(settings):
    settings.FERNET_KEYS = [OLD_KEY]
    forget_field_keys()
    yield
    forget_field_keys()


@pytest.mark.django_db(transaction=True)
def test_rotation_re_encrypts_every_secret_with_the_new_key(old_key, start_worker):
    with SmtpTestServer(credentials={"app": "the-password"}) as server:
        integration = make_integration(server, username="app", password="the-password",
                                       client_secret="a-client-secret")
        assert all(fernet(OLD_KEY).decrypt(value) for value in raw_secrets())
        result = manage("rotate_secrets", keys=f"{NEW_KEY},{OLD_KEY}")
        assert "Re-encrypted the secrets of 1 integration(s)" in result.stdout
        for value in raw_secrets():
            assert fernet(NEW_KEY).decrypt(value)
            with pytest.raises(InvalidToken):
                fernet(OLD_KEY).decrypt(value)
        assert MultiFernet([fernet(NEW_KEY)]).decrypt(raw_secrets()[0]) == b"the-password"
        # Every integration still sends, with only the new key configured.
        start_worker(FERNET_KEYS=NEW_KEY)
        send_email(to="bob@example.org", subject="after rotation", text="x",
                   integration=integration)
        server.wait_for_messages(1)
