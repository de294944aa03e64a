"""The API's URLs, mounted at /api/v1/ by the project's urls (by name: it sits below delivery)."""

from __future__ import annotations

from django.urls import path

from .app import api

urlpatterns = [path("", api.urls)]
