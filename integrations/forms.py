"""The integration form: presets, write-only secrets, and the test and Gmail helper forms."""

from __future__ import annotations

import json

from django import forms


from .models import SECRET_FIELDS, SmtpIntegration
from .presets import PRESETS, SES_REGIONS, preset_choices, resolve

KEEP_HELP = "Leave blank to keep the stored value."
# Filled from a preset only when the person left them empty or at their defaults.
PRESET_FIELDS = ("host", "port", "use_tls", "auth_type", "oauth2_provider", "username",
                 "rate_limit_per_minute", "rate_limit_per_day", "max_connections")


class SmtpIntegrationForm(forms.ModelForm):
    preset = forms.ChoiceField(
        choices=preset_choices, required=False,
        help_text="Fills host, port, TLS and auth type (and the provider's published limits).",
    )
    ses_region = forms.ChoiceField(
        label="SES region", required=False,
        choices=[("", "—")] + [(r, r) for r in SES_REGIONS],
        help_text="Amazon SES only: the region of your SMTP credentials.",
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
            {key: resolve(key, "{region}") for key in PRESETS}
        )
        # A preset may supply the host; the model still refuses an empty one.
        self.fields["host"].required = False
        for name in SECRET_FIELDS:
            field = self.fields[name]
            field.required = False
            field.strip = False
            # Never hand the stored value to the page, not even as initial data.
            self.initial[name] = ""
            if self.instance.pk and getattr(self.instance, name):
                field.help_text = f"A value is stored. {KEEP_HELP}"
            elif self.instance.pk:
                field.help_text = "Nothing stored."

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)  # blank keeps what is stored
        preset = cleaned.get("preset")
        if preset:
            self._apply_preset(cleaned, resolve(preset, cleaned.get("ses_region", "")))
        elif cleaned.get("ses_region") and not cleaned.get("host"):
            self._apply_preset(cleaned, resolve("ses", cleaned["ses_region"]))
        return cleaned

    def _apply_preset(self, cleaned: dict, values: dict) -> None:
        untouched = not (self.data.get(self.add_prefix("host")) or "").strip()
        for name in PRESET_FIELDS:
            if values.get(name) in ("", None):
                continue
            if untouched or cleaned.get(name) in ("", None):
                cleaned[name] = values[name]


class TestEmailForm(forms.Form):
    to = forms.EmailField(label="Send the test email to")
    sender = forms.ChoiceField(label="From", required=False)

    def __init__(self, *args, integration: SmtpIntegration, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        senders = list(integration.senders.order_by("-is_default", "email"))
        self.fields["sender"].choices = [(s.formatted, s.formatted) for s in senders] or [
            ("", integration.username or "—")
        ]


class GmailCodeForm(forms.Form):
    pasted = forms.CharField(
        label="Code or redirected address",
        widget=forms.TextInput(attrs={"size": 90, "autocomplete": "off"}),
        help_text="Paste the code, or the whole address Google sent your browser to "
        "(http://localhost/?code=…): %2F and the like are decoded for you.",
    )
    redirect_uri = forms.CharField(initial="http://localhost", required=True)



