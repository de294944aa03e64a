"""Microsoft 365 / Exchange Online: what its SMTP replies and Entra's token errors mean.

Facts come from `shared/reference/smtp-and-oauth-errors.md` §1.1 and §2.1; the wording is ours.
Token rules are found by id: `microsoft.token.AADSTS<code>`, then `microsoft.token.<error>`
(the ids this service names itself have a hyphen, which OAuth2 error codes never have).
"""

from __future__ import annotations

from integrations.failures.rules import C, T, Rule

LOGIN_CAUSES = (
    "Microsoft 365 refused the login. Likely causes: (1) the app's service principal is not "
    "registered in Exchange Online (New-ServicePrincipal with the Enterprise application's "
    "object id, not the app registration's); (2) the service principal lacks FullAccess on the "
    "mailbox (Add-MailboxPermission); (3) the username is not the mailbox that was granted. "
    "Also check that SMTP AUTH is enabled on the mailbox and that the token was requested for "
    "https://outlook.office365.com/.default. With Basic Auth: Microsoft 365 needs OAuth2."
)
# Also shown in the admin beside the Microsoft 365 fields.
SETUP_CHECKLIST = (
    "Microsoft 365 setup checklist: SMTP.SendAsApp application permission with admin consent; "
    "the service principal registered in Exchange (New-ServicePrincipal with the Enterprise "
    "application's object id); FullAccess on the mailbox (Add-MailboxPermission); SMTP AUTH "
    "enabled on the mailbox; Security Defaults not blocking SMTP AUTH."
)
BANNED = (
    "Microsoft banned this sending account (spam or abuse detected): an admin must resolve the "
    "compromise and reset its credentials, then contact Microsoft support."
)
WRONG_SECRET = (
    "The client secret is wrong: paste the secret's Value (not its Secret ID) from Certificates "
    "& secrets, or create a new secret."
)
UNKNOWN_CLIENT = (
    "No application with this Client ID exists in this tenant: check the Client ID and Tenant "
    "ID; for an app registered in another tenant, the tenant's admin must consent to it."
)
UNKNOWN_TENANT = (
    "Tenant not found: use the Directory (tenant) ID GUID or a verified domain of the tenant, "
    "and the right cloud."
)
BAD_SCOPE = (
    "The scope is invalid: client-credentials tokens for SMTP need exactly "
    "https://outlook.office365.com/.default."
)
RETRY_LATER = "Microsoft asked to retry later."

SMTP_RULES: tuple[Rule, ...] = (
    Rule("microsoft.535-5.7.139-smtp-auth-disabled", C, "SMTP AUTH is disabled for this "
         "mailbox or the whole tenant. An Exchange admin enables it (Set-CASMailbox "
         "-SmtpClientAuthenticationDisabled $false, or Users > Mail > Manage email apps > "
         "Authenticated SMTP); if Security Defaults are on they block it.",
         code=535, enhanced="5.7.139", text="smtpclientauthentication is disabled"),
    Rule("microsoft.535-5.7.139-security-defaults", C, "Entra Security Defaults block SMTP "
         "AUTH with a password. Use OAuth2, or have the admin replace Security Defaults with "
         "Conditional Access policies.", code=535, enhanced="5.7.139", text="security defaults"),
    Rule("microsoft.535-5.7.139-basic-auth-disabled", C, "Microsoft 365 no longer accepts "
         "passwords here: switch this integration to OAuth2.",
         code=535, enhanced="5.7.139", text="basic authentication is disabled"),
    Rule("microsoft.535-5.7.139", C, "Microsoft 365 refused the credentials: use the full email "
         "address as username and the current password, or better, OAuth2.",
         code=535, enhanced="5.7.139"),
    Rule("microsoft.535-5.7.3", C, LOGIN_CAUSES, code=535, enhanced="5.7.3"),
    Rule("microsoft.550-5.7.30", C, "Microsoft 365 no longer accepts Basic Auth for client "
         "submission: switch to OAuth2.", code=550, enhanced="5.7.30"),
    Rule("microsoft.5.7.57", C, "The server got MAIL FROM without a successful login: check "
         "that credentials are configured and that TLS is on (authentication requires it).",
         enhanced="5.7.57"),
    Rule("microsoft.5.7.60", C, "The authenticated mailbox may not send as this From address. "
         "Send from the mailbox itself or have the admin grant Send As (Add-RecipientPermission "
         "... SendAs).", enhanced="5.7.60"),
    Rule("microsoft.send-as-denied", C, "Exchange refused Send As for this From address "
         "(reported after DATA): grant Send As to the mailbox or send from the mailbox itself.",
         text="sendasdenied"),
    Rule("microsoft.432-4.3.2", T, "Microsoft 365 allows at most 3 concurrent SMTP connections "
         "per mailbox; the message will be retried.", code=432, enhanced="4.3.2"),
    Rule("microsoft.421-4.4.2", T, "Microsoft 365 throttles this mailbox (about 30 messages a "
         "minute); the message will be retried after a pause.", code=421, enhanced="4.4.2"),
    Rule("microsoft.submission-quota", T, "The mailbox passed its 10,000 recipients per rolling "
         "24 hours; the message waits until the window rolls.", text="submissionquotaexceeded"),
    Rule("microsoft.554-5.2.2", C, "The sending mailbox is full (SMTP submissions are saved to "
         "Sent Items): empty Sent Items or add a retention policy.", code=554, enhanced="5.2.2"),
    Rule("microsoft.550-5.2.25x", C, "Exchange throttles this mailbox after repeated identical "
         "errors; fix the cause named in the text, then wait for Microsoft to lift the block.",
         code=550, enhanced="5.2.25"),
    Rule("microsoft.5.1.8", C, "The account is blocked from sending (usually after a "
         "compromise): an admin must secure it and release it from restricted users.",
         enhanced="5.1.8"),
    # Account or tenant blocks: nothing this integration sends gets through until an admin
    # (and usually Microsoft support) lifts them, so mail is held, not failed message by message.
    *(Rule(f"microsoft.550-{enhanced}", C, BANNED, code=550, enhanced=enhanced)
      for enhanced in ("5.7.501", "5.7.502", "5.7.503", "5.7.511")),
    Rule("microsoft.550-5.7.705", C, "Microsoft blocked outbound mail for the whole tenant "
         "(unusual volume, or a subscription renewed after it expired): an admin fixes the "
         "cause, then contacts Microsoft support.", code=550, enhanced="5.7.705"),
    Rule("microsoft.550-5.7.708", C, "Microsoft does not accept this tenant's traffic from its "
         "IP pool (typical of new and trial tenants): buy licences or ask Microsoft support for "
         "an exception.", code=550, enhanced="5.7.708"),
    Rule("microsoft.550-5.7.750", C, "Microsoft blocks sending from domains the tenant has not "
         "added and verified: add the sending domain as an accepted domain.",
         code=550, enhanced="5.7.750"),
)


