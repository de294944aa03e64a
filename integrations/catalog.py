"""Known SMTP failures: how to treat them and what staff should check.

Facts come from `shared/reference/smtp-and-oauth-errors.md`; the wording is ours. Rules are
tried in order; the first that matches decides. Provider rows come before generic ones because
several providers use 5xx for conditions that clear with time.
"""

from __future__ import annotations

from dataclasses import dataclass

from .failures.errors import FailureClass

T, P, C = FailureClass.TRANSIENT, FailureClass.PERMANENT, FailureClass.CONFIGURATION
SES_HOSTS = (".amazonaws.com",)

MS_535_CAUSES = (
    "Microsoft 365 refused the login. Likely causes: (1) the app's service principal is not "
    "registered in Exchange Online (New-ServicePrincipal with the Enterprise application's "
    "object id, not the app registration's); (2) the service principal lacks FullAccess on the "
    "mailbox (Add-MailboxPermission); (3) the username is not the mailbox that was granted. "
    "Also check that SMTP AUTH is enabled on the mailbox and that the token was requested for "
    "https://outlook.office365.com/.default. With Basic Auth: Microsoft 365 needs OAuth2."
)


@dataclass(frozen=True)
class Rule:
    failure_class: FailureClass
    hint: str
    code: int | None = None
    enhanced: str = ""
    text: str = ""
    stages: tuple[str, ...] = ()
    # Provider rows whose wording other servers share apply only to that provider's hosts.
    hosts: tuple[str, ...] = ()
    # Rows whose advice depends on how the integration logs in (basic, oauth2).
    auth_types: tuple[str, ...] = ()

    def matches(
        self, stage: str, code: int | None, enhanced: str, text: str, host: str, auth_type: str
    ) -> bool:
        if self.hosts and not host.endswith(self.hosts):
            return False
        if self.auth_types and auth_type not in self.auth_types:
            return False
        if self.code is not None and self.code != code:
            return False
        if self.enhanced and not enhanced.startswith(self.enhanced):
            return False
        if self.text and self.text not in text.lower():
            return False
        return not self.stages or stage in self.stages


