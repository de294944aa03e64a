"""Portal forms: the message log's filters and the test send."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms

from delivery.choices import HELD
from delivery.models import Kind, Status
from integrations.models import SmtpIntegration
from senders.models import Sender


# A status filter that is a condition, not a stored status: queued with send_at ahead.
SCHEDULED = "scheduled"


class LogFilterForm(forms.Form):
    """The message log's filters, read from the query string (and the bulk retry's POST)."""

    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(
        attrs={"placeholder": "To, subject, From or Message-ID"}))
    status = forms.ChoiceField(required=False, choices=[
        ("", "Any status"), *Status.choices, (SCHEDULED, "Scheduled (send_at ahead)"),
        (HELD, "Held (integration needs attention)")])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Kind.choices])
    integration = forms.ModelChoiceField(
        required=False, empty_label="Any integration",
        # Only what the options show: the secrets stay encrypted in the table.
        queryset=SmtpIntegration.objects.only("pk", "name").order_by("name"),
    )
    date_from = forms.DateField(required=False, label="Created from",
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Created until",
                              widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict:
        """The valid filters (an invalid one is reported on its field and left out)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}

    def query_string(self) -> str:
        """The submitted filters as a query string, for pagination links and redirects."""
        if not self.is_bound:
            return ""
        return urlencode([(name, self.data[name]) for name in self.fields
                          if self.data.get(name)])


class TestSendForm(forms.Form):
    """Which active integration sends a test email, to whom, and from which sender."""

    integration = forms.ModelChoiceField(
        queryset=SmtpIntegration.objects.filter(is_active=True).order_by("name")
    )
    to = forms.EmailField(label="Recipient")
    sender = forms.EmailField(
        required=False, label="From (optional)",
        help_text="One of the integration's senders; empty: its default sender.",
        widget=forms.EmailInput(attrs={"list": "sender-choices"}),
    )

    def sender_choices(self) -> list[tuple[str, str]]:
        """(address, integration name) of every active integration's senders, for suggestions."""
        return list(
            Sender.objects.filter(integration__is_active=True)
            .order_by("integration__name", "-is_default", "email")
            .values_list("email", "integration__name")
        )

    def clean(self):
        cleaned = super().clean()
        integration, sender = cleaned.get("integration"), cleaned.get("sender")
        if integration and sender:
            match = integration.senders.filter(email__iexact=sender).first()
            if match is None:
                self.add_error("sender", (
                    f"{sender} is not a sender of {integration.name}. Add it under Senders "
                    f"on the integration's admin page, or leave From empty to send from its "
                    f"default sender."))
            else:
                # With its display name, as real mail from this sender carries it.
                cleaned["sender"] = match.formatted
        return cleaned
