"""/healthz: ok or fail for anyone; details with the token or to staff; connections kept."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from delivery.api import send_email
from delivery.models import Message
from delivery.sweeper import sweep
from notifuse_smtp.celery import announce_beat
from notifuse_smtp.heartbeat import HEARTBEAT_KEY
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.ports import unused_port

pytestmark = pytest.mark.django_db

TOKEN = "a-long-random-healthz-token-0123456789"
PROBES = {"database", "redis", "broker", "queue", "beat"}


@pytest.fixture(autouse=True)
def beat_ran():
    sweep()  # as beat does every DELIVERY_SWEEP_SECONDS


@pytest.fixture
def token(settings):
    settings.HEALTHZ_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def stop_beat() -> None:
    redis.Redis.from_url(settings.REDIS_URL).delete(HEARTBEAT_KEY)


def test_anyone_gets_ok_and_nothing_else(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_anyone_gets_fail_without_learning_what_failed(client, settings):
    stop_beat()
    settings.REDIS_URL = f"redis://127.0.0.1:{unused_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "fail"}


def test_the_token_shows_each_probe(client, token):
    response = client.get("/healthz", **token)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == PROBES
    assert body["checks"]["beat"]["last_sweep_seconds_ago"] < 5
    queue = body["checks"]["queue"]
    assert (queue["oldest_due_seconds"], queue["oldest_held_seconds"]) == (0.0, 0.0)


def test_held_mail_shows_in_the_queue_probe_though_it_is_not_due(client, token):
    broken = make_integration(needs_attention_reason="auth: 535 5.7.8 invalid")
    held = send_email(to="ada@example.org", subject="x", text="x", integration=broken)
    Message.objects.filter(pk=held.pk).update(
        created_at=timezone.now() - timedelta(minutes=10),
        next_attempt_at=timezone.now() + timedelta(hours=1))
    queue = client.get("/healthz", **token).json()["checks"]["queue"]
    assert queue["oldest_due_seconds"] == 0.0
    assert 590 < queue["oldest_held_seconds"] < 700


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, "Bearer "])
def test_a_wrong_token_gets_only_the_status(client, token, header):
    assert client.get("/healthz", HTTP_AUTHORIZATION=header).json() == {"status": "ok"}


def test_without_a_configured_token_no_header_shows_details(client, settings):
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}


def test_staff_see_details_and_other_users_do_not(client, django_user_model):
    user = django_user_model.objects.create_user("u", "u@example.com", "pw")
    client.force_login(user)
    assert client.get("/healthz").json() == {"status": "ok"}
    user.is_staff = True
    user.save()
    assert set(client.get("/healthz").json()["checks"]) == PROBES


def test_beat_stopped_sweeping_is_named_with_the_token(client, token):
    stop_beat()
    response = client.get("/healthz", **token)
    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]


def test_redis_down_names_redis_and_what_needs_it(client, token, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{unused_port()}/0"
    response = client.get("/healthz", **token)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis", "beat"]
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["beat"] == {"ok": False, "error": "needs redis"}


def test_broker_down_is_named_and_found_again_when_it_is_back(client, token, settings):
    working = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{unused_port()}/0"
    response = client.get("/healthz", **token)
    assert response.status_code == 503 and response.json()["failing"] == ["broker"]
    settings.CELERY_BROKER_URL = working
    assert client.get("/healthz").status_code == 200


def test_details_show_no_urls(client, token):
    body = client.get("/healthz", **token).content.decode()
    assert "redis://" not in body and "postgres" not in body


@pytest.fixture
def private_redis():
    """A Redis server of this test's own, whose connection count nobody else moves."""
    port = unused_port()
    server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                               "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    stats = redis.Redis.from_url(url)
    wait_until(lambda: _answers(stats), timeout=15, message="redis-server did not start")
    yield url, stats
    server.terminate()
    server.wait(timeout=10)


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def test_requests_reuse_the_processs_connections(client, token, settings, private_redis):
    """No new Redis client or broker connection per request: one each, kept by the process."""
    url, stats = private_redis
    settings.REDIS_URL = settings.CELERY_BROKER_URL = url

    def probe_both() -> None:
        checks = client.get("/healthz", **token).json()["checks"]
        assert checks["redis"]["ok"] and checks["broker"]["ok"], checks

    probe_both()
    accepted = stats.info("stats")["total_connections_received"]
    for _ in range(10):
        probe_both()
    assert stats.info("stats")["total_connections_received"] == accepted


def test_a_beat_that_just_started_counts_as_alive(client):
    stop_beat()
    announce_beat()  # what beat's start-up signal runs
    assert client.get("/healthz").status_code == 200
