"""send_email: what it accepts, what it refuses (naming the field), and what it stores."""

from __future__ import annotations

import base64

import pytest

from delivery.api import InvalidMessage, send_email
from delivery.models import Message, Status
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    return make_integration()


def test_it_queues_a_message_with_the_default_sender(integration):
    message = send_email(to="bob@example.org", subject="Hi", text="Hello")
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.integration == integration
    assert message.from_email == "App <app@example.com>"
    assert message.to == ["bob@example.org"]


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("subject", {"subject": "Hi\r\nBcc: victim@example.org"}),
        ("to", {"to": ["bob@example.org\nBcc: victim@example.org"]}),
        ("to", {"to": ["not-an-address"]}),
        ("to", {"to": [""]}),
        ("to", {"to": []}),
        ("cc", {"cc": ["a@b@c"]}),
        ("headers[X-Tag]", {"headers": {"X-Tag": "a\r\nBcc: victim@example.org"}}),
        ("headers", {"headers": {"Bad Name": "x"}}),
        ("from_email", {"from_email": "stranger@example.com"}),
        ("kind", {"kind": "newsletter"}),
        # Longer than its column: PostgreSQL refused it at the INSERT (a DataError traceback).
        ("subject", {"subject": "x" * 999}),
        ("from_email", {"from_email": "A" * 600 + " <app@example.com>"}),
        ("idempotency_key", {"idempotency_key": "k" * 256}),
        ("unsubscribe_url", {"kind": "marketing",
                             "unsubscribe_url": "https://example.com/u/" + "x" * 2000}),
        # What PostgreSQL cannot store: a NUL character, a lone surrogate (bytes decoded with
        # errors="surrogateescape"); the INSERT raised DataError or UnicodeEncodeError.
        ("text", {"text": "a\x00b"}),
        ("html", {"html": "<p>a\x00b</p>"}),
        ("subject", {"subject": "a\x00b"}),
        ("headers[X-Tag]", {"headers": {"X-Tag": "a\x00b"}}),
        ("headers", {"headers": {"X-\x00": "b"}}),
        ("headers", {"headers": {"X-\tTag": "b"}}),
        ("text", {"text": "caf\udce9"}),  # bytes decoded with errors="surrogateescape"
        ("subject", {"subject": "caf\udce9"}),
        ("to", {"to": ["Caf\udce9 <bob@example.org>"]}),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_stores_nothing(integration, field, kwargs):
    arguments = {"to": ["bob@example.org"], "subject": "Hi", "text": "Hello", **kwargs}
    with pytest.raises(InvalidMessage) as caught:
        send_email(**arguments)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError)
    assert not Message.objects.exists()


def test_it_refuses_an_oversize_message(integration, settings):
    settings.DELIVERY_MAX_MESSAGE_BYTES = 1000
    with pytest.raises(InvalidMessage, match="over the limit"):
        send_email(to="bob@example.org", subject="Big", text="x" * 1001)
    assert not Message.objects.exists()


def test_it_accepts_idn_domains_and_utf8_names(integration):
    message = send_email(to="Jürgen <juergen@bücher.example>", subject="Grüße", text="Hallo")
    message.refresh_from_db()
    assert message.to == ["Jürgen <juergen@bücher.example>"]
    assert message.subject == "Grüße"


def test_it_accepts_non_ascii_local_parts_for_smtputf8(integration):
    # RFC 6531: the message goes out with SMTPUTF8 (or fails clearly where it is not offered).
    message = send_email(to=["用户@例子.广告", "Jörg <jörg@example.com>"], bcc=["ünal@straße.de"],
                         subject="Hi", text="x")
    message.refresh_from_db()
    assert message.to == ["用户@例子.广告", "Jörg <jörg@example.com>"]
    assert message.bcc == ["ünal@straße.de"]


@pytest.mark.parametrize(("field", "address"), [
    # IDNA 2003 (Python's "idna" codec) took symbols and a leading combining mark; IDNA 2008
    # does not, so no server could be told where to deliver them.
    ("to", "bob@☃.example"),
    ("cc", "Bob <bob@\u0301a.example>"),
    ("reply_to", "bob@例子..广告"),
    ("bcc", "bob@ab--cd.straße.de"),
    ("from_email", "app@♥.example"),
])
def test_a_domain_idna_2008_cannot_encode_is_refused_naming_the_field(integration, field, address):
    with pytest.raises(InvalidMessage, match="IDNA 2008") as caught:
        send_email(**{"to": ["bob@example.org"], field: [address] if field != "from_email" else
                      address}, subject="Hi", text="x")
    assert caught.value.field == field
    assert not Message.objects.exists()


