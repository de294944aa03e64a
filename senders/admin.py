"""Senders in the admin: inline on an integration, and a list to find an address's owner."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from integrations.signals import AnnouncesChanges
from notifuse_smtp import admin_base

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
        self._refuse_addresses_still_held_when_saved()

    def _refuse_addresses_still_held_when_saved(self) -> None:
        """Stored rows are saved one UPDATE at a time, in order, and the unique constraint
        is checked at each: a row cannot take an address a later row gives up in the same
        save (two senders trading addresses). Say so rather than fail with a traceback."""
        kept = [form for form in self.initial_forms
                if form.instance.pk and not self._should_delete_form(form)]
        stored = {(form.initial.get("email") or "").lower(): n for n, form in enumerate(kept)}
        for n, form in enumerate(kept):
            email = (form.cleaned_data.get("email") or "").strip().lower()
            if stored.get(email, n) > n:
                raise ValidationError(
                    f"{email} is still the address of another sender until that one is saved: "
                    "change that sender first and save, then this one."
                )

    def save_existing_objects(self, commit=True):
        """Delete removed rows first, so a kept row may take the address of a removed one."""
        if not commit:
            return super().save_existing_objects(commit)
        removed = [form.instance for form in self.deleted_forms if form.instance.pk]
        for sender in removed:
            self.delete_existing(sender, commit=True)
        saved = super().save_existing_objects(commit)  # skips them: a deleted row has no pk
        self.deleted_objects = removed  # what the admin's history names
        return saved


class SenderInline(admin.TabularInline):
    """The senders of one integration, edited on its page (C6)."""

    model = Sender
    formset = SenderFormSet
    fields = ("name", "email", "is_default")
    extra = 1


@admin.register(Sender)
class SenderAdmin(AnnouncesChanges, admin_base.ModelAdmin):
    """Every sender, so staff can find which integration owns an address."""

    list_display = ("email", "name", "integration", "is_default")
    list_filter = ("integration", "is_default")
    search_fields = ("email", "name", "integration__name")
    list_select_related = ("integration",)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self.announce_change(request, obj.integration, "senders")
