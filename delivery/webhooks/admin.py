"""Webhook endpoints (secret shown once) and their deliveries (read-only, replayable)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from notifuse_smtp import admin_base

from . import sending, signing
from .models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint

REPLAY_PERMISSION = "delivery.replay_webhookdelivery"


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=EventType.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "is_active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin_base.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "description", "events", "is_active", "created_at")
    list_filter = ("is_active",)

    def save_model(self, request, obj: WebhookEndpoint, form, change: bool) -> None:
        if not change:
            obj.secret = obj._new_secret = signing.new_secret()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj: WebhookEndpoint, post_url_continue=None):
        return admin_base.shown_once(
            request, title=f"Webhook endpoint {obj.url} created", secret=obj._new_secret,
            what="The signing secret: copy it into the receiver now, it is not shown again. "
                 "Verify webhook-signature with it (Standard Webhooks).",
            back="../",
        )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "response_code", "error", "succeeded")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin_base.ModelAdmin):
    list_display = ("created_at", "event_type", "endpoint", "state", "tries",
                    "last_response_code", "event_id")
    list_filter = ("state", "event_type", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("event_id",)
    inlines = (AttemptInline,)
    actions = ("replay",)
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm(REPLAY_PERMISSION)

    @admin.action(description="Replay the selected deliveries (same event id)",
                  permissions=("replay",))
    def replay(self, request, queryset) -> None:
        count = sending.replay(queryset)
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
