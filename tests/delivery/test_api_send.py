"""POST /api/v1/messages: what send_email accepts is queued, what it refuses is a 422 naming
the field, and the key's scopes and limits decide who may send."""

from __future__ import annotations

import pytest

from delivery.models import Message, Status
from tests.delivery.api_client import ApiClient, make_key
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

GOOD = {"to": ["bob@example.org"], "subject": "Hi", "text": "Hello"}


@pytest.fixture
def integration():
    return make_integration()


@pytest.fixture
def client(integration):
    return ApiClient(make_key()[1])


def test_it_queues_a_message_and_answers_201_with_its_id_status_and_links(client, integration):
    response = client.post("/messages", {**GOOD, "html": "<p>Hello</p>", "priority": "urgent"})
    assert response.status_code == 201, response.content
    body = response.json()
    message = Message.objects.get(pk=body["id"])
    assert body["status"] == Status.QUEUED == message.status
    assert body["integration"] == integration.name and body["priority"] == 40
    assert body["links"]["self"] == f"/api/v1/messages/{message.pk}"
    assert message.to == ["bob@example.org"] and message.html == "<p>Hello</p>"


def test_the_idempotency_key_header_returns_the_same_message(client):
    first = client.post("/messages", GOOD, **{"Idempotency-Key": "reset-42"})
    again = client.post("/messages", {**GOOD, "subject": "Other"},
                        **{"Idempotency-Key": "reset-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.get().subject == "Hi"


def test_attachments_travel_as_base64(client):
    attachment = {"filename": "a.txt", "mimetype": "text/plain", "content_b64": "aGk="}
    response = client.post("/messages", {**GOOD, "attachments": [attachment]})
    assert response.status_code == 201
    assert Message.objects.get().attachments == [{**attachment, "content_id": "",
                                                  "inline": False}]


@pytest.mark.parametrize(("field", "changes"), [
    ("subject", {"subject": "Hi\r\nBcc: victim@example.org"}),
    ("subject", {"subject": "x" * 999}),
    ("subject", {"subject": "a\x00b"}),
    ("to", {"to": ["not-an-address"]}),
    ("to", {"to": []}),
    ("cc", {"cc": ["a@b@c"]}),
    ("headers", {"headers": {"Bad Name": "x"}}),
    ("headers", {"headers": {"From": "boss@example.com"}}),
    ("headers[X-Tag]", {"headers": {"X-Tag": "a\nb"}}),
    ("from_email", {"from_email": "stranger@example.com"}),
    ("text", {"text": None}),
    ("text", {"text": "caf\udce9"}),
    ("attachments", {"attachments": [{"content_b64": "not base64!"}]}),
    ("attachments", {"attachments": [{"content_b64": "aGk=", "mimetype": "pdf"}]}),
    ("unsubscribe_url", {"unsubscribe_url": "ftp://example.com/u"}),
    ("integration", {"integration": "no such integration"}),
    ("priority", {"priority": 101}),
    ("send_at", {"send_at": "2030-01-01T10:00:00"}),
    ("kind", {"kind": "newsletter"}),
])
def test_every_refusal_is_a_422_problem_naming_the_field(client, field, changes):
    response = client.post("/messages", {**GOOD, **changes})
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["field"] == field
    assert not Message.objects.exists()


def test_an_oversize_message_is_a_422(client, settings):
    settings.DELIVERY_MAX_MESSAGE_BYTES = 10
    response = client.post("/messages", {**GOOD, "text": "x" * 11})
    assert (response.status_code, response.json()["field"]) == (422, "message")


def test_an_overlong_idempotency_key_is_a_422(client):
    response = client.post("/messages", GOOD, **{"Idempotency-Key": "k" * 256})
    assert (response.status_code, response.json()["field"]) == (422, "Idempotency-Key")


def test_a_key_without_the_send_scope_gets_403(integration):
    response = ApiClient(make_key(scopes=["read"])[1]).post("/messages", GOOD)
    assert response.status_code == 403 and "send" in response.json()["detail"]
    assert not Message.objects.exists()


@pytest.mark.parametrize("key", [None, "nfs_0000000000", "Bearer-less garbage"])
def test_no_key_or_an_unknown_one_gets_401(integration, key):
    response = ApiClient(key).post("/messages", GOOD)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_gets_401(integration):
    api_key, key = make_key()
    client = ApiClient(key)
    assert client.post("/messages", GOOD).status_code == 201
    api_key.revoke()
    assert client.post("/messages", GOOD).status_code == 401
    assert Message.objects.count() == 1


def test_a_key_limited_to_one_integration_cannot_send_through_another(integration):
    other = make_integration(sender="other@example.com")
    api_key, key = make_key()
    api_key.integrations.set([integration])
    client = ApiClient(key)
    refused = client.post("/messages", {**GOOD, "integration": other.name})
    assert refused.status_code == 403 and refused.json()["field"] == "integration"
    refused = client.post("/messages", {**GOOD, "from_email": "other@example.com"})
    assert refused.status_code == 403  # routed to the other one by its sender
    assert not Message.objects.exists()
    assert client.post("/messages", {**GOOD, "integration": integration.pk}).status_code == 201


def test_a_key_limited_to_a_sender_cannot_send_as_another(integration):
    from senders.models import Sender

    second = Sender.objects.create(integration=integration, email="news@example.com")
    api_key, key = make_key()
    api_key.senders.set([second])
    client = ApiClient(key)
    assert client.post("/messages", GOOD).status_code == 403  # the default sender
    response = client.post("/messages", {**GOOD, "from_email": "news@example.com"})
    assert response.status_code == 201


def test_a_batch_is_queued_all_or_nothing(client):
    items = [{**GOOD, "to": [f"user{n}@example.org"]} for n in range(3)]
    response = client.post("/messages/batch", {"messages": items})
    assert response.status_code == 201
    assert [m["kind"] for m in response.json()["items"]] == ["marketing"] * 3
    bad = client.post("/messages/batch", {"messages": [*items, {**GOOD, "to": ["nope"]}]})
    assert (bad.status_code, bad.json()["field"]) == (422, "to")
    assert Message.objects.count() == 3


def test_a_batch_over_the_limit_is_refused(client):
    response = client.post("/messages/batch", {"messages": [GOOD] * 501})
    assert response.status_code == 422 and response.json()["field"] == "messages"


def test_a_nul_in_the_idempotency_key_is_a_422_not_a_database_error(client):
    # Found by schemathesis: PostgreSQL refused to compare the key (a 500).
    response = client.post("/messages", {**GOOD, "idempotency_key": "k\x00"})
    assert (response.status_code, response.json()["field"]) == (422, "idempotency_key")


def test_a_nul_in_the_query_string_is_a_400_problem(client):
    response = client.get("/messages", recipient="a\x00b")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_a_send_at_out_of_range_in_utc_is_a_422(client):
    # Found by schemathesis: the deadline after 9999-12-31 overflowed (a 500).
    response = client.post("/messages", {**GOOD, "send_at": "9999-12-31T23:00:00+00:00"})
    assert (response.status_code, response.json()["field"]) == (422, "send_at")


def test_a_nul_in_a_batch_idempotency_key_is_a_422(client):
    response = client.post("/messages/batch", {"messages": [{**GOOD, "idempotency_key": "\x00"}]})
    assert (response.status_code, response.json()["field"]) == (422, "idempotency_key")
