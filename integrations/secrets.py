"""Stored secrets that the current FERNET_KEYS cannot decrypt.

When the key that encrypted a secret is dropped from FERNET_KEYS before `rotate_secrets`
re-encrypted it, reading the row would raise `InvalidToken` wherever an integration is
loaded: a traceback in the admin, in send_email's routing and in every worker. Instead the
field reads as an `UndecryptableSecret`, and each place that needs the secret says what
happened and what to do (the catalog's `local.undecryptable-secret` rule).
"""

from __future__ import annotations

import logging

from cryptography.fernet import InvalidToken
from django.views.decorators.debug import sensitive_variables
from fernet_fields import EncryptedTextField

logger = logging.getLogger(__name__)

class UndecryptableSecret(str):
    """A stored secret no key in FERNET_KEYS decrypts: empty as a value, known to exist."""

    def __new__(cls) -> UndecryptableSecret:
        return super().__new__(cls, "")

    def __repr__(self) -> str:
        return "UndecryptableSecret()"


class SecretTextField(EncryptedTextField):
    """An encrypted text field that reads an undecryptable value as UndecryptableSecret."""

    # The DEBUG page shows the locals of every frame: here and below, the plain secret.
    @sensitive_variables()
    def from_db_value(self, value, expression, connection, *args):
        try:
            return super().from_db_value(value, expression, connection, *args)
        except InvalidToken:
            logger.error("A stored %s.%s cannot be decrypted with FERNET_KEYS",
                         self.model.__name__, self.name)
            return UndecryptableSecret()

    @sensitive_variables()
    def get_db_prep_save(self, value, connection):
        return super().get_db_prep_save(value, connection)


def undecryptable_fields(instance, names) -> list[str]:
    """The names among `names` whose stored value could not be decrypted."""
    return [name for name in names if isinstance(getattr(instance, name), UndecryptableSecret)]
