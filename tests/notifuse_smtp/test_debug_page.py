"""The DEBUG page shows no password held in a URL: settings, request headers, local variables."""

from __future__ import annotations

import pytest
from django.http import HttpRequest
from django.urls import path

from notifuse_smtp.error_reports import MarkedSecretsAlwaysHidden, hide_url_passwords

pytestmark = pytest.mark.django_db

REDIS_PASSWORD = "s3cret-redis-pass"
BROKER_PASSWORD = "s3cret-amqp-pass"
HEADER_PASSWORD = "s3cret-header-pass"
LOCAL_PASSWORD = "s3cret-local-pass"
STARS = MarkedSecretsAlwaysHidden.cleansed_substitute


class Crash(Exception):
    pass


def crashing_view(request: HttpRequest):
    connection_url = f"redis://worker:{LOCAL_PASSWORD}@cache.internal:6379/0"  # noqa: F841
    options = {"urls": [f"postgres://app:{LOCAL_PASSWORD}@db.internal/mail"]}  # noqa: F841
    raise Crash("the cache went away")


urlpatterns = [path("crash", crashing_view)]


def test_url_passwords_are_hidden_everywhere_on_the_debug_page(client, settings):
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0"
    settings.CELERY_BROKER_URL = f"amqp://mail:{BROKER_PASSWORD}@broker.internal:5672//"
    client.raise_request_exception = False
    response = client.get("/crash", HTTP_X_UPSTREAM=f"https://u:{HEADER_PASSWORD}@up.example")
    page = response.content.decode()
    assert response.status_code == 500 and "the cache went away" in page  # the full page
    for secret in (REDIS_PASSWORD, BROKER_PASSWORD, HEADER_PASSWORD, LOCAL_PASSWORD):
        assert secret not in page, secret
    # What helps debugging stays: the hosts, the users, the variables.
    for kept in ("cache.internal", f"mail:{STARS}@broker.internal", "up.example",
                 "connection_url", "db.internal"):
        assert kept in page, kept


@pytest.mark.parametrize(("text", "shown"), [
    ("redis://:pw@h:6379/0", f"redis://:{STARS}@h:6379/0"),
    ("see amqp://user:p%40ss@h// and redis://:x@y/1",
     f"see amqp://user:{STARS}@h// and redis://:{STARS}@y/1"),
    ("redis://h:6379/0", "redis://h:6379/0"),
    ("https://h:8443/path@not-a-password", "https://h:8443/path@not-a-password"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
])
def test_only_the_password_of_a_url_is_hidden(text, shown):
    assert hide_url_passwords(text) == shown
