"""The integration form: presets, write-only secrets, and the test and Gmail helper forms."""

from __future__ import annotations

import json

from django import forms
from django.views.decorators.debug import sensitive_variables

from .models import SECRET_FIELDS, DailyLimitCounts, SmtpIntegration, required_fields_for
from .presets import PRESETS, REGION, SES_REGIONS, preset_choices, resolve
from .secret_destinations import changed_settings, moved_secrets
from .secrets import UndecryptableSecret

KEEP_HELP = "Leave blank to keep the stored value."
UNREADABLE = (
    "A value is stored but cannot be decrypted with the current FERNET_KEYS: enter it "
    "again, or put the old key back in FERNET_KEYS and run rotate_secrets."
)
PLAINTEXT_AUTH_REFUSED = (
    "Use TLS is off and this integration logs in: the password or token would cross the "
    "network in clear text. Turn Use TLS on, or tick this box for a relay on this machine or "
    "a network you trust."
)
# Set from a preset whenever the host was left empty: a checkbox or a select cannot be
# "left empty", and an empty host means the person relied on the preset entirely.
CONNECTION_FIELDS = ("host", "port", "use_tls", "auth_type", "oauth2_provider")
# Filled from a preset only when left empty, so what the person typed is kept.
PRESET_FIELDS = CONNECTION_FIELDS + (
    "username", "rate_limit_per_minute", "rate_limit_per_day", "max_connections",
)
# A choice with a default is never empty: the preset's value wins when it sets a day limit.
FOLLOWS_PRESET = {"daily_limit_counts": "rate_limit_per_day"}


