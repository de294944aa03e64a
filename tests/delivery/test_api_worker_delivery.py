"""A send over HTTP reaches a real SMTP server through a real Celery worker."""

from __future__ import annotations

import pytest

from delivery.models import Message, Status
from tests.conftest import wait_until
from tests.delivery.api_client import ApiClient, make_key
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer


@pytest.mark.django_db(transaction=True)
def test_a_message_posted_to_the_api_is_delivered_by_the_worker(start_worker):
    with SmtpTestServer(credentials={"app": "s3cret"}) as server:
        make_integration(server)
        start_worker()
        client = ApiClient(make_key()[1])
        response = client.post("/messages", {
            "to": ["bob@example.org"], "subject": "Over HTTP", "text": "Hello",
            "attachments": [{"filename": "a.txt", "mimetype": "text/plain",
                             "content_b64": "aGVsbG8="}],
        }, **{"Idempotency-Key": "http-1"})
        assert response.status_code == 201, response.content
        [received] = server.wait_for_messages(1)
        assert received.rcpt_tos == ["bob@example.org"]
        assert received.parsed["Subject"] == "Over HTTP"
        [attachment] = received.parsed.iter_attachments()
        assert attachment.get_content() == "hello"
        message_id = response.json()["id"]
        wait_until(lambda: Message.objects.get(pk=message_id).status == Status.SENT,
                   message="the message row was not marked sent")
        body = client.get(f"/messages/{message_id}").json()
        assert body["status"] == "sent" and body["attempts"][0]["succeeded"]
        again = client.post("/messages", {"to": ["bob@example.org"], "subject": "x",
                                          "text": "y"}, **{"Idempotency-Key": "http-1"})
        assert (again.status_code, again.json()["id"]) == (200, message_id)
    assert len(server.messages) == 1