def _token(key: str, failure_class, hint: str) -> Rule:
    return Rule(f"microsoft.token.{key}", failure_class, hint, stage="token")


TOKEN_RULES: tuple[Rule, ...] = (
    _token("AADSTS7000215", C, WRONG_SECRET),
    _token("AADSTS7000222", C, "The client secret has expired: create a new one in the app "
           "registration (Certificates & secrets) and paste its Value here."),
    _token("AADSTS700016", C, UNKNOWN_CLIENT),
    _token("AADSTS90002", C, UNKNOWN_TENANT),
    _token("AADSTS900023", C, "The tenant ID is malformed: use the Directory (tenant) ID GUID."),
    _token("AADSTS7000112", C, "The application is disabled in this tenant: an admin must "
           "re-enable the enterprise application."),
    _token("AADSTS70011", C, BAD_SCOPE),
    _token("AADSTS1002012", C, BAD_SCOPE),
    _token("AADSTS65001", C, "Admin consent is missing: grant admin consent for SMTP.SendAsApp "
           "(API permissions)."),
    _token("AADSTS53003", C, "Blocked by Conditional Access: an admin must review the sign-in "
           "policies."),
    # Transient on Microsoft's side (service trouble, tenant throttling): retried with backoff.
    *(_token(f"AADSTS{code}", T, RETRY_LATER) for code in (50033, 90024, 90006, 90090, 90055)),
    _token("AADSTS50196", T, "Too many identical token requests: the token is cached; this "
           "clears by itself, and the message will be retried."),
    _token("temporarily_unavailable", T, RETRY_LATER),
    _token("invalid_client", C, WRONG_SECRET),
    _token("unauthorized_client", C, UNKNOWN_CLIENT),
    _token("invalid_tenant", C, UNKNOWN_TENANT),
    # Any other refusal: the whole setup is worth a look.
    _token("setup-checklist", C, SETUP_CHECKLIST),
    _token("service-unavailable", T, "Microsoft's token service did not answer properly "
           "(server error, throttling or timeout). The message will be retried."),
    _token("web-page", T, "Microsoft (or a proxy on the way) answered with a web page instead "
           "of an OAuth2 reply, as happens when it throttles or during an outage. The message "
           "will be retried; if this persists, check any outbound proxy."),
    _token("discovery-refused", C, "The sign-in service did not serve this tenant's OpenID "
           "configuration: check the Tenant ID and, if it is set, MICROSOFT_AUTHORITY_HOST (the "
           "authority host only, such as https://login.microsoftonline.com, without a path)."),
)

# The bounce mailbox: the same app reads it over IMAP with the same token.
IMAP_RULES: tuple[Rule, ...] = (
    Rule("microsoft.imap-login", C, "Give the app the IMAP.AccessAsApp application permission "
         "(Office 365 Exchange Online) with admin consent, register its service principal in "
         "Exchange (New-ServicePrincipal) and grant it FullAccess to the mailbox "
         "(Add-MailboxPermission); IMAP must be enabled for the mailbox (Set-CASMailbox "
         "-ImapEnabled $true)."),
)
RULES = SMTP_RULES + TOKEN_RULES + IMAP_RULES
