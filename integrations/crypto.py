"""Encryption with the project's Fernet keys (the same derivation as the encrypted fields)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from fernet_fields.hkdf import derive_fernet_key


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(derive_fernet_key(key)) for key in keys])


def fernet() -> MultiFernet:
    """The first key encrypts; every key decrypts."""
    return _fernet(tuple(settings.FERNET_KEYS))


@sensitive_variables()
def encrypt(value: str) -> bytes:
    return fernet().encrypt(value.encode())


@sensitive_variables()
def decrypt(token: bytes) -> str:
    return fernet().decrypt(token).decode()
