"""Where each stored secret is sent, so that a secret kept by a blank field never follows a
change of destination.

The integration form keeps a stored secret when its field is left blank (secrets are
write-only). Without this check, staff who may change an integration but do not know its
password could point the host at a server of theirs, turn TLS off, and have *Test
integration* hand the password (or an OAuth2 access token) to it. A destination is what
decides who receives the secret, or the token made from it: the SMTP host, port, TLS and
plaintext AUTH setting, the auth type, provider and tenant, and the IMAP host and port the
bounce mailbox logs in to.
"""

from __future__ import annotations

from collections.abc import Callable

from .bounce_mailbox import PROVIDER_IMAP_HOSTS
from .models import SECRET_FIELDS, AuthType, OAuth2Provider, SmtpIntegration

# The settings that decide where the secrets go, as the form names them in its error.
DESTINATION_FIELDS = (
    "host",
    "port",
    "use_tls",
    "allow_plaintext_auth",
    "auth_type",
    "oauth2_provider",
    "tenant_id",
    "bounce_imap_host",
    "bounce_imap_port",
    "bounce_imap_username",
)

Values = Callable[[str], object]


def destinations(value: Values) -> dict[str, set[tuple]]:
    """For each secret field, the destinations its value (or a token from it) is sent to."""
    auth_type = value("auth_type")
    provider = value("oauth2_provider") if auth_type == AuthType.OAUTH2 else ""
    own = _own_secrets(auth_type, provider)
    tenant = _text(value("tenant_id")) if provider == OAuth2Provider.MICROSOFT else ""
    smtp = (
        "smtp",
        _text(value("host")).lower(),
        value("port"),
        bool(value("use_tls")),
        bool(value("allow_plaintext_auth")),
        auth_type,
        provider,
        tenant,
    )
    imap_host = _text(value("bounce_imap_host")) or PROVIDER_IMAP_HOSTS.get(
        provider, _text(value("host"))
    )
    imap = ("imap", imap_host.lower(), value("bounce_imap_port"))
    found: dict[str, set[tuple]] = {name: set() for name in SECRET_FIELDS}
    for name in own:
        found[name].add(smtp)
    if _text(value("bounce_imap_username")):
        found["bounce_imap_password"].add(imap)
    else:
        for name in own:  # the bounce mailbox logs in with the integration's own login
            found[name].add(imap)
    return found


def moved_secrets(stored: SmtpIntegration, value: Values) -> list[str]:
    """The secret fields whose stored value would now be sent somewhere it was not."""
    before = destinations(lambda name: getattr(stored, name))
    after = destinations(value)
    return [name for name in SECRET_FIELDS if after[name] - before[name]]


def changed_settings(stored: SmtpIntegration, value: Values) -> list[str]:
    """The destination settings that differ from the stored ones, by their labels."""
    return [
        str(SmtpIntegration._meta.get_field(name).verbose_name)
        for name in DESTINATION_FIELDS
        if _comparable(value(name)) != _comparable(getattr(stored, name))
    ]


def _own_secrets(auth_type: str, provider: str) -> tuple[str, ...]:
    if auth_type == AuthType.BASIC:
        return ("password",)
    if auth_type == AuthType.OAUTH2:
        return ("client_secret", "refresh_token") if provider == "google" else ("client_secret",)
    return ()


def _text(value: object) -> str:
    return str(value or "").strip()


def _comparable(value: object) -> object:
    return _text(value).lower() if isinstance(value, str) or value is None else value
