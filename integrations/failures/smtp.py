"""Generic SMTP replies (RFC 5321, 4954, 3207 and 3463), read after every provider's rows.

Facts come from `shared/reference/smtp-and-oauth-errors.md` §1.6; the wording is ours.
"""

from __future__ import annotations

from .rules import C, P, T, Rule

# Stages that belong to the session, not to one message: a permanent refusal there is the
# integration's settings, not this message.
SESSION_STAGES = ("auth", "ehlo", "tls", "connect")

RELAY_HINT = (
    "The server will not relay this mail for an unauthenticated client: most servers pass "
    "mail on only after AUTH. Set the auth type and credentials (or ask the relay's admin to "
    "allow this server's address); the message waits until then."
)

RULES: tuple[Rule, ...] = (
    Rule("smtp.530-starttls", C, "The server requires TLS: turn on Use TLS (STARTTLS on 587, "
         "implicit TLS on 465).", code=530, text="starttls"),
    Rule("smtp.530", C, "The server requires authentication: set the auth type and "
         "credentials.", code=530),
    Rule("smtp.535", C, "The server refused the credentials: check the username (usually the "
         "full address) and the password or API key.", code=535),
    Rule("smtp.504", C, "The server does not accept this AUTH mechanism: pick one it offers in "
         "EHLO.", code=504),
    Rule("smtp.538", C, "This AUTH mechanism needs an encrypted connection: turn on Use TLS.",
         code=538),
    Rule("smtp.534", C, "The server considers this login method too weak for the account.",
         code=534),
    # A relay refuses to pass mail on for a client it does not know: the integration is not
    # authenticated (auth type None, or AUTH skipped), not the recipient's fault. Held, not
    # failed, so the mail goes once the login is fixed.
    *(Rule(f"smtp.relay-{n}", C, RELAY_HINT, text=text) for n, text in enumerate((
        "relay access denied", "unable to relay", "relaying denied", "relay not permitted",
        "recipient address rejected: access denied"), start=1)),
    Rule("smtp.5.1.1", P, "The recipient's mailbox does not exist or refuses mail: check the "
         "address.", enhanced="5.1.1"),
    Rule("smtp.553", P, "The address is not valid for this server (syntax or IDN encoding).",
         code=553),
    Rule("smtp.552-size", P, "The message is too large for this server: shrink or drop "
         "attachments.", code=552, at_stages=("data", "mail")),
    Rule("smtp.552-rcpt", T, "The server takes fewer recipients per message (552 at RCPT, "
         "which RFC 5321 says to treat as 452): the remaining recipients are tried again.",
         code=552, at_stages=("rcpt",)),
    Rule("smtp.421", T, "The server closed the session for now (overload, shutdown or "
         "throttling); the message will be retried.", code=421),
    Rule("smtp.454", T, "Temporary failure at the server: the message will be retried.",
         code=454),
)

# When no row reads the reply, its code class decides (see `fallback`).
FALLBACKS: tuple[Rule, ...] = (
    Rule("smtp.no-reply-code", T, "The server's answer carried no reply code; the message will "
         "be retried."),
    Rule("smtp.4xx", T, "Temporary refusal by the server; the message will be retried."),
    Rule("smtp.5xx-session", C, "The server refused the session before any mail was sent: "
         "check the settings."),
    Rule("smtp.5xx", P, "The server refused this message permanently; read the server's text."),
)


def fallback(stage: str, code: int | None) -> str:
    """The id of the rule for a reply no row reads."""
    if code is None:
        return "smtp.no-reply-code"
    if 400 <= code < 500:
        return "smtp.4xx"
    if stage in SESSION_STAGES:
        return "smtp.5xx-session"
    return "smtp.5xx"
