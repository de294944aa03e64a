"""How the admin shows one message: addresses, bodies, source and attachments, no internals."""

from __future__ import annotations

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from .models import Message, Status
from .portal.message_files import attachment_summary, shown_source

# What the message page shows, in this order; lease, claim and counters stay in the table.
FIELDSETS = (
    ("Message", {"fields": ("from_email", "to_addresses", "cc_addresses", "bcc_addresses",
                            "reply_to_addresses", "subject", "kind", "integration_link")}),
    ("Delivery", {"fields": ("state", "created_at", "send_at", "sent_at",
                             "failed", "cancelled", "last_error", "open_count",
                             "click_count")}),
    ("Content", {"fields": ("html_preview", "text_body", "attachment_links", "source")}),
)
# Shown only while they mean something.
ONLY_WHEN = {
    "send_at": lambda m: m.send_at is not None,
    "sent_at": lambda m: m.sent_at is not None,
    "failed": lambda m: m.failed_at is not None,
    "cancelled": lambda m: m.cancelled_at is not None,
    "last_error": lambda m: bool(m.last_error),
    "cc_addresses": lambda m: bool(m.cc),
    "bcc_addresses": lambda m: bool(m.bcc),
    "reply_to_addresses": lambda m: bool(m.reply_to),
    "html_preview": lambda m: bool(m.html),
    "text_body": lambda m: bool(m.text),
    "attachment_links": lambda m: bool(m.attachments),
}
DISPLAY_FIELDS = tuple(name for _, options in FIELDSETS for name in options["fields"])


def fieldsets_for(message: Message | None) -> list:
    """FIELDSETS without the rows that do not apply to this message."""
    def shown(name: str) -> bool:
        return message is None or ONLY_WHEN.get(name, lambda m: True)(message)

    return [(title, {**options, "fields": [f for f in options["fields"] if shown(f)]})
            for title, options in FIELDSETS]


def _when(moment) -> str:
    """A time in the one date format of the admin and the portal."""
    return date_format(localtime(moment), "DATETIME_FORMAT") if moment else "—"


def held_text(message: Message) -> str:
    """Held: <the integration's reason> since <when it was flagged>, and what to do."""
    integration = message.integration
    since = integration.needs_attention_since
    return format_html(
        'Held: {}{}<div class="help">{} It leaves by itself once the integration is fixed.'
        "</div>", integration.needs_attention_reason, f" since {_when(since)}" if since else "",
        integration.needs_attention_hint,
    )


class MessageDisplay:
    """The computed rows of the admin's message page (mixed into MessageAdmin)."""

    def to_addresses(self, obj: Message) -> str:
        return ", ".join(obj.to)
    to_addresses.short_description = "To"

    def cc_addresses(self, obj: Message) -> str:
        return ", ".join(obj.cc)
    cc_addresses.short_description = "Cc"

    def bcc_addresses(self, obj: Message) -> str:
        return ", ".join(obj.bcc)
    bcc_addresses.short_description = "Bcc"

    def reply_to_addresses(self, obj: Message) -> str:
        return ", ".join(obj.reply_to)
    reply_to_addresses.short_description = "Reply-To"

    def integration_link(self, obj: Message) -> str:
        url = reverse("admin:integrations_smtpintegration_change", args=[obj.integration_id])
        return format_html('<a href="{}">{}</a>', url, obj.integration)
    integration_link.short_description = "Integration"

    def state(self, obj: Message) -> str:
        """Held mail says why and since when; other queued mail, when it is tried next."""
        if obj.is_held:
            return held_text(obj)
        if obj.status == Status.QUEUED:
            return f"Queued, next attempt {_when(obj.next_attempt_at)}"
        return obj.get_status_display()
    state.short_description = "Status"

    def failed(self, obj: Message) -> str:
        return _when(obj.failed_at)
    failed.short_description = "Failed"

    def cancelled(self, obj: Message) -> str:
        return f"{_when(obj.cancelled_at)} by {obj.cancelled_by}"

    def html_preview(self, obj: Message) -> str:
        # An empty sandbox: no scripts, no forms, no same-origin access.
        return format_html('<iframe sandbox srcdoc="{}" title="HTML body" style="width:100%;'
                           'height:360px;border:1px solid #ccc;background:#fff"></iframe>',
                           obj.html)
    html_preview.short_description = "HTML"

    def text_body(self, obj: Message) -> str:
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', obj.text)
    text_body.short_description = "Text"

    def attachment_links(self, obj: Message) -> str:
        items = [attachment_summary(i, stored) for i, stored in enumerate(obj.attachments)]
        return format_html_join(
            "", '<div><a href="{}" download>{}</a> ({}, {} bytes)</div>',
            ((reverse("portal:attachment", args=[obj.pk, item["index"]]), item["filename"],
              item["mimetype"], item["size"]) for item in items),
        )
    attachment_links.short_description = "Attachments"

    def source(self, obj: Message) -> str:
        text, left_out = shown_source(obj)
        more = f"\n… {left_out} more characters: download the .eml." if left_out else ""
        return format_html(
            '<a href="{}">Download .eml</a> · <a href="{}">Portal page</a>'
            '<details><summary>Every header and part as a worker renders it</summary>'
            '<pre style="white-space:pre-wrap;word-break:break-all;font-size:12px">{}{}</pre>'
            "</details>",
            reverse("portal:source", args=[obj.pk]), reverse("portal:message", args=[obj.pk]),
            text, more,
        )
    source.short_description = "Source"
