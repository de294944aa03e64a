"""The project's URLs: admin, portal, tracking and /healthz."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from .admin_site import brand
from .health import healthz

brand(admin.site)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("portal/", include("delivery.portal.urls")),
    path("t/", include("delivery.tracking.urls")),
    path("api/v1/", include("delivery.http_api.urls")),
]
