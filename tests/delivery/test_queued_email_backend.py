"""Django's mail API goes through the queue when EMAIL_BACKEND is the queued backend."""

from __future__ import annotations

import base64

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail

from delivery.api import InvalidMessage
from delivery.models import Message
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queued_backend(settings):
    settings.EMAIL_BACKEND = "delivery.backends.QueuedEmailBackend"
    make_integration()


def test_send_mail_queues_one_message():
    assert send_mail("Hi", "Hello", None, ["bob@example.org"]) == 1
    message = Message.objects.get()
    assert (message.subject, message.text, message.to) == ("Hi", "Hello", ["bob@example.org"])


def test_email_multi_alternatives_keeps_html_attachments_cc_bcc_reply_to_and_headers():
    email = EmailMultiAlternatives(
        "Invoice", "See attached", "app@example.com", ["bob@example.org"],
        cc=["carol@example.org"], bcc=["dave@example.org"], reply_to=["help@example.com"],
        headers={"X-Order": "42", "X-Notifuse-Kind": "marketing"},
    )
    email.attach_alternative("<p>See attached</p>", "text/html")
    email.attach("invoice.pdf", b"%PDF-1.4 bytes", "application/pdf")
    email.send()
    message = Message.objects.get()
    assert message.kind == "marketing"
    assert message.html == "<p>See attached</p>"
    assert (message.cc, message.bcc, message.reply_to) == (
        ["carol@example.org"], ["dave@example.org"], ["help@example.com"],
    )
    assert message.headers == {"X-Order": "42"}
    [attachment] = message.attachments
    assert base64.b64decode(attachment["content_b64"]) == b"%PDF-1.4 bytes"


def test_invalid_input_raises_even_with_fail_silently():
    with pytest.raises(InvalidMessage):
        send_mail("Hi\nBcc: x@example.org", "Hello", None, ["bob@example.org"], fail_silently=True)
    assert not Message.objects.exists()


def test_the_routing_headers_are_read_whatever_their_case():
    # Header names are case-insensitive: "x-notifuse-kind" went out with the message and the
    # mail was queued as transactional.
    email = EmailMultiAlternatives(
        "News", "Hello", "app@example.com", ["bob@example.org"],
        headers={"x-notifuse-kind": "marketing", "X-NOTIFUSE-IDEMPOTENCY-KEY": "news-1"},
    )
    email.send()
    email.send()
    message = Message.objects.get()
    assert (message.kind, message.idempotency_key) == ("marketing", "news-1")
    assert message.headers == {}


def test_an_html_body_keeps_its_plain_text_alternative():
    email = EmailMultiAlternatives("Hi", "<p>Hello</p>", None, ["bob@example.org"])
    email.content_subtype = "html"
    email.attach_alternative("Hello", "text/plain")
    email.send()
    message = Message.objects.get()
    assert (message.text, message.html) == ("Hello", "<p>Hello</p>")


def test_an_alternative_that_cannot_be_queued_is_refused_not_dropped():
    # A calendar invitation used to be queued without its text/calendar part.
    email = EmailMultiAlternatives("Meeting", "See the invitation", None, ["bob@example.org"])
    email.attach_alternative("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    with pytest.raises(InvalidMessage) as caught:
        email.send()
    assert caught.value.field == "alternatives"
    assert not Message.objects.exists()


def test_an_inline_image_keeps_its_content_id_so_the_html_can_show_it():
    from email import message_from_bytes, policy
    from email.mime.image import MIMEImage

    from delivery.mime import render

    png = b"\x89PNG\r\n\x1a\n fake image bytes"
    image = MIMEImage(png, "png")
    image.add_header("Content-ID", "<logo@example.com>")
    image.add_header("Content-Disposition", "inline", filename="logo.png")
    email = EmailMultiAlternatives("Welcome", "Hello", "app@example.com", ["bob@example.org"])
    email.attach_alternative('<p><img src="cid:logo@example.com"></p>', "text/html")
    email.attach(image)
    email.attach("terms.txt", "Terms", "text/plain")
    email.send()

    sent = message_from_bytes(render(Message.objects.get()), policy=policy.default)
    [shown] = [p for p in sent.walk() if p["Content-ID"]]
    assert shown["Content-ID"] == "<logo@example.com>"
    assert shown.get_content_disposition() == "inline"
    assert shown.get_filename() == "logo.png"
    assert shown.get_content_type() == "image/png"
    assert shown.get_payload(decode=True) == png
    [terms] = [p for p in sent.walk() if p.get_filename() == "terms.txt"]
    assert terms.get_content_disposition() == "attachment"


def test_an_attached_part_holding_parts_is_refused_not_sent_empty():
    from email.mime.multipart import MIMEMultipart

    email = EmailMultiAlternatives("Fwd", "See below", "app@example.com", ["bob@example.org"])
    email.attach(MIMEMultipart("mixed"))
    with pytest.raises(InvalidMessage) as refused:
        email.send()
    assert refused.value.field == "attachments"
    assert not Message.objects.exists()


def test_a_from_header_is_the_sender_and_is_checked_like_from_email():
    email = EmailMultiAlternatives("Hi", "Hello", "app@example.com", ["bob@example.org"],
                                   headers={"From": "Support <app@example.com>"})
    email.send()
    message = Message.objects.get()
    assert message.from_email == "Support <app@example.com>" and "From" not in message.headers
    spoofed = EmailMultiAlternatives("Hi", "Hello", "app@example.com", ["bob@example.org"],
                                     headers={"From": "ceo@elsewhere.example"})
    with pytest.raises(InvalidMessage) as refused:
        spoofed.send()
    assert refused.value.field == "from_email"
