"""Checking an integration's settings before held mail is sent with them: log in, send nothing."""

from __future__ import annotations

from django.conf import settings

from .failures.errors import DeliveryError
from .models import SmtpIntegration
from .smtp_client import SmtpSession


def verify_login(
    integration: SmtpIntegration, envelope: tuple[str, str] | None = None
) -> DeliveryError | None:
    """Connect, secure, greet and authenticate with the saved settings, then offer
    `envelope` (MAIL FROM, RCPT TO, RSET: nothing is sent); None when every step passes.

    What a staff member saves to fix an integration (a password, a host, an auth type) is
    checked this way before the mail it held is released: a wrong fix would otherwise turn
    held mail into permanent failures. The envelope catches the fix that logs in by not
    logging in at all: a relay that refuses recipients to an unauthenticated client.
    """
    session = SmtpSession(integration, timeout=settings.DIAGNOSTICS_TIMEOUT)
    try:
        session.open()
        if envelope is not None:
            session.check_envelope(*envelope)
    except DeliveryError as error:
        return error
    finally:
        session.close()
    return None
