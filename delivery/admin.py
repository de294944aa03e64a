"""The send log in the admin: messages, their attempts, and a retry that only queues."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.db.models import Count

from notifuse_smtp import admin_base

from .choices import HELD
from .admin_display import DISPLAY_FIELDS, MessageDisplay, fieldsets_for
from .lifecycle.transitions import CannotCancel, cancel, staff_retry
from .models import Message, SendAttempt, Status
from .permissions import CANCEL_MESSAGES, RETRY_MESSAGES
from .search import search
from .suppression_admin import FeedbackInline


class SendAttemptInline(admin.TabularInline):
    model = SendAttempt
    extra = 0
    can_delete = False
    fields = (
        "number", "started_at", "stage", "smtp_code", "enhanced_code", "failure_class",
        "error", "hint", "succeeded",
    )
    readonly_fields = fields
    ordering = ("number", "pk")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StatusFilter(admin.SimpleListFilter):
    """The stored statuses, and held: queued on an integration that needs attention."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*Status.choices, (HELD, "Held (integration needs attention)")]

    def queryset(self, request, queryset):
        if self.value() == HELD:
            return queryset.held()
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(Message)
class MessageAdmin(MessageDisplay, admin_base.ModelAdmin):
    list_display = (
        "id", "created_at", "status_shown", "kind", "integration", "recipients", "subject",
        "attempts", "last_error",
    )
    list_filter = (StatusFilter, "kind", "integration")
    search_fields = ("subject", "to", "from_email")
    list_select_related = ("integration",)
    date_hierarchy = "created_at"
    inlines = (SendAttemptInline, FeedbackInline)
    actions = ("retry_messages", "cancel_messages")
    readonly_fields = DISPLAY_FIELDS
    # Counting every match of a 5-million-row table on each list page is not worth it.
    show_full_result_count = False

    def get_fieldsets(self, request, obj=None):
        return fieldsets_for(obj)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(attempt_total=Count("attempts"))

    def get_search_results(self, request, queryset, search_term):
        # The portal's search, not Django's per-word OR over search_fields: its trigram
        # indexes hold settled mail only, and only delivery.search's query reaches them.
        term = search_term.strip()
        return (search(queryset, term) if term else queryset), False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Every field is read-only, yet "Save" rewrote the whole row: updated_at, which the
        # dashboard reads as when a failed message failed, and any claim a worker had just
        # taken. Retry is the one change, and it goes through the action.
        return False

    @admin.display(description="status", ordering="status")
    def status_shown(self, obj: Message) -> str:
        return "Held" if obj.is_held else obj.get_status_display()

    @admin.display(description="to")
    def recipients(self, obj: Message) -> str:
        return ", ".join(obj.to)

    @admin.display(description="attempts", ordering="attempt_total")
    def attempts(self, obj: Message) -> int:
        return obj.attempt_total

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm(RETRY_MESSAGES)

    @admin.action(description="Retry the selected failed messages (queues them, sends nothing)",
                  permissions=("retry",))
    def retry_messages(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return self._confirm_retry(request, queryset)
        count = staff_retry(queryset)
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)
        return None

    def _confirm_retry(self, request, queryset) -> TemplateResponse | None:
        """Ask before sending mail again, as Django asks before deleting."""
        failed = queryset.failed()
        count = failed.count()
        if not count:
            self.message_user(request, "None of the selected messages failed: nothing to "
                              "retry.", messages.WARNING)
            return None
        return TemplateResponse(request, "admin/delivery/message/confirm_retry.html", {
            **self.admin_site.each_context(request),
            "title": "Retry failed messages?", "opts": self.model._meta, "count": count,
            "examples": failed.select_related(None).only("pk", "subject", "to")[:10],
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        })

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm(CANCEL_MESSAGES)

    @admin.action(description="Cancel the selected queued or scheduled messages",
                  permissions=("cancel",))
    def cancel_messages(self, request, queryset) -> None:
        cancelled, refused = 0, []
        for message in queryset.only("pk", "status"):
            try:
                cancel(message, by=request.user.get_username())
                cancelled += 1
            except CannotCancel as exc:
                refused.append(str(exc))
        self.message_user(request, f"{cancelled} message(s) cancelled.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not cancelled: " + "; ".join(refused[:10]),
                              messages.WARNING)

# Registered here, with the app's other admin pages (Django imports only delivery.admin).
from .http_api import admin as _api_key_admin  # noqa: E402,F401
from .webhooks import admin as _webhook_admin  # noqa: E402,F401
