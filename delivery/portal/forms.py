"""Portal forms: the message log's filters and the test send."""

from __future__ import annotations

from django import forms

from delivery.models import Kind, Status
from integrations.models import SmtpIntegration


class LogFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search",
                        widget=forms.TextInput(attrs={"placeholder": "Recipient or subject"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Kind.choices])
    integration = forms.ModelChoiceField(
        required=False, queryset=SmtpIntegration.objects.order_by("name"),
        empty_label="Any integration",
    )
    date_from = forms.DateField(required=False, label="From",
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To",
                              widget=forms.DateInput(attrs={"type": "date"}))


class TestSendForm(forms.Form):
    integration = forms.ModelChoiceField(
        queryset=SmtpIntegration.objects.filter(is_active=True).order_by("name")
    )
    to = forms.EmailField(label="Recipient")
    sender = forms.EmailField(
        required=False, label="From (optional)",
        help_text="One of the integration's senders; empty: its default sender.",
    )

    def clean(self):
        cleaned = super().clean()
        integration, sender = cleaned.get("integration"), cleaned.get("sender")
        if integration and sender and not integration.senders.filter(
            email__iexact=sender
        ).exists():
            self.add_error("sender", f"{sender} is not a sender of {integration.name}.")
        return cleaned
