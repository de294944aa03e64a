"""The suppression list and the feedback events in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from notifuse_smtp import admin_base
from notifuse_smtp.addresses import AddressError

from . import suppressions
from .choices import SuppressionReason
from .models import FeedbackEvent, Suppression
from .permissions import REMOVE_SUPPRESSIONS


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ("address", "scope", "note")

    def clean_address(self) -> str:
        try:
            return suppressions.parse(self.cleaned_data["address"])
        except (AddressError, UnicodeError) as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Suppression)
class SuppressionAdmin(admin_base.ModelAdmin):
    form = SuppressionForm
    list_display = ("address", "reason", "scope", "message", "created_by", "created_at")
    list_filter = ("reason", "scope")
    search_fields = ("address",)
    date_hierarchy = "created_at"
    list_select_related = ("message",)
    raw_id_fields = ("message", "event")
    actions = ("export_csv",)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("address", "reason", "event", "message", "created_by",
                                       "created_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("address", "scope", "note")
        return ("address", "reason", "scope", "note", "event", "message", "created_by",
                "created_at")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Through the list's own function, so the signal and the scope rules apply.
        added = suppressions.suppress(
            obj.address, SuppressionReason.MANUAL, scope=obj.scope,
            by=request.user.get_username(), note=obj.note,
        )
        obj.pk = (added or Suppression.objects.get(address=obj.address)).pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(REMOVE_SUPPRESSIONS)

    def delete_model(self, request, obj) -> None:
        suppressions.remove(obj.address)

    def delete_queryset(self, request, queryset) -> None:
        for address in queryset.values_list("address", flat=True):
            suppressions.remove(address)

    @admin.action(description="Export the whole list as CSV")
    def export_csv(self, request, queryset):
        return HttpResponseRedirect(reverse("portal:suppression_export"))


class FeedbackInline(admin.TabularInline):
    model = FeedbackEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "recipient", "kind", "bounce_type", "enhanced_code", "diagnostic")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
