"""The fast MIME path: the same message as Django's path, taken only when it can be."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from delivery.api import build_message, encode_attachment
from delivery.mime import build_email, fast_render, render
from delivery.tracking.links import hosted_unsubscribe_url
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

BOUNDARY = re.compile(rb"={15}\d{19}==")

SIMPLE = {
    "text only": {"text": "Hi Bob,\nyour order shipped.\n"},
    "html only": {"html": "<p>Hi <b>Bob</b></p>"},
    "text and html": {"text": "Hi Bob", "html": "<p>Hi <b>Bob</b></p>\n"},
    "cc and reply_to": {
        "text": "Hi",
        "cc": ["Carol <carol@example.org>", "dave@example.org"],
        "reply_to": ["Support Team <support@example.com>"],
    },
    "custom headers": {
        "text": "Hi",
        "html": "<p>Hi</p>",
        "headers": {"X-Order": "A-1001", "X-Campaign": "spring"},
    },
    "marketing": {
        "text": "Sale!",
        "kind": "marketing",
        "unsubscribe_url": "https://example.com/unsubscribe/1",
    },
    "utf-8 body": {"text": "Viele Grüße €\n", "html": "<p>Grüße €</p>"},
    "bare LF and CR line endings": {"text": "one\ntwo\rthree\r\nfour\n\n"},
    "a line starting with a dot": {"text": ".\n.hidden\nFrom here\n.", "html": "<p>\n.</p>"},
    "a 998-byte line": {"text": "é" * 499},
    # Written as its IDNA 2008 A-labels on both paths (Django's own encoding is IDNA 2003).
    "an IDN domain": {"text": "Hi", "to": ["j@bücher.example", "Anna <anna@straße.de>"]},
}

FALLBACK = {
    "a 1,200-char line": {"text": "x" * 1200 + "\nend", "html": "<p>short</p>"},
    "a 999-byte UTF-8 line": {"text": "é" * 499 + "x"},
    "a non-ASCII subject": {"text": "Hi", "subject": "Grüße"},
    "a subject that needs folding": {"text": "Hi", "subject": "word " * 20},
    "a non-ASCII display name": {"text": "Hi", "to": ["Jürgen <j@example.org>"]},
    "a long custom header": {"text": "Hi", "headers": {"X-Long": "y" * 80}},
    "a custom MIME header": {"text": "Hi", "headers": {"Content-Language": "de"}},
    "an attachment": {
        "text": "See attached",
        "attachments": [encode_attachment("a.txt", b"hello", "text/plain")],
    },
}


@pytest.fixture(autouse=True)
def integration(settings):
    # Tracking tokens carry a timestamp: off, both paths see the same HTML.
    settings.TRACKING_ENABLED = False
    return make_integration()


def saved_message(**fields):
    arguments = {"to": ["Bob <bob@example.org>"], "subject": "Hello", **fields}
    message = build_message(**arguments)
    message.save()  # Message-ID needs pk and created_at
    return message


def django_render(message) -> bytes:
    return build_email(message).message().as_bytes(linesep="\r\n")


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def header_items(part) -> list[tuple[str, str]]:
    """Headers as (name, value); Date and the multipart boundary differ between renders, and
    Django's folding drops the space that ends a value."""
    return [
        (name, "<date>" if name == "Date" else re.sub(r'boundary="[^"]*"', "boundary=<b>",
                                                      value.strip()))
        for name, value in part.items()
    ]


def assert_same_message(raw: bytes, expected: bytes) -> None:
    got_parts, expected_parts = list(parse(raw).walk()), list(parse(expected).walk())
    assert len(got_parts) == len(expected_parts)
    for got, want in zip(got_parts, expected_parts, strict=True):
        assert header_items(got) == header_items(want)
        if not got.is_multipart():
            assert got.get_content() == want.get_content()


def assert_wire_safe(raw: bytes) -> None:
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def same_bytes_apart_from_date_and_boundary(raw: bytes, expected: bytes) -> bool:
    def normalized(data: bytes) -> bytes:
        return BOUNDARY.sub(b"<b>", re.sub(rb"\r\nDate: [^\r]*", b"\r\nDate: <d>", data))

    return normalized(raw) == normalized(expected)


