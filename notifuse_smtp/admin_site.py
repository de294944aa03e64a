"""The admin site as staff meet it: named for the project, and a login that asks for the email."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

SITE_HEADER = "notifuse-smtp"
SITE_TITLE = "notifuse-smtp admin"
INDEX_TITLE = "SMTP integrations, senders and the send log"


class EmailLoginForm(AdminAuthenticationForm):
    """The admin login: `./scripts/run` makes ADMIN_EMAIL the admin's username."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs["autocomplete"] = "email"


class EmailOrUsernameBackend(ModelBackend):
    """Logs in by username, or by the email of exactly one account (case-insensitive).

    Accounts made with createsuperuser may have a username that is not their email.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None or not username or "@" not in username:
            return user
        matches = list(get_user_model()._default_manager.filter(email__iexact=username)[:2])
        if len(matches) != 1:
            return None
        return super().authenticate(request, username=matches[0].get_username(),
                                    password=password, **kwargs)


def brand(site: admin.AdminSite) -> None:
    """Name the site for the project and use the email login."""
    site.site_header = SITE_HEADER
    site.site_title = SITE_TITLE
    site.index_title = INDEX_TITLE
    site.login_form = EmailLoginForm
