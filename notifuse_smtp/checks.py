"""Refuse to run in production with development, placeholder or missing secrets.

The same rules serve `manage.py check` (registered system checks) and every start: gunicorn
loading the WSGI or ASGI application, Celery workers and beat, and management commands
(see manage.py), all of which call `refuse_unsafe_start()`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

# Keys published in this repository: anyone can sign tracking links or decrypt a database
# dump with them. The development defaults live in settings.py.
PLACEHOLDER_KEYS = frozenset({
    "change-me-to-a-long-random-value",  # docker-compose.yml's SECRET_KEY
    "change-me-to-a-long-random-key",  # docker-compose.yml's FERNET_KEYS
})
# A shorter value is a typed word, not a random key (generate_keys prints 43 and 67 characters).
MIN_KEY_LENGTH = 32
GENERATE_HINT = "`python manage.py generate_keys` prints new random keys."


class UnsafeToStart(ImproperlyConfigured):
    """DEBUG is off and a secret is missing or public: the process must not start."""


def refuse_unsafe_start() -> None:
    """Raise UnsafeToStart naming each unsafe variable; do nothing when all is well."""
    errors = production_secret_errors()
    if errors:
        raise UnsafeToStart("DEBUG is off and " + "; ".join(
            f"{error.msg} ({error.id})" for error in errors
        ) + f". {GENERATE_HINT}")


@register(Tags.security, deploy=False)
def check_production_secrets(app_configs, **kwargs) -> list[Error]:
    return production_secret_errors()


def production_secret_errors() -> list[Error]:
    """One error per variable holding a missing, development or placeholder key."""
    if settings.DEBUG:
        return []
    errors = []
    if _unsafe(_secret_key()):
        errors.append(Error(
            "SECRET_KEY is missing, a development or placeholder value, or shorter than "
            f"{MIN_KEY_LENGTH} characters",
            hint=f"Set SECRET_KEY in the environment to a long random value. {GENERATE_HINT}",
            id="notifuse_smtp.E001",
        ))
    keys = [key for key in settings.FERNET_KEYS if key]
    if not keys or any(_unsafe(key) for key in keys):
        errors.append(Error(
            "FERNET_KEYS is missing or holds a development, placeholder or short key",
            hint="Set FERNET_KEYS to one or more long random keys, comma-separated; the first "
            "encrypts, all decrypt. Keep the old key listed until `rotate_secrets` has run.",
            id="notifuse_smtp.E002",
        ))
    if any(_unsafe(key) for key in settings.SECRET_KEY_FALLBACKS):
        errors.append(Error(
            "SECRET_KEY_FALLBACKS holds a development, placeholder or short key: links "
            "signed with it would still be accepted",
            hint="List only the previous SECRET_KEY there, and only while you rotate.",
            id="notifuse_smtp.E003",
        ))
    return errors


def _secret_key() -> str:
    try:
        return settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty one
        return ""


def _unsafe(key: str) -> bool:
    public = {settings.DEV_SECRET_KEY, settings.DEV_FERNET_KEY, *PLACEHOLDER_KEYS}
    return key in public or "change-me" in key.lower() or len(key) < MIN_KEY_LENGTH
