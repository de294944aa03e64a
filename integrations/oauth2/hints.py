"""What token-endpoint errors mean and what staff should do, per provider (our wording)."""

from __future__ import annotations

GOOGLE_INVALID_GRANT = (
    "Google refused the refresh token (invalid_grant). Likely causes: (1) the OAuth consent "
    "screen is in Testing mode, where refresh tokens expire after 7 days — publish the app; "
    "(2) the Google account's password was changed; (3) access was revoked at "
    "myaccount.google.com/permissions, or the token went unused for 6 months; (4) the account "
    "has too many live refresh tokens for this client (Google keeps 100 per client; the "
    "Notifuse docs say 50) and the oldest was dropped. Fix: authorise again with the Gmail "
    "helper on this page to get a new refresh token."
)
GOOGLE_UNAUTHORIZED_CLIENT = (
    "Google says the refresh token belongs to a different OAuth client (unauthorized_client): "
    "it was generated with another Client ID/Secret. Regenerate the refresh token with the "
    "current Client ID and Secret (Gmail helper on this page)."
)
GOOGLE_INVALID_CLIENT = (
    "Google does not accept the client credentials (invalid_client): the Client ID is wrong or "
    "the OAuth client was deleted, or the Client Secret is wrong or was rotated. Copy both from "
    "Google Cloud Console > APIs & Services > Credentials."
)
GOOGLE_OTHER = "Google refused the token request; check the client and refresh token."

MICROSOFT_AADSTS = {
    7000215: "The client secret is wrong: paste the secret's Value (not its Secret ID) from "
    "Certificates & secrets, or create a new secret.",
    7000222: "The client secret has expired: create a new one in the app registration "
    "(Certificates & secrets) and paste its Value here.",
    700016: "No application with this Client ID exists in this tenant: check the Client ID and "
    "Tenant ID; for an app registered in another tenant, the tenant's admin must consent to it.",
    90002: "Tenant not found: use the Directory (tenant) ID GUID or a verified domain of the "
    "tenant, and the right cloud.",
    900023: "The tenant ID is malformed: use the Directory (tenant) ID GUID.",
    7000112: "The application is disabled in this tenant: an admin must re-enable the "
    "enterprise application.",
    70011: "The scope is invalid: client-credentials tokens for SMTP need exactly "
    "https://outlook.office365.com/.default.",
    1002012: "The scope is invalid: client-credentials tokens for SMTP need exactly "
    "https://outlook.office365.com/.default.",
    65001: "Admin consent is missing: grant admin consent for SMTP.SendAsApp (API permissions).",
    53003: "Blocked by Conditional Access: an admin must review the sign-in policies.",
    50196: "Too many identical token requests: the token is cached; this clears by itself.",
}
MICROSOFT_BY_ERROR = {
    "invalid_client": MICROSOFT_AADSTS[7000215],
    "unauthorized_client": MICROSOFT_AADSTS[700016],
    "invalid_tenant": MICROSOFT_AADSTS[90002],
}
MICROSOFT_SETUP = (
    "Microsoft 365 setup checklist: SMTP.SendAsApp application permission with admin consent; "
    "the service principal registered in Exchange (New-ServicePrincipal with the Enterprise "
    "application's object id); FullAccess on the mailbox (Add-MailboxPermission); SMTP AUTH "
    "enabled on the mailbox; Security Defaults not blocking SMTP AUTH."
)
# Transient on Microsoft's side: retry with backoff.
MICROSOFT_TRANSIENT_AADSTS = {50033, 90024, 90006, 90090, 90055, 50196}
