"""API keys in the admin: created with their key shown once, then only named, limited, revoked."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from delivery.api_keys import KEY_START, ApiKey, Scope
from notifuse_smtp import admin_base

class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "integrations", "senders", "rate_limit_per_minute")


@admin.register(ApiKey)
class ApiKeyAdmin(admin_base.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "key_start", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("key_start", "created_at", "last_used_at", "revoked_at")
    filter_horizontal = ("integrations", "senders")
    actions = ("revoke_keys",)

    @admin.display(description="key")
    def key_start(self, obj: ApiKey) -> str:
        return f"{KEY_START}{obj.prefix}…" if obj.prefix else "(made when saved)"

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if not change:
            obj._new_key = obj.set_new_key()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj: ApiKey, post_url_continue=None):
        return admin_base.shown_once(
            request, title=f"API key {obj.name!r} created", secret=obj._new_key,
            what="Copy this key now: it is stored only as a digest and is never shown again. "
                 "Send it as: Authorization: Bearer <key>.",
            back="../",
        )

    @admin.action(description="Revoke the selected keys (they stop working at once)")
    def revoke_keys(self, request, queryset) -> None:
        for api_key in queryset:
            api_key.revoke()
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)
