"""Senders in the admin: inline on an integration, and a list to find an address's owner."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from .models import Sender


class SenderFormSet(BaseInlineFormSet):
    """Checks across the rows what the database constraints would refuse with a traceback."""

    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        defaults = 0
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            email = (data.get("email") or "").strip().lower()
            if email in seen:
                raise ValidationError(f"{email} is already a sender of this integration.")
            seen.add(email)
            defaults += bool(data.get("is_default"))
        if defaults > 1:
            raise ValidationError("An integration has at most one default sender.")


class SenderInline(admin.TabularInline):
    """The senders of one integration, edited on its page (C6)."""

    model = Sender
    formset = SenderFormSet
    fields = ("name", "email", "is_default")
    extra = 1


@admin.register(Sender)
class SenderAdmin(admin.ModelAdmin):
    """Every sender, so staff can find which integration owns an address."""

    list_display = ("email", "name", "integration", "is_default")
    list_filter = ("integration", "is_default")
    search_fields = ("email", "name", "integration__name")
    list_select_related = ("integration",)
