"""Senders: the From addresses an integration may send as."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from notifuse_smtp.control_chars import control_characters_in

# What email.headerregistry.Address refuses in a display name.
LINE_BREAKS = re.compile(r"[\r\n]+")


class Sender(models.Model):
    integration = models.ForeignKey(
        "integrations.SmtpIntegration", on_delete=models.CASCADE, related_name="senders"
    )
    name = models.CharField("display name", max_length=200, blank=True)
    email = models.EmailField("email address", max_length=320)
    is_default = models.BooleanField(
        "default sender",
        default=False,
        help_text="Supplies From when a message names no sender.",
    )

    class Meta:
        ordering = ("-is_default", "email")
        constraints = [
            models.UniqueConstraint(
                fields=("integration", "email"),
                name="sender_email_unique_per_integration",
                violation_error_message="This address is already a sender of this integration.",
            ),
            models.UniqueConstraint(
                fields=("integration",),
                condition=Q(is_default=True),
                name="one_default_sender_per_integration",
                violation_error_message="An integration has at most one default sender.",
            ),
        ]

    def __str__(self) -> str:
        return self.formatted

    @property
    def formatted(self) -> str:
        from email.headerregistry import Address

        # clean() refuses line breaks, but rows saved before it or from the shell may have
        # them, and Address raises ValueError on CR/LF: show such a name on one line.
        name = LINE_BREAKS.sub(" ", self.name)
        return str(Address(display_name=name, addr_spec=self.email))

    def clean(self) -> None:
        # Case differences must not make two senders of one address.
        self.email = (self.email or "").strip().lower()
        # A text input cannot type one, a crafted POST can; it would be a header injection
        # (the email package folds a header at a vertical tab or form feed too).
        if LINE_BREAKS.search(self.name or ""):
            raise ValidationError({"name": "A display name cannot contain a line break."})
        if found := control_characters_in(self.name):
            raise ValidationError({"name": "A display name cannot contain control characters "
                                           f"(found: {found})."})