@pytest.mark.parametrize("local", ["zero\u200bwidth", "bell\x07", "rtl\u202eoverride"])
def test_invisible_characters_before_the_at_are_refused(integration, local):
    with pytest.raises(InvalidMessage, match="invisible or control characters") as caught:
        send_email(to=[f"{local}ä@example.org"], subject="Hi", text="x")
    assert caught.value.field == "to"


def test_the_same_idempotency_key_returns_the_same_message(integration):
    first = send_email(to="bob@example.org", subject="Hi", text="1", idempotency_key="order-1")
    second = send_email(to="bob@example.org", subject="Hi", text="2", idempotency_key="order-1")
    assert first.pk == second.pk
    assert Message.objects.count() == 1


def test_with_no_integration_flagged_for_the_kind_it_says_so(integration):
    integration.use_for_marketing = False
    integration.save()
    with pytest.raises(InvalidMessage, match="no active integration is flagged for marketing"):
        send_email(to="bob@example.org", subject="News", text="x", kind="marketing")


def test_lazy_strings_are_accepted_as_addresses(integration):
    from django.utils.translation import gettext_lazy

    message = send_email(to=[gettext_lazy("Support <help@example.org>")], subject="Hi",
                         text="x")
    assert Message.objects.get(pk=message.pk).to == ["Support <help@example.org>"]


@pytest.mark.parametrize("line_break", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
                                        "\u2029"])
@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("subject", lambda lb: {"subject": f"Hi{lb}Bcc: victim@example.org"}),
        ("headers[X-Tag]", lambda lb: {"headers": {"X-Tag": f"a{lb}Bcc: victim@example.org"}}),
    ],
)
def test_it_refuses_every_line_break_the_email_package_folds_at(
    integration, line_break, field, kwargs
):
    # Python's email package splits header values at whatever str.splitlines() splits at:
    # a vertical tab or form feed would end the header in the worker, or make it fail there.
    arguments = {"to": ["bob@example.org"], "subject": "Hi", "text": "Hello",
                 **kwargs(line_break)}
    with pytest.raises(InvalidMessage) as caught:
        send_email(**arguments)
    assert caught.value.field == field
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "attachment",
    [
        ("report.pdf", b"%PDF", "application/pdf"),  # Django's (filename, content, mimetype)
        {"filename": "report.pdf", "content": b"%PDF", "mimetype": "application/pdf"},
        {"filename": "report.pdf", "content_b64": "not base64!", "mimetype": "application/pdf"},
        {"filename": "report.pdf", "content_b64": "JVBERg==", "mimetype": "pdf"},
        {"filename": "report\n.pdf", "content_b64": "JVBERg==", "mimetype": "application/pdf"},
    ],
    ids=["tuple", "raw content", "bad base64", "mimetype without subtype", "line break"],
)
def test_an_attachment_the_worker_could_not_render_is_refused(integration, attachment):
    # These were stored, then Django's render in the worker raised (KeyError, binascii.Error,
    # ValueError) on every try: the message could never be sent. A tuple raised
    # AttributeError from the size check.
    with pytest.raises(InvalidMessage) as caught:
        send_email(to="bob@example.org", subject="Report", text="Attached",
                   attachments=[attachment])
    assert caught.value.field == "attachments"
    assert not Message.objects.exists()


def test_an_attachment_from_encode_attachment_is_queued(integration):
    from delivery.api import encode_attachment

    attachment = encode_attachment("report.pdf", b"%PDF", "application/pdf")
    message = send_email(to="bob@example.org", subject="Report", text="Attached",
                         attachments=[attachment])
    assert Message.objects.get(pk=message.pk).attachments == [attachment]


def test_send_bulk_treats_a_used_idempotency_key_as_send_email_does(integration):
    # A repeated key raised IntegrityError and rolled back the whole bulk.
    from delivery.api import send_bulk

    first = send_email(to="a@example.org", subject="Hi", text="1", idempotency_key="news-a")
    items = [
        {"to": ["a@example.org"], "subject": "Hi", "text": "2", "idempotency_key": "news-a"},
        {"to": ["b@example.org"], "subject": "Hi", "text": "3", "idempotency_key": "news-b"},
        {"to": ["b@example.org"], "subject": "Hi", "text": "4", "idempotency_key": "news-b"},
    ]
    queued = send_bulk(items)
    assert [m.pk for m in queued] == [first.pk, queued[1].pk, queued[1].pk]
    assert Message.objects.count() == 2
    assert send_bulk(items)[1].pk == queued[1].pk
    assert Message.objects.count() == 2


@pytest.mark.parametrize("content_id", ["<logo@example.com>", "logo @example.com", "a\nb", 7])
def test_a_content_id_that_cannot_go_in_a_header_is_refused(content_id):
    from delivery.api import encode_attachment

    item = {**encode_attachment("logo.png", b"png", "image/png"), "content_id": content_id}
    with pytest.raises(InvalidMessage) as refused:
        send_email(to=["bob@example.org"], subject="Hi", text="x", attachments=[item])
    assert refused.value.field == "attachments"


