"""/healthz: 200 with everything up, 503 naming what is down."""

from __future__ import annotations

import pytest

from tests.support.ports import unused_port

pytestmark = pytest.mark.django_db


def test_it_answers_200_when_database_redis_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "broker", "queue"}


def test_it_answers_503_naming_redis_when_redis_is_down(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{unused_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]


def test_it_never_needs_a_login_and_shows_no_urls(client, settings):
    body = client.get("/healthz").content.decode()
    assert "redis://" not in body and "postgres" not in body
