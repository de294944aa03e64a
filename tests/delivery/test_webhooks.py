"""Webhooks: each event stored, POSTed signed (Standard Webhooks), retried with backoff while
the receiver fails, every event arriving once it recovers; staff see and replay deliveries."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from django.utils import timezone

from delivery import engine
from delivery.api import send_email
from delivery.webhooks import sending, signing
from delivery.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.http_receiver import WebhookReceiver
from tests.support.smtp_servers import SmtpTestServer

EVENTS = ["message.sent", "message.failed"]


def make_endpoint(url: str, events=EVENTS) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=url, events=events, secret=signing.new_secret())


def verified(request, secret: str) -> bool:
    headers = request.headers
    return signing.verify(secret, headers["webhook-id"], int(headers["webhook-timestamp"]),
                          request.body, headers["webhook-signature"])


def test_the_signature_matches_the_standard_webhooks_example():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


@pytest.mark.django_db(transaction=True)
def test_events_survive_a_failing_receiver_and_all_arrive_once_it_recovers(start_worker):
    with WebhookReceiver(answer=500) as receiver, SmtpTestServer(
            reject_rcpt={"gone@example.org": "550 5.1.1 No such user"}) as server:
        endpoint = make_endpoint(receiver.url)
        integration = make_integration(server)
        start_worker(WEBHOOK_RETRY_BASE_SECONDS="0.3", WEBHOOK_RETRY_MAX_SECONDS="2")
        for to in ("a@example.org", "b@example.org", "gone@example.org"):
            send_email(to=to, subject="s", text="x", integration=integration)
        by_event = defaultdict(list)

        def tried_three_times_each() -> bool:
            by_event.clear()
            for request in list(receiver.requests):
                by_event[request.headers["webhook-id"]].append(request)
            return len(by_event) == 3 and all(len(r) >= 3 for r in by_event.values())

        wait_until(tried_three_times_each, timeout=30, message="no retries while failing")
        receiver.answer = 200
        wait_until(lambda: WebhookDelivery.objects.filter(
            state=DeliveryState.DELIVERED).count() == 3, timeout=30,
            message="not every event arrived after the receiver recovered")
    assert all(verified(r, endpoint.secret) for r in receiver.requests)
    for requests in by_event.values():
        assert len({r.body for r in requests}) == 1  # the same event each time
        gaps = [b.received_at - a.received_at for a, b in zip(requests, requests[1:], strict=False)]
        # Backoff: the n-th wait is at least 0.8 x 0.3 s x 2^(n-1) (jitter takes up to 20 %
        # off; a busy machine only adds to it).
        assert gaps[0] >= 0.24 and gaps[1] >= 0.48
    delivered = {json.loads(r.body)["type"] for r in receiver.requests if r.answered == 200}
    assert delivered == {"message.sent", "message.failed"}
    for delivery in WebhookDelivery.objects.all():
        answers = [r.answered for r in receiver.requests
                   if r.headers["webhook-id"] == delivery.event_id]
        assert answers[-1] == 200 and answers.count(200) == 1
        assert delivery.attempts.count() == len(answers) == delivery.tries


@pytest.mark.django_db(transaction=True)  # delivery's signals are sent after commit
def test_a_delivery_is_stored_first_and_only_for_subscribed_active_endpoints():
    with WebhookReceiver() as receiver, SmtpTestServer() as server:
        listening = make_endpoint(receiver.url)
        make_endpoint(receiver.url, events=["message.opened"])
        WebhookEndpoint.objects.create(url=receiver.url, events=EVENTS, is_active=False,
                                       secret=signing.new_secret())
        integration = make_integration(server)
        message = send_email(to="a@example.org", subject="s", text="x", integration=integration)
        engine.drain(integration.pk)
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.endpoint == listening and delivery.state == DeliveryState.PENDING
    assert delivery.payload["data"]["message_id"] == message.pk
    assert delivery.payload["data"]["recipients"] == ["a@example.org"]
    assert receiver.requests == []  # stored; a worker sends it


@pytest.mark.django_db
def test_staff_see_each_delivery_with_its_response_codes_and_replay_it(admin_client):
    with WebhookReceiver(answer=503) as receiver:
        endpoint = make_endpoint(receiver.url)
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id="evt_1", event_type="message.sent",
            payload={"type": "message.sent"}, due_at=timezone.now())
        assert sending.deliver(delivery.pk) == DeliveryState.PENDING
        page = admin_client.get("/portal/webhooks/").content.decode()
        assert "evt_1" in page and "503" in page
        receiver.answer = 200
        admin_client.post(f"/portal/webhooks/{delivery.pk}/replay/")
        assert sending.deliver(delivery.pk) == DeliveryState.DELIVERED
        assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_1", "evt_1"]
    assert "200" in admin_client.get("/portal/webhooks/").content.decode()


@pytest.mark.django_db
def test_the_admin_shows_a_new_endpoints_secret_once(admin_client):
    response = admin_client.post("/admin/delivery/webhookendpoint/add/", {
        "url": "https://hooks.example.com/in", "events": ["message.sent"], "is_active": "on"})
    secret = response.context["secret"]
    endpoint = WebhookEndpoint.objects.get()
    assert secret.startswith("whsec_") and endpoint.secret == secret
    page = admin_client.get(f"/admin/delivery/webhookendpoint/{endpoint.pk}/change/")
    assert secret not in page.content.decode()


@pytest.mark.django_db
def test_the_sweeper_publishes_a_delivery_whose_wake_up_was_lost(settings):
    from datetime import timedelta

    settings.DELIVERY_SWEEP_SECONDS = 30
    endpoint = make_endpoint("http://127.0.0.1:9/never")
    old = timezone.now() - timedelta(minutes=5)
    lost = WebhookDelivery.objects.create(endpoint=endpoint, event_id="evt_lost",
                                          event_type="message.sent", payload={}, due_at=old)
    WebhookDelivery.objects.create(endpoint=endpoint, event_id="evt_new",
                                   event_type="message.sent", payload={}, due_at=timezone.now())
    WebhookDelivery.objects.create(endpoint=endpoint, event_id="evt_held", payload={},
                                   event_type="message.sent", due_at=old,
                                   locked_until=timezone.now() + timedelta(minutes=1))
    assert sending.sweep() == 1
    assert sending.deliver(lost.pk) == DeliveryState.PENDING  # nobody listens on port 9
    assert WebhookDelivery.objects.get(pk=lost.pk).last_response_code is None
