"""Amazon SES: what its SMTP replies mean (its wording is shared, so only on its own hosts).

Facts come from `shared/reference/smtp-and-oauth-errors.md` §1.3; the wording is ours.
"""

from __future__ import annotations

from integrations.failures.rules import C, T, Rule

HOSTS = (".amazonaws.com",)

RULES: tuple[Rule, ...] = (
    Rule("ses.535-credentials", C, "SES refused the SMTP credentials. They are not the IAM "
         "access keys, and they belong to one region: generate SMTP credentials for this "
         "endpoint's region.", code=535, text="authentication credentials invalid", hosts=HOSTS),
    Rule("ses.554-not-verified", C, "The From address (and in the SES sandbox, every recipient) "
         "must be verified in the same region as the endpoint.", code=554, text="not verified",
         hosts=HOSTS),
    Rule("ses.554-not-authorized", C, "The IAM user behind these SMTP credentials may not call "
         "ses:SendRawEmail.", code=554, text="not authorized to perform", hosts=HOSTS),
    Rule("ses.454-throttling", T, "SES throttled this account (sending rate or daily quota); "
         "the message waits.", code=454, text="throttling failure", hosts=HOSTS),
)