@pytest.mark.parametrize(("header", "argument"),
                         [("From", "from_email"), ("sender", "from_email"), ("BCC", "bcc")])
def test_headers_that_would_bypass_the_checks_are_refused(header, argument):
    # A From header showed any address whatever the senders; a Bcc header was read by every
    # recipient and reached nobody.
    with pytest.raises(InvalidMessage) as refused:
        send_email(to=["bob@example.org"], subject="Hi", text="x",
                   headers={header: "boss@example.com"})
    assert refused.value.field == "headers" and f"{argument}=" in str(refused.value)
    assert not Message.objects.exists()


# Issue 14, item 9: headers the message builds, given again in any case, went out twice
# (Subject, Content-Type, MIME-Version), or replaced or were dropped by how they were spelt
# (To, Date); control characters went out raw; multipart and message/partial attachments
# went out base64-encoded, which RFC 2046 forbids.
LONG_EML = b"Subject: x\r\n\r\n" + b"y" * 1200 + b"\r\n"


@pytest.mark.parametrize(
    ("field", "kwargs", "says"),
    [
        ("headers", {"headers": {"subject": "Other"}}, "pass subject="),
        ("headers", {"headers": {"SUBJECT": "Other"}}, "pass subject="),
        ("headers", {"headers": {"content-type": "text/html"}}, "the message sets it"),
        ("headers", {"headers": {"Content-Transfer-Encoding": "base64"}}, "the message sets"),
        ("headers", {"headers": {"Mime-Version": "1.0"}}, "the message sets it"),
        ("headers", {"headers": {"To": "other@example.org"}}, "pass to="),
        ("headers", {"headers": {"to": "other@example.org"}}, "pass to="),
        ("headers", {"headers": {"CC": "other@example.org"}}, "pass cc="),
        ("headers", {"headers": {"reply-to": "other@example.org"}}, "pass reply_to="),
        ("headers", {"headers": {"date": "Mon, 1 Jan 2024 00:00:00 +0000"}}, "when the message"),
        ("headers", {"headers": {"X-Tag": "a", "x-tag": "b"}}, "the same header"),
        ("headers", {"headers": {"Message-ID": "<a@x.example>", "message-id": "<b@x.example>"}},
         "the same header"),
        ("headers", {"kind": "marketing", "headers": {"list-unsubscribe": "<https://x.example>"}},
         "pass unsubscribe_url="),
        ("headers[Message-ID]", {"headers": {"Message-ID": "no-brackets@x.example"}}, "<id@"),
        ("headers[Message-ID]", {"headers": {"Message-ID": f"<{'m' * 990}@x.example>"}},
         "at most"),
        ("headers[X-Tag]", {"headers": {"X-Tag": "ring\x07"}}, "control characters"),
        ("headers[X-Tag]", {"headers": {"X-Tag": "\x1b[31mred"}}, "control characters"),
        ("headers[X-Tag]", {"headers": {"X-Tag": "del\x7f"}}, "control characters"),
        ("subject", {"subject": "ring\x07"}, "control characters"),
        ("attachments", {"attachments": [
            {"filename": "a\x1b.txt", "mimetype": "text/plain", "content_b64": ""}]},
         "control characters"),
        ("attachments", {"attachments": [
            {"filename": "parts", "mimetype": "multipart/mixed", "content_b64": ""}]},
         "RFC 2046"),
        ("attachments", {"attachments": [
            {"filename": "p", "mimetype": "Message/Partial", "content_b64": ""}]}, "RFC 2046"),
        ("attachments", {"attachments": [
            {"filename": "m.eml", "mimetype": "message/rfc822",
             "content_b64": base64.b64encode(LONG_EML).decode()}]}, "over 998 bytes"),
        ("attachments", {"html": "<img src='cid:x'>", "attachments": [
            {"filename": "i.png", "mimetype": "image/png", "content_b64": "",
             "content_id": "c" * 1000}]}, "over the limit"),
    ],
)
def test_it_refuses_headers_the_message_builds_and_control_characters(
    integration, field, kwargs, says
):
    arguments = {"to": ["bob@example.org"], "subject": "Hi", "text": "Hello", **kwargs}
    with pytest.raises(InvalidMessage) as caught:
        send_email(**arguments)
    assert caught.value.field == field and says in str(caught.value)
    assert not Message.objects.exists()


def test_transactional_mail_may_carry_its_own_list_unsubscribe(integration):
    message = send_email(to=["bob@example.org"], subject="Hi", text="Hello",
                         headers={"List-Unsubscribe": "<mailto:leave@example.com>", "X-T": "a\tb"})
    assert message.headers == {"List-Unsubscribe": "<mailto:leave@example.com>", "X-T": "a\tb"}
