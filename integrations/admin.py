"""Integrations in the admin: presets, write-only secrets, health, tests, the Gmail helper."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.views.decorators.debug import sensitive_post_parameters

from senders.admin import SenderInline

from notifuse_smtp import admin_base

from .forms import GmailCodeForm, SmtpIntegrationForm, TestEmailForm
from .models import SECRET_FIELDS, AuthType, IntegrationTest, SmtpIntegration
from .oauth2.google_consent import ConsentError, consent_url, exchange_code
from .presets import requires_oauth2
from .diagnostic_runs import QuotaExceeded, start_integration_test
from .run_pages import progress_response, run_context
from .providers.microsoft import SETUP_CHECKLIST
from .signals import RELEASE_ANYWAY, AnnouncesChanges

HEALTH_FIELDS = (
    "needs_attention_reason", "needs_attention_hint", "needs_attention_since",
    "throttled_until", "throttled_reason", "last_success_at", "last_test_at", "last_test_ok",
)
GOOGLE_ON_A_NEW_INTEGRATION = (
    "Only for OAuth2 with Google: refresh-token flow. Save the integration with its client ID "
    "and secret first: its page then offers the Gmail authorisation helper, which gets the "
    "refresh token for you."
)
GOOGLE_ON_A_SAVED_INTEGRATION = (
    "Only for OAuth2 with Google: refresh-token flow. Get the refresh token with the Gmail "
    "authorisation helper (the button at the top of this page), or paste one here."
)
# Hints can run to a paragraph: the list shows their start, the change page all of it.
HINT_CHARS = 140


@admin.register(SmtpIntegration)
class SmtpIntegrationAdmin(AnnouncesChanges, admin_base.ModelAdmin):
    form = SmtpIntegrationForm
    inlines = (SenderInline,)
    list_display = (
        "name", "host", "port", "authentication", "usage", "is_active", "health",
        "last_success_at",
    )
    list_filter = ("is_active", "auth_type", "oauth2_provider", "use_for_transactional",
                   "use_for_marketing")
    search_fields = ("name", "host", "username")
    readonly_fields = HEALTH_FIELDS
    actions = ("test_selected",)
    # The classes let integration_form.js show a section only when it applies; without
    # JavaScript every section shows, and each description says when it applies.
    fieldsets = (
        ("Connection", {"fields": (
            "name", "preset", "ses_region", "host", "port", "use_tls", "allow_plaintext_auth",
            "ehlo_hostname",
        )}),
        ("Authentication", {"fields": ("auth_type", "username", "password"),
                            "description": "Basic Auth: username and password. OAuth2: the "
                            "sending mailbox as username, and the sections below."}),
        ("OAuth2 application (Microsoft 365 and Google)", {
            "fields": ("oauth2_provider", "client_id", "client_secret", "xoauth2_as_sender"),
            "classes": ("only-oauth2",),
            "description": "Only for auth type OAuth2.",
        }),
        ("Microsoft 365 OAuth2", {
            "fields": ("tenant_id",),
            "classes": ("only-oauth2", "only-microsoft"),
            "description": "Only for OAuth2 with Microsoft 365: client-credentials flow. "
            + SETUP_CHECKLIST,
        }),
        ("Google OAuth2", {
            "fields": ("refresh_token",),
            "classes": ("only-oauth2", "only-google"),
            "description": GOOGLE_ON_A_NEW_INTEGRATION,
        }),
        ("Usage and limits", {"fields": (
            "use_for_transactional", "use_for_marketing", "track_transactional", "is_active",
            "rate_limit_per_minute", "rate_limit_per_day", "daily_limit_counts",
            "max_connections",
        )}),
        ("Bounces and complaints", {
            "fields": ("bounce_processing", "bounce_imap_host", "bounce_imap_port",
                       "bounce_imap_username", "bounce_imap_password", "bounce_folder"),
            "description": "Non-delivery reports and complaints come back to a mailbox; "
            "read over IMAP, they suppress dead addresses and complainers.",
        }),
        ("Health", {"fields": HEALTH_FIELDS}),
    )

    class Media:
        js = ("integrations/presets.js", "integrations/integration_form.js")

    # -- list columns ----------------------------------------------------------------------
    @admin.display(description="auth")
    def authentication(self, obj: SmtpIntegration) -> str:
        if obj.auth_type == "oauth2":
            return f"OAuth2 ({obj.get_oauth2_provider_display()})"
        return obj.get_auth_type_display()

    @admin.display(description="usage")
    def usage(self, obj: SmtpIntegration) -> str:
        kinds = [k for k, on in (("transactional", obj.use_for_transactional),
                                 ("marketing", obj.use_for_marketing)) if on]
        return ", ".join(kinds) or "—"

    @admin.display(description="health")
    def health(self, obj: SmtpIntegration):
        if obj.needs_attention:
            return format_html(
                '<span style="color:#ba2121">&#9888; Needs attention: {}</span>'
                '<div class="help" title="{}">{}</div>',
                obj.needs_attention_reason, obj.needs_attention_hint,
                Truncator(obj.needs_attention_hint).chars(HINT_CHARS),
            )
        if obj.health == "throttled":
            return format_html(
                '<span style="color:#b54708">Paused until {} (provider throttling)'
                '</span><div class="help" title="{}">{}</div>',
                localtime(obj.throttled_until).strftime("%H:%M:%S"), obj.throttled_reason,
                Truncator(obj.throttled_reason).chars(HINT_CHARS),
            )
        if obj.health == "test_failed":
            return mark_safe('<span style="color:#ba2121">Last test failed</span>')
        if obj.health == "ok":
            return mark_safe('<span style="color:#2e7d32">&#10003; OK</span>')
        return "Untested"

    # -- secrets never reach a page of someone who may not change them -------------------
    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.oauth2_provider == "google":
            # The helper's button shows on a saved Google integration only: say so there.
            fieldsets = [
                (name, {**options, "description": GOOGLE_ON_A_SAVED_INTEGRATION})
                if name == "Google OAuth2" else (name, options) for name, options in fieldsets
            ]
        if obj is None:
            return [(name, options) for name, options in fieldsets if name != "Health"]
        if not self.has_change_permission(request, obj):
            hidden = set(SECRET_FIELDS) | {"preset", "ses_region"}
            return [
                (name, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
                for name, options in fieldsets
            ]
        return fieldsets

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self._warn_if_basic_auth_is_refused(request, obj)
        self._warn_if_the_login_goes_in_plain_text(request, obj)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # After the senders are saved: adding back a removed sender is a fix as much as a new
        # password is, and only the senders' formset sees it.
        if change and (form.has_changed() or any(fs.has_changed() for fs in formsets)):
            self.announce_change(request, form.instance, "saved")

    def _warn_if_basic_auth_is_refused(self, request, obj: SmtpIntegration) -> None:
        """Warn, not refuse (C9): some Gmail accounts still log in with an app password."""
        provider = requires_oauth2(obj.host)
        if provider and obj.auth_type == AuthType.BASIC:
            self.message_user(
                request,
                f"{provider} no longer accepts passwords for most accounts: choose OAuth2. "
                "Basic Auth only works where an app password is still allowed.",
                messages.WARNING,
            )

    def _warn_if_the_login_goes_in_plain_text(self, request, obj: SmtpIntegration) -> None:
        if obj.use_tls or obj.auth_type == AuthType.NONE:
            return
        self.message_user(
            request,
            "TLS is off while the integration authenticates (plaintext AUTH allowed): the "
            "login and every message cross the network unencrypted. Turn Use TLS on unless "
            "the server is on this machine or a network you trust.",
            messages.WARNING,
        )

    # A crash while saving would otherwise print the typed secrets in the error report (the
    # DEBUG page, the mail to ADMINS). Add and change both go through changeform_view.
    @method_decorator(sensitive_post_parameters(*SECRET_FIELDS))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_test": obj is not None and self.has_change_permission(request, obj),
            "is_google": obj is not None and obj.oauth2_provider == "google",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # -- Test integration and the Gmail helper ---------------------------------------------
    def get_urls(self):
        own = [
            path("<int:pk>/test/", self.admin_site.admin_view(self.test_view),
                 name="integrations_smtpintegration_test"),
            path("<int:pk>/test/<int:run_pk>/", self.admin_site.admin_view(self.test_view),
                 name="integrations_smtpintegration_test_result"),
            path("<int:pk>/test/<int:run_pk>/progress/",
                 self.admin_site.admin_view(self.test_progress_view),
                 name="integrations_smtpintegration_test_progress"),
            path("<int:pk>/gmail/", self.admin_site.admin_view(self.gmail_view),
                 name="integrations_smtpintegration_gmail"),
            path("<int:pk>/release-held/", self.admin_site.admin_view(self.release_held_view),
                 name="integrations_smtpintegration_release_held"),
        ]
        return own + super().get_urls()

    def release_held_view(self, request, pk: int):
        """Staff who know better release held mail without the login check (asked first)."""
        integration = self._changeable(request, pk)
        if request.method == "POST":
            self.announce_change(request, integration, RELEASE_ANYWAY)
            return redirect("admin:integrations_smtpintegration_change", integration.pk)
        return TemplateResponse(request, "admin/integrations/release_held.html", {
            **self.admin_site.each_context(request), "integration": integration,
            "opts": self.model._meta, "title": f"Release the held mail of {integration.name}",
        })

    def _changeable(self, request, pk: int) -> SmtpIntegration:
        integration = get_object_or_404(SmtpIntegration, pk=pk)
        if not self.has_change_permission(request, integration):
            raise PermissionDenied
        return integration

    def test_view(self, request, pk: int, run_pk: int | None = None):
        """The test form; after a start, the stored run, its steps coming (Post/Redirect/Get).

        The POST only stores the run and queues it for a worker: no step runs in the request.
        """
        integration = self._changeable(request, pk)
        run = get_object_or_404(integration.test_runs, pk=run_pk) if run_pk else None
        initial = {"to": run.to, "sender": run.sender} if run else {"to": request.user.email}
        form = TestEmailForm(request.POST or None, integration=integration, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                run = start_integration_test(
                    integration, to=form.cleaned_data["to"],
                    sender=form.cleaned_data["sender"] or None, user=request.user,
                )
            except QuotaExceeded as exc:
                form.add_error(None, str(exc))
            else:
                # The result page shows the stored run, so a browser refresh sends nothing.
                url = reverse("admin:integrations_smtpintegration_test_result",
                              args=[pk, run.pk])
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Test integration: {integration.name}",
            "integration": integration, "opts": self.model._meta, "form": form,
            **(run_context(run, self._progress_url(run)) if run else {}),
        }
        return TemplateResponse(request, "admin/integrations/test_integration.html", context)

    def test_progress_view(self, request, pk: int, run_pk: int):
        """What the test page polls while the run runs: its state and the steps so far."""
        integration = self._changeable(request, pk)
        run = get_object_or_404(integration.test_runs, pk=run_pk)
        return progress_response(request, run, self._progress_url(run))

    @staticmethod
    def _progress_url(run: IntegrationTest) -> str:
        return reverse("admin:integrations_smtpintegration_test_progress",
                       args=[run.integration_id, run.pk])

    # The pasted code (or redirected address) is exchangeable for a refresh token.
    @method_decorator(sensitive_post_parameters("pasted"))
    def gmail_view(self, request, pk: int):
        integration = self._changeable(request, pk)
        form = GmailCodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = exchange_code(integration, form.cleaned_data["pasted"],
                                     form.cleaned_data["redirect_uri"])
            except ConsentError as exc:
                form.add_error("pasted", str(exc))
            else:
                messages.success(request, text)
                url = reverse("admin:integrations_smtpintegration_change", args=[pk])
                return HttpResponseRedirect(url)
        redirect_uri = form["redirect_uri"].value() or "http://localhost"
        context = {
            **self.admin_site.each_context(request),
            "title": f"Gmail authorisation: {integration.name}",
            "integration": integration, "opts": self.model._meta, "form": form,
            "consent_url": consent_url(integration.client_id, redirect_uri)
            if integration.client_id else "",
        }
        return TemplateResponse(request, "admin/integrations/gmail_helper.html", context)

    @admin.action(description="Test the selected integration (send a test email)")
    def test_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one integration to test.",
                              messages.WARNING)
            return None
        url = reverse("admin:integrations_smtpintegration_test", args=[queryset.get().pk])
        return HttpResponseRedirect(url)


@admin.register(IntegrationTest)
class IntegrationTestAdmin(admin_base.ModelAdmin):
    list_display = ("created_at", "integration", "to", "status", "failed_step", "requested_by")
    list_filter = ("status", "integration")
    list_select_related = ("integration", "requested_by")
    readonly_fields = ("integration", "requested_by", "created_at", "started_at",
                       "finished_at", "deadline_at", "to", "sender", "status", "failed_step",
                       "steps")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