RULES: tuple[Rule, ...] = (
    # Microsoft 365 / Exchange Online
    Rule(C, "SMTP AUTH is disabled for this mailbox or the whole tenant. An Exchange admin "
         "enables it (Set-CASMailbox -SmtpClientAuthenticationDisabled $false, or Users > Mail > "
         "Manage email apps > Authenticated SMTP); if Security Defaults are on they block it.",
         code=535, enhanced="5.7.139", text="smtpclientauthentication is disabled"),
    Rule(C, "Entra Security Defaults block SMTP AUTH with a password. Use OAuth2, or have the "
         "admin replace Security Defaults with Conditional Access policies.",
         code=535, enhanced="5.7.139", text="security defaults"),
    Rule(C, "Microsoft 365 no longer accepts passwords here: switch this integration to OAuth2.",
         code=535, enhanced="5.7.139", text="basic authentication is disabled"),
    Rule(C, "Microsoft 365 refused the credentials: use the full email address as username and "
         "the current password, or better, OAuth2.", code=535, enhanced="5.7.139"),
    Rule(C, MS_535_CAUSES, code=535, enhanced="5.7.3"),
    Rule(C, "Microsoft 365 no longer accepts Basic Auth for client submission: switch to OAuth2.",
         code=550, enhanced="5.7.30"),
    Rule(C, "The server got MAIL FROM without a successful login: check that credentials are "
         "configured and that TLS is on (authentication requires it).", enhanced="5.7.57"),
    Rule(C, "The authenticated mailbox may not send as this From address. Send from the "
         "mailbox itself or have the admin grant Send As (Add-RecipientPermission ... SendAs).",
         enhanced="5.7.60"),
    Rule(C, "Exchange refused Send As for this From address (reported after DATA): grant Send "
         "As to the mailbox or send from the mailbox itself.", text="sendasdenied"),
    Rule(T, "Microsoft 365 allows at most 3 concurrent SMTP connections per mailbox; the "
         "message will be retried.", code=432, enhanced="4.3.2"),
    Rule(T, "Microsoft 365 throttles this mailbox (about 30 messages a minute); the message "
         "will be retried after a pause.", code=421, enhanced="4.4.2"),
    Rule(T, "The mailbox passed its 10,000 recipients per rolling 24 hours; the message waits "
         "until the window rolls.", text="submissionquotaexceeded"),
    Rule(C, "The sending mailbox is full (SMTP submissions are saved to Sent Items): empty Sent "
         "Items or add a retention policy.", code=554, enhanced="5.2.2"),
    Rule(C, "Exchange throttles this mailbox after repeated identical errors; fix the cause "
         "named in the text, then wait for Microsoft to lift the block.",
         code=550, enhanced="5.2.25"),
    Rule(C, "The account is blocked from sending (usually after a compromise): an admin must "
         "secure it and release it from restricted users.", enhanced="5.1.8"),
    # Account or tenant blocks: nothing this integration sends gets through until an admin
    # (and usually Microsoft support) lifts them, so mail is held, not failed message by message.
    *(Rule(C, "Microsoft banned this sending account (spam or abuse detected): an admin must "
           "resolve the compromise and reset its credentials, then contact Microsoft support.",
           code=550, enhanced=enhanced) for enhanced in ("5.7.501", "5.7.502", "5.7.503",
                                                         "5.7.511")),
    Rule(C, "Microsoft blocked outbound mail for the whole tenant (unusual volume, or a "
         "subscription renewed after it expired): an admin fixes the cause, then contacts "
         "Microsoft support.", code=550, enhanced="5.7.705"),
    Rule(C, "Microsoft does not accept this tenant's traffic from its IP pool (typical of new "
         "and trial tenants): buy licences or ask Microsoft support for an exception.",
         code=550, enhanced="5.7.708"),
    Rule(C, "Microsoft blocks sending from domains the tenant has not added and verified: add "
         "the sending domain as an accepted domain.", code=550, enhanced="5.7.750"),
    # Gmail / Google Workspace
    Rule(C, "Google refused the OAuth2 access token, and a freshly fetched one too. Check that "
         "the refresh token was granted the scope https://mail.google.com/ and that the "
         "username is the Google account that gave consent; if so, authorise again with the "
         "Gmail helper on this page.",
         code=535, text="username and password not accepted", auth_types=("oauth2",)),
    Rule(C, "Google refused the username and password. Use an app password (16 characters, "
         "no spaces; it needs 2-Step Verification) or OAuth2; the username is the full address.",
         code=535, enhanced="5.7.8", text="username and password not accepted"),
    Rule(C, "Google requires an app password for this account (2-Step Verification is on), or "
         "use OAuth2.", code=534, text="application-specific password"),
    Rule(C, "Google blocked this sign-in until the account owner signs in at accounts.google.com "
         "in a browser and clears the security prompt; OAuth2 avoids this.",
         code=534, text="web browser"),
    Rule(T, "Google is rate-limiting logins for this account or IP; the message will be "
         "retried. Repeated bad credentials cause this.", code=454, text="too many login"),
    Rule(T, "The user's daily sending limit is used up; sending resumes when the rolling 24-hour "
         "window allows.", code=550, enhanced="5.4.5"),
    # Amazon SES
    Rule(C, "SES refused the SMTP credentials. They are not the IAM access keys, and they belong "
         "to one region: generate SMTP credentials for this endpoint's region.",
         code=535, text="authentication credentials invalid", hosts=SES_HOSTS),
    Rule(C, "The From address (and in the SES sandbox, every recipient) must be verified in the "
         "same region as the endpoint.", code=554, text="not verified", hosts=SES_HOSTS),
    Rule(C, "The IAM user behind these SMTP credentials may not call ses:SendRawEmail.",
         code=554, text="not authorized to perform", hosts=SES_HOSTS),
    Rule(T, "SES throttled this account (sending rate or daily quota); the message waits.",
         code=454, text="throttling failure", hosts=SES_HOSTS),
    # SendGrid, Mailgun
    Rule(C, "SendGrid refused the login: the username is the literal 'apikey' and the password "
         "an API key with Mail Send permission.", code=535, text="bad username / password",
         hosts=("sendgrid.net",)),
    Rule(C, "The From address is not a verified sender identity at the provider: verify it or "
         "authenticate the domain.", text="verified sender identity"),
    # Generic RFC replies
    Rule(C, "The server requires TLS: turn on Use TLS (STARTTLS on 587, implicit TLS on 465).",
         code=530, text="starttls"),
    Rule(C, "The server requires authentication: set the auth type and credentials.", code=530),
    Rule(C, "The server refused the credentials: check the username (usually the full address) "
         "and the password or API key.", code=535),
    Rule(C, "The server does not accept this AUTH mechanism: pick one it offers in EHLO.",
         code=504),
    Rule(C, "This AUTH mechanism needs an encrypted connection: turn on Use TLS.", code=538),
    Rule(C, "The server considers this login method too weak for the account.", code=534),
    Rule(P, "The recipient's mailbox does not exist or refuses mail: check the address.",
         enhanced="5.1.1"),
    Rule(P, "The address is not valid for this server (syntax or IDN encoding).", code=553),
    Rule(P, "The message is too large for this server: shrink or drop attachments.",
         code=552, stages=("data", "mail")),
    Rule(T, "The server takes fewer recipients per message (552 at RCPT, which RFC 5321 "
         "says to treat as 452): the remaining recipients are tried again.",
         code=552, stages=("rcpt",)),
    Rule(T, "The server closed the session for now (overload, shutdown or throttling); the "
         "message will be retried.", code=421),
    Rule(T, "Temporary failure at the server: the message will be retried.", code=454),
)


def classify(
    stage: str, code: int | None, enhanced: str, text: str, host: str = "", auth_type: str = ""
) -> tuple[FailureClass, str]:
    """Return how a reply should be treated and the hint for staff."""
    lowered = (text or "").lower()
    host = (host or "").lower().rstrip(".")
    for rule in RULES:
        if rule.matches(stage, code, enhanced, lowered, host, auth_type):
            return rule.failure_class, rule.hint
    return _fallback(stage, code)


def _fallback(stage: str, code: int | None) -> tuple[FailureClass, str]:
    if code is None:
        return T, ""
    if 400 <= code < 500:
        return T, "Temporary refusal by the server; the message will be retried."
    if stage in ("auth", "ehlo", "tls", "connect"):
        return C, "The server refused the session before any mail was sent: check the settings."
    return P, "The server refused this message permanently; read the server's text."
