"""SendGrid: what its SMTP replies mean.

Facts come from `shared/reference/smtp-and-oauth-errors.md` §1.4; the wording is ours.
"""

from __future__ import annotations

from integrations.failures.rules import C, Rule

RULES: tuple[Rule, ...] = (
    Rule("sendgrid.535-apikey", C, "SendGrid refused the login: the username is the literal "
         "'apikey' and the password an API key with Mail Send permission.",
         code=535, text="bad username / password", hosts=("sendgrid.net",)),
    # SendGrid's wording, read on any host: the advice fits every provider that says it.
    Rule("sendgrid.unverified-sender", C, "The From address is not a verified sender identity "
         "at the provider: verify it or authenticate the domain.",
         text="verified sender identity"),
)
