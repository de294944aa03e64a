"""The SMTP integration: where and how mail is handed over, and its health."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from notifuse_smtp.addresses import ascii_domain

from .secrets import SecretTextField
from .wire_names import ehlo_hostname_problem, host_problem


class AuthType(models.TextChoices):
    BASIC = "basic", "Basic Auth"
    OAUTH2 = "oauth2", "OAuth2"
    NONE = "none", "None (local relay)"


class OAuth2Provider(models.TextChoices):
    MICROSOFT = "microsoft", "Microsoft 365"
    GOOGLE = "google", "Google (Gmail)"


class DailyLimitCounts(models.TextChoices):
    MESSAGES = "messages", "messages"
    RECIPIENTS = "recipients", "recipients"


# Fields each way of authenticating needs; model validation names the missing ones.
REQUIRED_FIELDS = {
    (AuthType.BASIC, ""): ("username", "password"),
    (AuthType.OAUTH2, OAuth2Provider.MICROSOFT): (
        "username",
        "tenant_id",
        "client_id",
        "client_secret",
    ),
    (AuthType.OAUTH2, OAuth2Provider.GOOGLE): (
        "username",
        "client_id",
        "client_secret",
        "refresh_token",
    ),
}

SECRET_FIELDS = ("password", "client_secret", "refresh_token", "bounce_imap_password")


def wire_host_name(name: str) -> str:
    """A host name as DNS and SMTP carry it: ASCII as it is, an IDN as its IDNA 2008 A-labels
    (xn--...; Python's own "idna" codec is IDNA 2003, which makes straße.de strasse.de).

    Raises UnicodeError for a name IDNA 2008 cannot encode (an empty or overlong label, a
    character host names cannot hold).
    """
    return ascii_domain(name)


def connect_host_name(name: str) -> str:
    """The host to connect to and check the certificate of: left to the socket, an IDN would
    go through Python's IDNA 2003 codec (another host)."""
    try:
        return wire_host_name(name)
    except UnicodeError:
        return name  # saved before host names were checked: connect as before


def required_fields_for(auth_type: str, oauth2_provider: str) -> tuple[str, ...]:
    """The fields an integration with this authentication cannot do without."""
    provider = oauth2_provider if auth_type == AuthType.OAUTH2 else ""
    return REQUIRED_FIELDS.get((auth_type, provider or ""), ())


class SmtpIntegration(models.Model):
    name = models.CharField("integration name", max_length=200, unique=True)
    host = models.CharField("SMTP host", max_length=255)
    port = models.PositiveIntegerField(
        "SMTP port",
        default=587,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    use_tls = models.BooleanField(
        "use TLS",
        default=True,
        help_text="On: ports 465 and 2465 (SMTP_IMPLICIT_TLS_PORTS) start with TLS; any other "
        "port uses STARTTLS and stops when the server does not offer it (never plain text). "
        "The certificate is always verified. Off: everything, the login included, crosses the "
        "network unencrypted.",
    )
    allow_plaintext_auth = models.BooleanField(
        "allow plaintext AUTH",
        default=False,
        help_text="Warning: with Use TLS off, this sends the password or OAuth2 token in clear "
        "text, readable by anyone on the network path. Tick it only for a relay on this "
        "machine or a network you trust. Off: a session without TLS stops before AUTH.",
    )
    ehlo_hostname = models.CharField(
        "EHLO hostname",
        max_length=255,
        blank=True,
        help_text="The name this service gives itself in EHLO. Empty: the SMTP host above is "
        "sent as it is (for host 'localhost', 'localhost'). Set your sending domain when a "
        "server refuses that name.",
    )
    auth_type = models.CharField(max_length=10, choices=AuthType.choices, default=AuthType.BASIC)
    username = models.CharField(
        "SMTP username",
        max_length=320,
        blank=True,
        help_text="Basic Auth: the login (SendGrid: apikey). OAuth2: the mailbox that sends, "
        "a full address, named in XOAUTH2. Not used with auth type None.",
    )
    password = SecretTextField("SMTP password", blank=True, default="")
    oauth2_provider = models.CharField(
        "OAuth2 provider", max_length=10, choices=OAuth2Provider.choices, blank=True
    )
    tenant_id = models.CharField("tenant ID", max_length=255, blank=True)
    client_id = models.CharField("client ID", max_length=255, blank=True)
    client_secret = SecretTextField(blank=True, default="")
    refresh_token = SecretTextField(blank=True, default="")
    xoauth2_as_sender = models.BooleanField(
        "authenticate as the sender",
        default=False,
        help_text="OAuth2: put each message's sender mailbox in XOAUTH2 instead of the "
        "username (Microsoft 365 setups where every sender mailbox has its own grant).",
    )
    use_for_transactional = models.BooleanField("use for transactional", default=True)
    use_for_marketing = models.BooleanField("use for marketing", default=False)
    track_transactional = models.BooleanField(
        "track transactional mail", default=False,
        help_text="Open and click tracking for this integration's transactional mail. Off by "
        "default: a password-reset or magic-login link should reach the reader as it was "
        "written, not through the tracker. Marketing mail is tracked unless a message says "
        "track=False.",
    )
    is_active = models.BooleanField("active", default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        "messages per minute",
        null=True,
        blank=True,
        help_text="Held over every rolling 60 seconds by all workers together, sent evenly "
        "spaced. Empty: no limit. Presets fill the provider's limit.",
    )
    max_connections = models.PositiveSmallIntegerField(
        "max concurrent connections",
        null=True,
        blank=True,
        help_text="Across all workers. Empty: no cap. Microsoft 365 allows 3 per mailbox.",
    )
    rate_limit_per_day = models.PositiveIntegerField(
        "per-day limit",
        null=True,
        blank=True,
        help_text="Messages or recipients (below) in any rolling 24 hours, shared by all "
        "workers; mail over the limit waits, it is not failed.",
    )
    daily_limit_counts = models.CharField(
        "the per-day limit counts",
        max_length=10,
        choices=DailyLimitCounts.choices,
        default=DailyLimitCounts.MESSAGES,
        help_text="Microsoft 365 counts recipients (10,000 a day); Gmail counts messages.",
    )
    # Set by a provider's throttling reply: no message of this integration is tried before.
    throttled_until = models.DateTimeField(null=True, blank=True, editable=False)
    throttled_reason = models.TextField(blank=True, editable=False)

    # Bounce processing: where non-delivery reports and complaints about this integration's
    # mail arrive (delivery polls it; integrations.bounce_mailbox logs in).
    bounce_processing = models.BooleanField(
        "process bounces",
        default=False,
        help_text="Read bounces and complaints from a mailbox over IMAP (TLS, verified) "
        "every BOUNCE_POLL_SECONDS. Only reports about this service's mail are touched.",
    )
    bounce_imap_host = models.CharField(
        "IMAP host",
        max_length=255,
        blank=True,
        help_text="Empty: the provider's IMAP host for OAuth2 (outlook.office365.com, "
        "imap.gmail.com), else the SMTP host.",
    )
    bounce_imap_port = models.PositiveIntegerField(
        "IMAP port",
        default=993,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text="993: implicit TLS. 143: STARTTLS, required.",
    )
    bounce_imap_username = models.CharField(
        "IMAP username",
        max_length=320,
        blank=True,
        help_text="Empty: the integration's own mailbox and credentials (OAuth2: its token).",
    )
    bounce_imap_password = SecretTextField("IMAP password", blank=True, default="")
    bounce_folder = models.CharField(
        "folder for processed reports",
        max_length=255,
        blank=True,
        help_text="Processed reports are moved there. Empty: they stay in the inbox, flagged. "
        "Nothing is ever deleted.",
    )

    # Health: set by a configuration failure, cleared by the next success.
    needs_attention_reason = models.TextField(blank=True, editable=False)
    needs_attention_hint = models.TextField(blank=True, editable=False)
    needs_attention_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "SMTP integration"

    def __str__(self) -> str:
        return self.name

    @property
    def implicit_tls(self) -> bool:
        """Use TLS on a TLS-wrapper port (465; SES also 2465): TLS before the greeting."""
        return self.use_tls and self.port in settings.SMTP_IMPLICIT_TLS_PORTS

    @property
    def ehlo_name(self) -> str:
        """The name sent in EHLO: the configured one, else the SMTP host.

        EHLO is ASCII: smtplib raised UnicodeEncodeError on an IDN such as "mäil.example".
        """
        return wire_host_name(self.ehlo_hostname.strip() or self.host)

    @property
    def needs_attention(self) -> bool:
        return bool(self.needs_attention_reason)

    @property
    def has_limits(self) -> bool:
        return bool(self.rate_limit_per_minute or self.rate_limit_per_day)

    def throttled_for(self, now: datetime | None = None) -> float:
        """Seconds the pause set by a provider's throttling reply still lasts (0: none)."""
        if self.throttled_until is None:
            return 0.0
        return max((self.throttled_until - (now or timezone.now())).total_seconds(), 0.0)

    @property
    def health(self) -> str:
        """The health badge shown in the admin and the portal.

        One of "attention", "throttled", "test_failed", "ok" or "untested". A failed test
        counts only while no send has succeeded since: staff often test, fix the credentials
        and let the queue drain without testing again.
        """
        if self.needs_attention:
            return "attention"
        if self.throttled_for():
            return "throttled"
        last_test, last_success = self.last_test_at, self.last_success_at
        if self.last_test_ok is False and (not last_success or last_test >= last_success):
            return "test_failed"
        if last_success or self.last_test_ok:
            return "ok"
        return "untested"

    def required_fields(self) -> tuple[str, ...]:
        return required_fields_for(self.auth_type, self.oauth2_provider)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.auth_type == AuthType.OAUTH2 and not self.oauth2_provider:
            errors["oauth2_provider"] = "Choose the OAuth2 provider (Microsoft 365 or Google)."
        for field, problem in (("host", host_problem(self.host)),
                               ("ehlo_hostname", ehlo_hostname_problem(self.ehlo_hostname))):
            if problem:
                errors[field] = problem
        for field in self.required_fields():
            if not str(getattr(self, field) or "").strip():
                label = self._meta.get_field(field).verbose_name
                errors[field] = f"Required for this authentication type: enter the {label}."
        if errors:
            raise ValidationError(errors)


class TestRunStatus(models.TextChoices):
    # Created by the request, carried out by a worker (integrations.tasks).
    RUNNING = "running", "running"
    OK = "ok", "passed"
    FAILED = "failed", "failed"


class IntegrationTest(models.Model):
    """One run of "Test integration": who, when, to whom, and every step's result.

    The request that starts a run stores it `running` with the steps it will take; a worker
    fills them in as they complete. A run still running at `deadline_at` is failed.
    """

    integration = models.ForeignKey(
        SmtpIntegration, on_delete=models.CASCADE, related_name="test_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Not auto_now_add: the quota counts runs by this time, and its tests set the clock.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    to = models.CharField(max_length=320)
    sender = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=TestRunStatus.choices,
                              default=TestRunStatus.RUNNING)
    failed_step = models.CharField(max_length=10, blank=True)
    steps = models.JSONField(default=list)

    class Meta:
        ordering = ("-created_at",)
        get_latest_by = "created_at"
        indexes = [models.Index(fields=["requested_by", "created_at"],
                                name="integrationtest_quota_idx")]

    def __str__(self) -> str:
        return f"test of {self.integration} at {self.created_at:%Y-%m-%d %H:%M}: " + (
            f"failed at {self.failed_step}" if self.status == TestRunStatus.FAILED
            else self.get_status_display()
        )

    @property
    def ok(self) -> bool:
        return self.status == TestRunStatus.OK

    @property
    def running(self) -> bool:
        return self.status == TestRunStatus.RUNNING
