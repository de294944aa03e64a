"""Failures found here before (or instead of) asking the server: this service refuses to send."""

from __future__ import annotations

from .rules import C, P, T, Rule

RULES: tuple[Rule, ...] = (
    Rule("local.sender-removed", C, "Add the address back as a sender of the integration, or "
         "send from one of its senders. The message waits until then.", stage="mail",
         says="{address} is no longer a sender of this integration"),
    Rule("local.no-recipient-left", P, "Check the addresses; Retry tries them again.",
         stage="rcpt", says="Every recipient was refused for good earlier: {refused}"),
    # When the key that encrypted a secret left FERNET_KEYS before `rotate_secrets` ran, the
    # secret would go out empty: nothing is sent instead.
    Rule("local.undecryptable-secret", C, "FERNET_KEYS no longer holds the key this secret was "
         "encrypted with. Put the old key back in FERNET_KEYS (after the new one) and run "
         "`python manage.py rotate_secrets`, or enter the secret again in the admin.",
         says="The stored {fields} cannot be decrypted with the current FERNET_KEYS; nothing "
         "was sent to the server."),
    # A bug, or a service such as Redis failing: retried with backoff up to the attempt limit.
    Rule("local.unexpected", T, "Not a reply from the server: something failed in this service "
         "(see the worker log at this time). The message is retried with backoff; if it keeps "
         "failing, report it with this message's id.", says="Unexpected error: {detail}"),
    Rule("local.unbuildable-message", T, "Not a reply from the server: this service could not "
         "build the message (see the worker log at this time). The message is retried with "
         "backoff; if it keeps failing, report it with this message's id.",
         says="The message could not be built: {detail}"),
    Rule("local.starttls-missing", C, "Use TLS is on but this server/port offers no STARTTLS. "
         "Use the provider's STARTTLS port (usually 587), port 465 for implicit TLS, or turn "
         "Use TLS off only for a trusted local relay.", stage="tls",
         says="The server does not offer STARTTLS; nothing was sent in plain text."),
    # RFC 6531: an address with non-ASCII before the @ may only be sent to a server that
    # offers SMTPUTF8; downgrading it would change the address.
    Rule("local.smtputf8-unsupported", P, "This server does not accept internationalized "
         "addresses (it does not list SMTPUTF8 after EHLO). Use an ASCII address for the "
         "recipient, or send through an integration whose server supports SMTPUTF8.",
         stage="mail", says="The server does not support SMTPUTF8, which {addresses} needs "
         "(non-ASCII before the @); nothing was sent."),
    Rule("local.unsupported-auth", C, "Choose a supported authentication type and provider for "
         "this integration.", stage="auth", says="No credentials support for {method}"),
    Rule("local.token-lock-timeout", T, "The token service is slow; the message will be "
         "retried.", stage="token",
         says="Timed out waiting for another worker's token request"),
    # Test integration: the connection and login were tested, but there is no address to send
    # the test email from.
    Rule("local.no-sender", C, "Add a sender (an address this integration may send from) to "
         "the integration, then test again.", stage="mail",
         says="No From address: the integration has no senders{username_note}"),
)
