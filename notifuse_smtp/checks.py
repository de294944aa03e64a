"""System checks: refuse to run in production with development secrets."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def check_production_secrets(app_configs, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    if not settings.SECRET_KEY or settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(Error(
            "SECRET_KEY is missing or left at the development default while DEBUG is off.",
            hint="Set SECRET_KEY in the environment to a long random value.",
            id="notifuse_smtp.E001",
        ))
    keys = [key for key in settings.FERNET_KEYS if key]
    if not keys or settings.DEV_FERNET_KEY in keys:
        errors.append(Error(
            "FERNET_KEYS is missing or contains the development default while DEBUG is off.",
            hint="Set FERNET_KEYS to one or more long random keys, comma-separated; the first "
            "encrypts, all decrypt. Keep the old key listed until `rotate_secrets` has run.",
            id="notifuse_smtp.E002",
        ))
    return errors
