"""List-Unsubscribe on marketing mail: one-click (RFC 8058) only for HTTPS URLs, and
DEFAULT_UNSUBSCRIBE_URL filled in with an unguessable token, never the sequential
message id."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from django.core import signing

from delivery import engine
from delivery.api import encode_attachment, send_email
from delivery.mime import render
from delivery.models import Message, Suppression
from delivery.tracking.links import UNSUBSCRIBE_SALT, unsubscribe_recipients
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    return make_integration()


@pytest.fixture(autouse=True)
def _no_default_url(settings):
    settings.DEFAULT_UNSUBSCRIBE_URL = ""
    settings.TRACKING_BASE_URL = "https://mail.example.com"


def headers_of(message: Message) -> email.message.EmailMessage:
    return email.message_from_bytes(render(message), policy=email.policy.default)


def marketing(**fields) -> Message:
    return send_email(to="reader@example.org", subject="news", text="x", kind="marketing", **fields)


def unsubscribe_target(message: Message) -> str:
    value = str(headers_of(message)["List-Unsubscribe"]).replace(" ", "")
    return re.fullmatch(r"<(.+)>", value).group(1)


@pytest.mark.parametrize("url", ["https://app.example.com/u/1", "HTTPS://app.example.com/u/1"])
def test_an_https_url_gets_the_one_click_header(integration, url):
    parsed = headers_of(marketing(unsubscribe_url=url))
    assert parsed["List-Unsubscribe"] == f"<{url}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("url", ["http://app.example.com/u/1", "mailto:leave@example.com"])
def test_http_and_mailto_urls_keep_list_unsubscribe_without_one_click(integration, url):
    for attachments in ([], [encode_attachment("a.txt", b"hi", "text/plain")]):
        parsed = headers_of(marketing(unsubscribe_url=url, attachments=attachments))
        assert parsed["List-Unsubscribe"] == f"<{url}>"
        assert parsed["List-Unsubscribe-Post"] is None


def test_the_hosted_page_is_one_click_only_on_an_https_base(integration, settings):
    assert headers_of(marketing())["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    settings.TRACKING_BASE_URL = "http://mail.example.com"
    message = marketing()
    assert unsubscribe_target(message).startswith("http://mail.example.com/t/u/")
    assert headers_of(message)["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize("placeholder", ["{token}", "{message_id}"])
def test_the_default_url_carries_an_unguessable_token_not_the_message_id(
    integration, settings, placeholder
):
    settings.DEFAULT_UNSUBSCRIBE_URL = f"https://app.example.com/unsubscribe/{placeholder}?x=1"
    first, second = marketing(), marketing()
    urls = [unsubscribe_target(m) for m in (first, second)]
    tokens = [
        re.fullmatch(r"https://app\.example\.com/unsubscribe/(.+)\?x=1", u).group(1) for u in urls
    ]
    assert tokens[0] != tokens[1]
    assert str(first.pk) not in tokens and str(second.pk) not in tokens
    message, recipients = unsubscribe_recipients(tokens[0])
    assert (message.pk, recipients) == (first.pk, ["reader@example.org"])
    # The key names the message: an altered token names none.
    assert unsubscribe_recipients(tokens[0].replace(tokens[0][:2], "WW", 1)) is None
    assert unsubscribe_recipients(("0" if tokens[0][0] != "0" else "1") + tokens[0][1:]) is None


def test_a_signed_token_in_mail_sent_before_the_key_tokens_still_unsubscribes(
    integration, client
):
    message = marketing()
    signed = signing.dumps([message.pk, ["reader@example.org"]], salt=UNSUBSCRIBE_SALT,
                           compress=True)
    assert client.post(f"/t/u/{signed}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Suppression.objects.get().address == "reader@example.org"
    forged = signing.dumps([message.pk, ["someone@example.org"]], salt="another salt")
    assert client.post(f"/t/u/{forged}/").status_code == 404


def test_a_default_url_token_redeemed_at_the_hosted_endpoint_unsubscribes(settings, client):
    settings.DEFAULT_UNSUBSCRIBE_URL = "https://app.example.com/unsubscribe/{token}"
    with SmtpTestServer() as server:
        integration = make_integration(server)
        message = marketing(integration=integration)
        engine.drain(integration.pk)
        [received] = server.messages
    header = str(received.parsed["List-Unsubscribe"]).replace(" ", "")
    token = re.fullmatch(r"<https://app\.example\.com/unsubscribe/(.+)>", header).group(1)
    assert received.parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The organisation's page forwards the one-click POST to this service's hosted endpoint.
    assert client.post(f"/t/u/{token}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    entry = Suppression.objects.get()
    assert (entry.address, entry.reason, entry.message_id) == (
        "reader@example.org",
        "unsubscribe",
        message.pk,
    )
    assert client.post(f"/t/u/{message.pk}/").status_code == 404


def test_a_default_url_without_a_placeholder_goes_as_it_is(integration, settings):
    settings.DEFAULT_UNSUBSCRIBE_URL = "mailto:leave@example.com?subject=unsubscribe"
    parsed = headers_of(marketing())
    assert parsed["List-Unsubscribe"] == "<mailto:leave@example.com?subject=unsubscribe>"
    assert parsed["List-Unsubscribe-Post"] is None
