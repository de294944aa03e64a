"""The base class of the project's admin pages."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.template.response import TemplateResponse


class ModelAdmin(admin.ModelAdmin):
    """Django's date hierarchy turns ?created_at__year=0 (or a 20-digit year) into a
    ValueError or OverflowError, a server error page; other bad lookups it already reports
    as invalid. These are reported the same way."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (ValueError, OverflowError) as exc:
            if not any(key.endswith(DATE_PARTS) for key in request.GET):
                raise  # not a hand-made date: a bug, which must show as one
            raise IncorrectLookupParameters(exc) from exc


DATE_PARTS = ("__year", "__month", "__day")


def shown_once(request, *, title: str, secret: str, what: str, back: str) -> TemplateResponse:
    """A page that shows a new secret once: never stored readably, nor put in a cookie."""
    context = {**admin.site.each_context(request), "title": title, "secret": secret,
               "what": what, "back": back}
    return TemplateResponse(request, "admin/shown_once.html", context)
