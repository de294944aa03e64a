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
    # The server announced its maximum size in EHLO (SIZE, RFC 1870): the message is refused
    # here rather than sent in full only to hear 552 at the end.
    Rule("local.message-too-large", P, "The message is larger than the server accepts (the "
         "SIZE it announces): send smaller or fewer attachments (base64 makes them about a "
         "third larger), or link to large files instead.", stage="mail",
         says="The message is {size} bytes and the server takes at most {limit} bytes (SIZE "
         "in its EHLO); nothing was sent."),
    # Test integration runs in a worker, within a deadline (integrations.diagnostic_runs).
    Rule("local.test-not-started", T, "No worker took the test from the queue in time. Check "
         "that a Celery worker is running (`celery -A notifuse_smtp worker`) and uses the same "
         "broker as this site (CELERY_BROKER_URL), then test again.", stage="worker",
         says="No worker started this test within {seconds:.0f} s; nothing was sent."),
    Rule("local.test-deadline", T, "The test ran out of time: the server, its DNS or the token "
         "service answered slowly, or the worker stopped. The worker log at this time says "
         "which; test again later.", says="The test did not finish within {seconds:.0f} s."),
    # Test integration: the connection and login were tested, but there is no address to send
    # the test email from.
    Rule("local.no-sender", C, "Add a sender (an address this integration may send from) to "
         "the integration, then test again.", stage="mail",
         says="No From address: the integration has no senders{username_note}"),
    # Use TLS off and no explicit permission: the password or token would cross the network
    # in clear text (RFC 4954 §4 asks for TLS before AUTH with a plaintext mechanism).
    Rule("local.plaintext-auth", C, "The session is not encrypted, so AUTH was not sent: turn "
         "Use TLS on (STARTTLS on 587, implicit TLS on 465). Only for a relay on this machine "
         "or a network you trust, tick Allow plaintext AUTH instead.", stage="auth",
         says="No TLS on this connection: the credentials were not sent."),
    Rule("local.invalid-ehlo-hostname", C, "Correct the EHLO hostname of the integration (or "
         "the SMTP host it falls back to): a domain such as mail.example.com, with no spaces "
         "or control characters.", stage="ehlo",
         says="The name for EHLO cannot be sent: {problem}"),
    # A sender's display name stored before the admin refused control characters: the From
    # line would be split (a vertical tab folds a header) or refused.
    Rule("local.control-characters-in-from", P, "Correct the sender's display name in the "
         "admin (control characters are refused there). This message keeps the From it was "
         "queued with: send it again once the sender is fixed.", stage="mail",
         says="The From address contains control characters ({found}); nothing was sent."),
)
