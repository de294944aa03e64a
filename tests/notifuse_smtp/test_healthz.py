"""/healthz: 200 with everything up, 503 naming what is down."""

from __future__ import annotations

import pytest

from delivery.sweeper import HEARTBEAT_KEY, sweep
from tests.support.ports import unused_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def beat_ran():
    sweep()  # as beat does every DELIVERY_SWEEP_SECONDS


def test_it_answers_200_when_database_redis_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "broker", "queue", "beat"}
    assert body["checks"]["beat"]["last_sweep_seconds_ago"] < 5


def test_it_answers_503_when_beat_stopped_sweeping(client):
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).delete(HEARTBEAT_KEY)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]


def test_it_answers_503_naming_redis_when_redis_is_down(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{unused_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis", "beat"]
    assert response.json()["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}


def test_it_never_needs_a_login_and_shows_no_urls(client, settings):
    body = client.get("/healthz").content.decode()
    assert "redis://" not in body and "postgres" not in body


def test_a_beat_that_just_started_counts_as_alive(client):
    import redis
    from django.conf import settings

    from delivery.sweeper import announce_beat

    redis.Redis.from_url(settings.REDIS_URL).delete(HEARTBEAT_KEY)
    announce_beat()  # what beat's start-up signal runs
    assert client.get("/healthz").status_code == 200