@pytest.mark.parametrize("fields", SIMPLE.values(), ids=SIMPLE.keys())
def test_the_fast_path_renders_what_django_renders(fields):
    message = saved_message(**fields)
    raw = fast_render(message)
    assert raw is not None, "the fast path should apply"
    expected = django_render(message)
    assert_same_message(raw, expected)
    assert same_bytes_apart_from_date_and_boundary(raw, expected)
    assert_wire_safe(raw)


@pytest.mark.parametrize("fields", FALLBACK.values(), ids=FALLBACK.keys())
def test_other_messages_fall_back_to_djangos_path(fields):
    message = saved_message(**fields)
    assert fast_render(message) is None
    assert_same_message(render(message), django_render(message))


def test_render_takes_the_fast_path_for_a_simple_message(monkeypatch):
    message = saved_message(text="Hi")
    monkeypatch.setattr("delivery.mime.build_email", pytest.fail)
    assert parse(render(message))["Subject"] == "Hello"


def test_the_parsed_fast_message_has_the_expected_shape():
    message = saved_message(
        text="Viele Grüße €", html="<p>Hi</p>", cc=["carol@example.org"],
        headers={"X-Order": "A-1001"}, kind="marketing",
        unsubscribe_url="https://example.com/unsubscribe/1",
    )
    parsed = parse(fast_render(message))
    assert parsed.get_content_type() == "multipart/alternative"
    assert [name for name, _ in parsed.items()] == [
        "Content-Type", "MIME-Version", "Subject", "From", "To", "Cc", "Date", "Message-ID",
        "X-Order", "List-Unsubscribe", "List-Unsubscribe-Post",
    ]
    assert parsed["List-Unsubscribe"] == "<https://example.com/unsubscribe/1>"
    text, html = parsed.iter_parts()
    assert text["Content-Transfer-Encoding"] == "8bit"
    assert html["Content-Transfer-Encoding"] == "7bit"
    # The CRLF before a delimiter belongs to the delimiter, not to the part.
    assert text.get_content() == "Viele Grüße €"


@pytest.mark.parametrize("name", ["Message-ID", "message-id", "Message-Id"])
def test_the_senders_message_id_replaces_the_one_the_message_makes(name):
    # In another case than Django's "Message-ID" it went out beside the generated one.
    message = saved_message(text="Hi", headers={name: "<own@app.example>"})
    assert message.headers == {"Message-ID": "<own@app.example>"}
    raw = fast_render(message)
    assert raw is not None
    assert_same_message(raw, django_render(message))
    assert parse(raw).get_all("Message-ID") == ["<own@app.example>"]


def test_the_fast_path_sends_the_tracked_html(settings):
    settings.TRACKING_ENABLED = True
    message = saved_message(html='<p><a href="https://example.com/x">x</a></p>', track=True)
    html = parse(fast_render(message)).get_body(("html",)).get_content()
    assert "/t/c/" in html and "/t/o/" in html


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\u2028", "\x85"])
def test_no_line_goes_out_longer_than_998_bytes_whatever_splits_it_for_python(separator):
    # Django measured lines with str.splitlines(), which breaks at these characters: the
    # line (one for SMTP) went out in 8bit, 1,101 bytes long.
    body = "x" * 500 + separator + "ü" * 300
    message = build_message(to=["bob@example.org"], subject="Long", text=body, html=f"<p>{body}",
                            integration=make_integration())
    message.save()
    rendered = render(message)
    assert max(len(line) for line in rendered.split(b"\r\n")) <= 998
    parsed = email.message_from_bytes(rendered, policy=email.policy.default)
    plain, html = (part.get_content() for part in parsed.iter_parts())
    assert plain.rstrip("\n") == body and html.rstrip("\n") == f"<p>{body}"


def test_marketing_mail_with_the_hosted_unsubscribe_url_takes_the_fast_path(
    monkeypatch, settings
):
    # A hosted URL longer than a header line: the fast path folds it inside its angle
    # brackets, byte for byte as the full path does (a bulk send is all such messages).
    settings.TRACKING_BASE_URL = "https://newsletters-of-a-long-named-organisation.example.com"
    message = saved_message(text="Sale!", kind="marketing")
    raw = fast_render(message)
    assert raw is not None, "the fast path should apply"
    monkeypatch.setattr("delivery.mime._fast_render", lambda *args: None)
    assert same_bytes_apart_from_date_and_boundary(raw, render(message))
    assert_wire_safe(raw)
    folded = parse(raw)["List-Unsubscribe"]
    assert re.sub(r"\s", "", folded) == f"<{hosted_unsubscribe_url(message)}>"
    assert len(folded) > 78
