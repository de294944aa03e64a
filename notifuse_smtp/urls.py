from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("portal/", include("delivery.portal.urls")),
    path("t/", include("delivery.tracking.urls")),
    path("api/v1/", include("delivery.http_api.urls")),
]
