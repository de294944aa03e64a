"""Gmail / Google Workspace: what its SMTP replies and its token endpoint's errors mean.

Facts come from `shared/reference/smtp-and-oauth-errors.md` §1.2 and §2.2; the wording is ours.
Token rules are found by id: `google.token.<error>`, else `google.token.other-refusal` (the
ids this service names itself have a hyphen, which OAuth2 error codes never have).
"""

from __future__ import annotations

from integrations.failures.rules import C, T, Rule

INVALID_CLIENT = (
    "Google does not accept the client credentials (invalid_client): the Client ID is wrong or "
    "the OAuth client was deleted, or the Client Secret is wrong or was rotated. Copy both from "
    "Google Cloud Console > APIs & Services > Credentials."
)

SMTP_RULES: tuple[Rule, ...] = (
    Rule("google.535-oauth2", C, "Google refused the OAuth2 access token, and a freshly "
         "fetched one too. Check that the refresh token was granted the scope "
         "https://mail.google.com/ and that the username is the Google account that gave "
         "consent; if so, authorise again with the Gmail helper on this page.",
         code=535, text="username and password not accepted", auth_types=("oauth2",)),
    Rule("google.535-5.7.8", C, "Google refused the username and password. Use an app password "
         "(16 characters, no spaces; it needs 2-Step Verification) or OAuth2; the username is "
         "the full address.", code=535, enhanced="5.7.8",
         text="username and password not accepted"),
    Rule("google.534-app-password", C, "Google requires an app password for this account "
         "(2-Step Verification is on), or use OAuth2.", code=534,
         text="application-specific password"),
    Rule("google.534-web-login", C, "Google blocked this sign-in until the account owner signs "
         "in at accounts.google.com in a browser and clears the security prompt; OAuth2 avoids "
         "this.", code=534, text="web browser"),
    Rule("google.454-too-many-logins", T, "Google is rate-limiting logins for this account or "
         "IP; the message will be retried. Repeated bad credentials cause this.",
         code=454, text="too many login"),
    Rule("google.550-5.4.5", T, "The user's daily sending limit is used up; sending resumes "
         "when the rolling 24-hour window allows.", code=550, enhanced="5.4.5"),
)


def _token(key: str, failure_class, hint: str, says: str = "") -> Rule:
    return Rule(f"google.token.{key}", failure_class, hint, stage="token", says=says)


TOKEN_RULES: tuple[Rule, ...] = (
    _token("invalid_grant", C, "Google refused the refresh token (invalid_grant). Likely "
           "causes: (1) the OAuth consent screen is in Testing mode, where refresh tokens "
           "expire after 7 days — publish the app; (2) the Google account's password was "
           "changed; (3) access was revoked at myaccount.google.com/permissions, or the token "
           "went unused for 6 months; (4) the account has too many live refresh tokens for this "
           "client (Google keeps 100 per client; the Notifuse docs say 50) and the oldest was "
           "dropped. Fix: authorise again with the Gmail helper on this page to get a new "
           "refresh token."),
    _token("unauthorized_client", C, "Google says the refresh token belongs to a different "
           "OAuth client (unauthorized_client): it was generated with another Client "
           "ID/Secret. Regenerate the refresh token with the current Client ID and Secret "
           "(Gmail helper on this page)."),
    _token("invalid_client", C, INVALID_CLIENT),
    _token("deleted_client", C, INVALID_CLIENT),
    _token("disabled_client", C, INVALID_CLIENT),
    _token("other-refusal", C, "Google refused the token request; check the client and "
           "refresh token."),
    _token("service-unavailable", T, "Google's token service did not answer properly (server "
           "error, throttling or timeout). The message will be retried."),
    _token("not-oauth2", C, "That address did not answer as Google's token endpoint does: "
           "check GOOGLE_TOKEN_URL (normally https://oauth2.googleapis.com/token) and any proxy "
           "between this server and Google."),
    # The Gmail helper's code exchange: Google answered, but without a refresh token.
    _token("no-refresh-token", C, "It sends one only on the first consent or when the consent "
           "URL has prompt=consent and access_type=offline: remove the app's access at "
           "myaccount.google.com/permissions and authorise again with this URL.",
           says="Google returned no refresh token"),
)

# The bounce mailbox: the same refresh token reads it over IMAP.
IMAP_RULES: tuple[Rule, ...] = (
    Rule("google.imap-login", C, "The refresh token must carry the https://mail.google.com/ "
         "scope (authorise again with the Gmail helper), and IMAP must be on in the mailbox's "
         "Gmail settings."),
)
RULES = SMTP_RULES + TOKEN_RULES + IMAP_RULES
