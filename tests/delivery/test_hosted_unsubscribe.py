"""Hosted one-click unsubscribe: POST with the token unsubscribes, GET only asks."""

from __future__ import annotations

import re

import pytest

from delivery import engine
from delivery.api import send_email
from delivery.models import FeedbackEvent, Message, Status, Suppression
from delivery.tracking.links import unsubscribe_token
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _https_base(settings):
    settings.TRACKING_BASE_URL = "https://mail.example.com"
    settings.DEFAULT_UNSUBSCRIBE_URL = ""


def _sent_unsubscribe_path() -> tuple[Message, str]:
    """Send a marketing message for real and read its List-Unsubscribe target."""
    with SmtpTestServer() as server:
        integration = make_integration(server)
        message = send_email(to=["reader@example.org"], subject="news", text="x",
                             kind="marketing", integration=integration)
        engine.drain(integration.pk)
        [received] = server.messages
    headers = received.parsed
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(.+)>", str(headers["List-Unsubscribe"]).replace(" ", "")).group(1)
    assert url.startswith("https://mail.example.com/t/u/")
    return message, url.removeprefix("https://mail.example.com")


def test_the_one_click_post_suppresses_the_recipient_for_marketing(client):
    message, path = _sent_unsubscribe_path()
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    entry = Suppression.objects.get()
    assert (entry.address, entry.reason, entry.scope, entry.message_id) == (
        "reader@example.org", "unsubscribe", "marketing", message.pk)
    assert FeedbackEvent.objects.get().kind == "unsubscribe"
    again = send_email(to=["reader@example.org"], subject="more", text="x", kind="marketing",
                       integration=message.integration)
    assert Message.objects.get(pk=again.pk).status == Status.SUPPRESSED


def test_a_get_shows_the_page_and_changes_nothing(client):
    _, path = _sent_unsubscribe_path()
    response = client.get(path)
    assert response.status_code == 200
    assert b'<form method="post">' in response.content
    assert not Suppression.objects.exists() and not FeedbackEvent.objects.exists()


def test_a_tampered_token_answers_404(client):
    message, path = _sent_unsubscribe_path()
    token = path.split("/")[-2]
    forged = unsubscribe_token(message)[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/t/u/{forged}/").status_code == 404
    assert client.post(f"/t/u/{token[:-1]}/").status_code == 404
    assert not Suppression.objects.exists()


def test_a_message_with_its_own_unsubscribe_url_keeps_it():
    with SmtpTestServer() as server:
        integration = make_integration(server)
        send_email(to=["reader@example.org"], subject="news", text="x", kind="marketing",
                   unsubscribe_url="https://app.example.com/unsub/7", integration=integration)
        engine.drain(integration.pk)
        [received] = server.messages
    assert received.parsed["List-Unsubscribe"] == "<https://app.example.com/unsub/7>"


def test_transactional_mail_has_no_unsubscribe_header():
    with SmtpTestServer() as server:
        integration = make_integration(server)
        send_email(to=["reader@example.org"], subject="receipt", text="x",
                   integration=integration)
        engine.drain(integration.pk)
        [received] = server.messages
    assert received.parsed["List-Unsubscribe"] is None
