"""The staff portal's pages, mounted under /portal/."""

from __future__ import annotations

from django.urls import path

from . import message_files, suppressions, test_send, views, webhook_views

app_name = "portal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("messages/", views.message_log, name="messages"),
    path("messages/export.csv", views.export_log, name="export"),
    path("messages/retry-failed/", views.retry_failed, name="retry_failed"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("messages/<int:pk>/source.eml", message_files.raw_source, name="source"),
    path("messages/<int:pk>/attachments/<int:index>/", message_files.attachment,
         name="attachment"),
    path("messages/<int:pk>/retry/", views.retry_message, name="retry"),
    path("messages/<int:pk>/cancel/", views.cancel_message, name="cancel"),
    path("test/", test_send.test_send, name="test"),
    path("test/<int:run_pk>/", test_send.test_result, name="test_result"),
    path("test/<int:run_pk>/progress/", test_send.test_progress, name="test_progress"),
    path("webhooks/", webhook_views.webhook_log, name="webhooks"),
    path("webhooks/<int:pk>/replay/", webhook_views.replay_webhook, name="replay_webhook"),
    path("suppressions/", suppressions.suppression_list, name="suppressions"),
    path("suppressions/add/", suppressions.add_suppression, name="suppression_add"),
    path("suppressions/<int:pk>/remove/", suppressions.remove_suppression,
         name="suppression_remove"),
    path("suppressions/import/", suppressions.import_suppressions, name="suppression_import"),
    path("suppressions/export.csv", suppressions.export_suppressions,
         name="suppression_export"),
]
