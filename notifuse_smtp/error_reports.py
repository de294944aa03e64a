"""Django's error reports (the DEBUG page, the mail to ADMINS) without the secrets we mark,
nor the passwords inside URLs (REDIS_URL, CELERY_BROKER_URL, DATABASE_URL, ...)."""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ — the password is what goes; the user and host help debugging.
# The scheme is bounded (registered schemes are short): unbounded, every position of a long
# "a.a.a.…" scanned to its end, quadratic in the text.
URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://[^\s:/@]*:)[^\s@/]+@")


def hide_url_passwords(text: str) -> str:
    return URL_PASSWORD.sub(rf"\1{SafeExceptionReporterFilter.cleansed_substitute}@", text)


class MarkedSecretsAlwaysHidden(SafeExceptionReporterFilter):
    """Hide what sensitive_post_parameters and sensitive_variables mark, with DEBUG on too,
    and the password of every URL in settings, request.META and local variables.

    Django's filter only acts when DEBUG is off, and hides settings by name only (REDIS_URL
    does not look like a secret). Here DEBUG is on in development (./scripts/run), and what
    is marked is the password, client secret, refresh token or Gmail code of a real mailbox,
    which a crash would print on the DEBUG page.
    """

    def is_active(self, request) -> bool:
        return True

    def cleanse_setting(self, key, value) -> Any:
        # Django recurses into dicts, lists and tuples through this method: strings at any
        # depth come here.
        cleansed = super().cleanse_setting(key, value)
        return hide_url_passwords(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request, tb_frame) -> list[tuple[str, Any]]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleanse_setting("", value)) for name, value in variables]
