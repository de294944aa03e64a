"""GET /api/v1/messages (filters, cursor), GET /messages/{id}, cancel, keys and the docs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from delivery import engine
from delivery.api import send_email
from delivery.api_keys import ApiKey
from delivery.models import Message
from tests.delivery.api_client import ApiClient, make_key
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    return make_integration()


@pytest.fixture
def client(integration):
    return ApiClient(make_key()[1])


def queue(n: int, **fields) -> list[Message]:
    return [send_email(to=f"user{i}@example.org", subject=f"s{i}", text="x", **fields)
            for i in range(n)]


def test_the_list_pages_newest_first_with_a_cursor(client):
    queued = queue(5)
    first = client.get("/messages", limit=2).json()
    assert [m["id"] for m in first["items"]] == [queued[4].pk, queued[3].pk]
    second = client.get("/messages", limit=2, cursor=first["next_cursor"]).json()
    third = client.get("/messages", limit=2, cursor=second["next_cursor"]).json()
    assert [m["id"] for m in second["items"] + third["items"]] == [
        queued[2].pk, queued[1].pk, queued[0].pk]
    assert third["next_cursor"] is None


def test_the_list_filters_by_recipient_status_kind_integration_and_time(client, integration):
    other = make_integration(sender="other@example.com")
    [a, b] = queue(2)
    marketing = send_email(to="ada@example.org", subject="m", text="x", kind="marketing",
                           integration=other)

    def ids(**params) -> list[int]:
        return [m["id"] for m in client.get("/messages", **params).json()["items"]]

    assert ids(recipient="USER1@example") == [b.pk]
    assert ids(kind="marketing") == [marketing.pk]
    assert ids(integration=integration.pk) == [b.pk, a.pk]
    assert ids(status="sent") == []
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert ids(created_before=later, status="queued") == [marketing.pk, b.pk, a.pk]
    assert ids(created_after=later) == []


def test_a_bad_cursor_is_a_422(client):
    response = client.get("/messages", cursor="not-ours")
    assert (response.status_code, response.json()["field"]) == (422, "cursor")


def test_one_message_comes_with_its_attempts(client):
    with SmtpTestServer() as server:
        integration = make_integration(server, sender="app2@example.com")
        message = send_email(to="bob@example.org", subject="s", text="x",
                             integration=integration)
        engine.drain(integration.pk)
    body = client.get(f"/messages/{message.pk}").json()
    assert body["status"] == "sent"
    [attempt] = body["attempts"]
    assert attempt["succeeded"] and attempt["stage"] == "data" and body["events"] == []


def test_an_unknown_message_is_a_404_problem(client):
    response = client.get("/messages/999999")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_key_limited_to_an_integration_sees_only_its_messages(integration):
    other = make_integration(sender="other@example.com")
    [mine] = queue(1)
    theirs = send_email(to="x@example.org", subject="s", text="x", integration=other)
    api_key, key = make_key()
    api_key.integrations.set([integration])
    client = ApiClient(key)
    assert [m["id"] for m in client.get("/messages").json()["items"]] == [mine.pk]
    assert client.get(f"/messages/{theirs.pk}").status_code == 404


def test_reading_needs_the_read_scope(integration):
    assert ApiClient(make_key(scopes=["send"])[1]).get("/messages").status_code == 403


def test_cancel_stops_a_queued_message_and_is_refused_once_finished(client):
    [message] = queue(1)
    response = client.post(f"/messages/{message.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Message.objects.get(pk=message.pk).cancelled_by == "API key test service"
    again = client.post(f"/messages/{message.pk}/cancel")
    assert again.status_code == 409 and again.json()["type"].endswith("cannot-cancel")


def test_the_rate_limit_is_per_key_and_answers_429_with_retry_after(integration):
    _, key = make_key(rate_limit_per_minute=2)
    limited, other = ApiClient(key), ApiClient(make_key(name="other")[1])
    # Five requests span at most two one-minute windows of two: at least one is refused.
    responses = [limited.get("/messages") for _ in range(5)]
    refused = [r for r in responses if r.status_code == 429]
    assert responses[0].status_code == 200 and refused
    assert 1 <= int(refused[0]["Retry-After"]) <= 60
    assert refused[0].json()["type"].endswith("rate-limited")
    assert other.get("/messages").status_code == 200


def test_the_admin_shows_a_new_key_once_and_revokes_it(admin_client, integration):
    response = admin_client.post("/admin/delivery/apikey/add/", {
        "name": "crm", "scopes": ["send"], "integrations": [integration.pk]})
    key = response.context["secret"]
    api_key = ApiKey.objects.get(name="crm")
    assert ApiKey.find(key) == api_key and "no-store" in response["Cache-Control"]
    page = admin_client.get(f"/admin/delivery/apikey/{api_key.pk}/change/").content.decode()
    assert key not in page and f"nfs_{api_key.prefix}" in page
    admin_client.post("/admin/delivery/apikey/", {
        "action": "revoke_keys", "_selected_action": [api_key.pk]})
    assert ApiClient(key).get("/messages").status_code == 401


def test_create_api_key_prints_the_key_once_and_stores_only_its_digest(capsys, integration):
    call_command("create_api_key", "billing", "--scopes", "send,read,suppressions",
                 "--integration", integration.name)
    key = capsys.readouterr().out.strip()
    api_key = ApiKey.objects.get(name="billing")
    assert key.startswith("nfs_") and key not in str(ApiKey.objects.values().get())
    assert api_key.scopes == ["read", "send", "suppressions"]
    assert list(api_key.integrations.all()) == [integration]
    assert ApiClient(key).get("/messages").status_code == 200
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_requests_are_logged_without_the_key(client, caplog):
    _, key = make_key(name="logged")
    with caplog.at_level(logging.INFO, logger="delivery.http_api"):
        ApiClient(key).get("/messages")
        ApiClient(key + "x").get("/messages")
    lines = [r.getMessage() for r in caplog.records if r.name == "delivery.http_api"]
    assert len(lines) == 2 and "GET /api/v1/messages 200" in lines[0] and "logged#" in lines[0]
    assert "401" in lines[1] and not any(key in line for line in lines)


def test_the_openapi_document_and_the_docs_are_served(client):
    schema = client.client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/messages", "/api/v1/messages/batch", "/api/v1/messages/{id}",
            "/api/v1/messages/{id}/cancel"} <= set(schema["paths"])
    created = schema["paths"]["/api/v1/messages"]["post"]["responses"]
    assert "application/problem+json" in created["422"]["content"]
    assert "MessageOut" in created["201"]["content"]["application/json"]["schema"]["$ref"]
    assert set(created["201"]["links"]) == {"GetMessage", "CancelMessage"}
    assert client.client.get("/api/v1/docs").status_code == 200
