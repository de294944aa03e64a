"""Provider presets: the host, port, TLS and auth type of common SMTP services (C8).

Limits are the providers' published figures (shared/reference/smtp-and-oauth-errors.md
§3.6); None where none is published. Their names match the integration's fields
(`rate_limit_per_minute`, `rate_limit_per_day`, `daily_limit_counts`, `max_connections`) so
a preset's values can be copied onto an integration as they are. Providers count their daily
limit over a rolling 24 hours, Exchange Online in recipients, Gmail and SES in messages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# The regions with an SES SMTP endpoint that most accounts use; SMTP credentials are
# per region, so the host must name the one the credentials were made in.
SES_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1",
    "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "sa-east-1",
)
REGION = "{region}"

# Hosts whose providers have turned off (or are turning off) password logins over SMTP.
OAUTH2_HOSTS = {
    "smtp.gmail.com": "Gmail",
    "smtp.googlemail.com": "Gmail",
    "smtp.office365.com": "Microsoft 365",
    "smtp-legacy.office365.com": "Microsoft 365",
}


@dataclass(frozen=True)
class Preset:
    """The settings one provider's SMTP service needs, and its published sending limits."""

    label: str
    host: str
    port: int
    use_tls: bool
    auth_type: str
    oauth2_provider: str = ""
    username: str = ""
    rate_limit_per_minute: int | None = None
    rate_limit_per_day: int | None = None
    daily_limit_counts: str = "messages"
    max_connections: int | None = None
    note: str = ""

    @property
    def needs_region(self) -> bool:
        """Whether the host names a region the person has to choose (Amazon SES)."""
        return REGION in self.host


PRESETS: dict[str, Preset] = {
    "gmail": Preset(
        "Gmail / Google Workspace", "smtp.gmail.com", 587, True, "oauth2", "google",
        rate_limit_per_day=2000,
        note="OAuth2 is required; Workspace accounts may send 2,000 messages in any 24 hours "
        "(500 on trial accounts).",
    ),
    "microsoft365": Preset(
        "Microsoft 365", "smtp.office365.com", 587, True, "oauth2", "microsoft",
        rate_limit_per_minute=30, rate_limit_per_day=10000, daily_limit_counts="recipients",
        max_connections=3,
        note="OAuth2 is required; 30 messages a minute, 10,000 recipients in any 24 hours "
        "and 3 connections per mailbox.",
    ),
    "ses": Preset(
        "Amazon SES", f"email-smtp.{REGION}.amazonaws.com", 587, True, "basic",
        rate_limit_per_minute=60, rate_limit_per_day=200,
        note="Use SMTP credentials generated in this region (not IAM access keys). The "
        "limits are the sandbox's (1 a second, 200 a day): raise them to your account's "
        "quota once it has left the sandbox.",
    ),
    "sendgrid": Preset(
        "SendGrid", "smtp.sendgrid.net", 587, True, "basic", username="apikey",
        note="The username is the literal 'apikey'; the password is an API key.",
    ),
    "mailgun": Preset(
        "Mailgun", "smtp.mailgun.org", 587, True, "basic",
        note="Domains in Mailgun's EU region use smtp.eu.mailgun.org; SMTP logins are per "
        "sending domain.",
    ),
}


def preset_choices() -> list[tuple[str, str]]:
    """Choices for the preset field: blank (custom settings) first, then each provider."""
    return [("", "Custom (enter the settings below)")] + [
        (key, preset.label) for key, preset in PRESETS.items()
    ]


def resolve(key: str, region: str = "") -> dict:
    """The field values preset `key` fills, with `region` put into the host.

    Raises ValueError when the preset needs a region and none is given: a guessed
    region would only fail later, at AUTH, with credentials made for another one.
    """
    preset = PRESETS[key]
    if preset.needs_region and not region:
        raise ValueError(f"{preset.label} needs a region.")
    values = asdict(preset)
    values["host"] = preset.host.replace(REGION, region)
    return values


def requires_oauth2(host: str) -> str | None:
    """The provider's name ("Gmail", "Microsoft 365") when `host` wants OAuth2, else None."""
    return OAUTH2_HOSTS.get((host or "").strip().lower().rstrip("."))