class SmtpIntegrationForm(forms.ModelForm):
    """The admin's integration form: presets fill the settings, secrets are write-only."""

    preset = forms.ChoiceField(
        choices=preset_choices, required=False,
        help_text="Fills host, port, TLS and auth type (and the provider's published limits).",
    )
    ses_region = forms.ChoiceField(
        label="SES region", required=False,
        choices=[("", "—")] + [(r, r) for r in SES_REGIONS],
        help_text="Amazon SES only: the region your SMTP credentials were made in.",
    )

    class Meta:
        model = SmtpIntegration
        fields = "__all__"
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "host" not in self.fields:
            return  # a view-only form: every field is read-only, nothing to prepare
        self.fields["preset"].widget.attrs["data-presets"] = json.dumps(
            {key: resolve(key, REGION) for key in PRESETS}
        )
        # A preset may supply them; clean() still insists once the preset has had its turn.
        self.fields["host"].required = False
        self.fields["port"].required = False
        # Left empty, the IMAP port is the model's default (993, implicit TLS).
        self.fields["bounce_imap_port"].required = False
        # Left out of a post (a script that predates the field): the model's default.
        self.fields["daily_limit_counts"].required = False
        for name in SECRET_FIELDS:
            self._make_write_only(name)

    def _make_write_only(self, name: str) -> None:
        """Never hand the stored value to the page; say only whether one is stored."""
        field = self.fields[name]
        field.required = False
        field.strip = False
        self.initial[name] = ""
        if not self.instance.pk:
            field.help_text = "Stored encrypted and never shown again."
        elif isinstance(getattr(self.instance, name), UndecryptableSecret):
            field.help_text = UNREADABLE
        elif getattr(self.instance, name):
            field.help_text = f"A value is stored. {KEEP_HELP}"
        else:
            field.help_text = "Nothing stored."

    # `cleaned` and `stored` hold the secrets: kept out of the DEBUG page's frames.
    @sensitive_variables()
    def clean(self):
        cleaned = super().clean()
        typed = {name for name in SECRET_FIELDS if cleaned.get(name)}
        if self.instance.pk:
            needed = required_fields_for(cleaned.get("auth_type"), cleaned.get("oauth2_provider"))
            for name in SECRET_FIELDS:
                if cleaned.get(name):
                    continue
                stored = getattr(self.instance, name)
                if not isinstance(stored, UndecryptableSecret):
                    cleaned[name] = stored  # blank keeps what is stored
                elif name in needed:
                    # Saving would replace it with an empty value for good: ask first.
                    self.add_error(name, UNREADABLE)
        cleaned["daily_limit_counts"] = (cleaned.get("daily_limit_counts")
                                         or DailyLimitCounts.MESSAGES)
        values = self._preset_values(cleaned)
        if values:
            self._apply_preset(cleaned, values)
        if cleaned.get("bounce_imap_port") in ("", None):
            cleaned["bounce_imap_port"] = SmtpIntegration._meta.get_field(
                "bounce_imap_port").default
        self._require(cleaned, "host", "port")
        if self.instance.pk:
            self._refuse_kept_secrets_sent_elsewhere(cleaned, typed)
        if not cleaned.get("use_tls") and cleaned.get("auth_type") not in (None, "none") \
                and not cleaned.get("allow_plaintext_auth"):
            self.add_error("allow_plaintext_auth", PLAINTEXT_AUTH_REFUSED)
        return cleaned

    def _refuse_kept_secrets_sent_elsewhere(self, cleaned: dict, typed: set[str]) -> None:
        """A secret left blank is kept; it must not go to a destination it never went to."""
        def value(name: str):
            return cleaned[name] if name in cleaned else getattr(self.instance, name)

        kept = [name for name in moved_secrets(self.instance, value)
                if name not in typed and getattr(self.instance, name)]
        changed = ", ".join(changed_settings(self.instance, value))
        for name in kept:
            label = self.fields[name].label or name
            self.add_error(name, f"You changed where the credentials go ({changed}): enter the "
                           f"{label.lower()} again. A stored secret is never sent to a new "
                           "destination.")

    def _require(self, cleaned: dict, *names: str) -> None:
        """Report what is still empty once any preset has filled in its values."""
        if "ses_region" in self.errors:
            return  # the host waits on the region; one error says what to do
        for name in names:
            if cleaned.get(name) in ("", None) and name not in self.errors:
                self.add_error(name, self.fields[name].error_messages["required"])

    def _preset_values(self, cleaned: dict) -> dict | None:
        """The chosen preset's values; a region alone with no host means Amazon SES."""
        region = cleaned.get("ses_region") or ""
        key = cleaned.get("preset") or ("ses" if region and not cleaned.get("host") else "")
        if not key:
            return None
        if PRESETS[key].needs_region and not region:
            self.add_error("ses_region", "Choose the region your SES SMTP credentials were "
                           "made in: they work in that region only.")
            return None
        return resolve(key, region)

    def _apply_preset(self, cleaned: dict, values: dict) -> None:
        relied_on_preset = not cleaned.get("host")
        for name in PRESET_FIELDS:
            if relied_on_preset and name in CONNECTION_FIELDS:
                cleaned[name] = values[name]
            elif values[name] not in ("", None) and cleaned.get(name) in ("", None):
                cleaned[name] = values[name]
        for name, decided_by in FOLLOWS_PRESET.items():
            if values[decided_by] is not None and cleaned.get(decided_by) == values[decided_by]:
                cleaned[name] = values[name]


class TestEmailForm(forms.Form):
    """Where "Test integration" sends its email, and from which of the senders."""

    to = forms.EmailField(label="Send the test email to")
    sender = forms.ChoiceField(label="From", required=False)

    def __init__(self, *args, integration: SmtpIntegration, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        senders = list(integration.senders.order_by("-is_default", "email"))
        username = integration.username
        self.fields["sender"].choices = [(s.formatted, s.formatted) for s in senders] or [
            ("", username if "@" in username else "— no sender: add one to send the email —")
        ]


class GmailCodeForm(forms.Form):
    """The code (or redirected address) Google's consent page handed back."""

    pasted = forms.CharField(
        label="Code or redirected address",
        widget=forms.TextInput(attrs={"size": 90, "autocomplete": "off"}),
        help_text="Paste the code, or the whole address Google sent your browser to "
        "(http://localhost/?code=…): %2F and the like are decoded for you.",
    )
    redirect_uri = forms.CharField(initial="http://localhost", required=True)
