"""Finding an integration the way people name it: the object, its primary key or its name."""

from __future__ import annotations

from .models import SmtpIntegration


def find_integration(value) -> SmtpIntegration:
    """Accept an SmtpIntegration, its primary key or its name.

    A string is a name first, so an integration named "2024" is found by its name; digits
    that name none are a primary key (`--integration 3` on the command line). Raises
    SmtpIntegration.DoesNotExist naming the value when nothing matches.
    """
    if isinstance(value, SmtpIntegration):
        return value
    found = None
    if isinstance(value, str):
        found = SmtpIntegration.objects.filter(name=value).first()
    primary_key = _primary_key(value)
    if found is None and primary_key is not None:
        found = SmtpIntegration.objects.filter(pk=primary_key).first()
    if found is None:
        raise SmtpIntegration.DoesNotExist(f"no integration {value!r}")
    return found


def _primary_key(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else None
