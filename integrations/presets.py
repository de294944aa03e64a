"""Provider presets: the host, port, TLS and auth type of common SMTP services (C8).

Limits are the providers' published figures (see shared/reference/smtp-and-oauth-errors.md
§3.6); None where none is published.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SES_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1",
    "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "sa-east-1",
)
OAUTH2_HOSTS = {"smtp.gmail.com": "Gmail", "smtp.office365.com": "Microsoft 365"}


@dataclass(frozen=True)
class Preset:
    label: str
    host: str
    port: int
    use_tls: bool
    auth_type: str
    oauth2_provider: str = ""
    username: str = ""
    rate_limit_per_minute: int | None = None
    rate_limit_per_day: int | None = None
    max_connections: int | None = None
    note: str = ""


PRESETS: dict[str, Preset] = {
    "gmail": Preset(
        "Gmail / Google Workspace", "smtp.gmail.com", 587, True, "oauth2", "google",
        rate_limit_per_day=2000,
        note="OAuth2 is required; Workspace accounts may send 2,000 messages a day.",
    ),
    "microsoft365": Preset(
        "Microsoft 365", "smtp.office365.com", 587, True, "oauth2", "microsoft",
        rate_limit_per_minute=30, rate_limit_per_day=10000, max_connections=3,
        note="OAuth2 is required; 30 messages a minute and 3 connections per mailbox.",
    ),
    "ses": Preset(
        "Amazon SES", "email-smtp.{region}.amazonaws.com", 587, True, "basic",
        note="Use SMTP credentials generated for this region (not IAM access keys).",
    ),
    "sendgrid": Preset(
        "SendGrid", "smtp.sendgrid.net", 587, True, "basic", username="apikey",
        note="The username is the literal 'apikey'; the password is an API key.",
    ),
    "mailgun": Preset(
        "Mailgun", "smtp.mailgun.org", 587, True, "basic",
        note="EU domains use smtp.eu.mailgun.org; SMTP logins are per sending domain.",
    ),
}


def preset_choices() -> list[tuple[str, str]]:
    return [("", "Custom (enter the settings below)")] + [
        (key, preset.label) for key, preset in PRESETS.items()
    ]


def resolve(key: str, region: str = "") -> dict:
    """The field values a preset fills, with the SES region put into the host."""
    values = asdict(PRESETS[key])
    values["host"] = values["host"].format(region=region or "us-east-1")
    return values


def requires_oauth2(host: str) -> str | None:
    """The provider's name when `host` no longer accepts passwords (Gmail, Microsoft 365)."""
    return OAUTH2_HOSTS.get((host or "").strip().lower().rstrip("."))
