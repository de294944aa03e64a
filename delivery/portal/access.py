"""Who may open which portal page: staff status alone shows nothing of the integrations."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

# As in the admin, permission to change a model includes permission to view it.
VIEW_INTEGRATIONS = ("integrations.view_smtpintegration", "integrations.change_smtpintegration")
VIEW_SENDERS = ("senders.view_sender", "senders.change_sender")


def may_view(user, permissions: tuple[str, ...]) -> bool:
    return any(user.has_perm(permission) for permission in permissions)


def integration_viewers_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """403 for staff who may not view integrations: the page shows their hosts, health and
    failure reasons (the admin would not show them either)."""

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not may_view(request.user, VIEW_INTEGRATIONS):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked
