"""No line over 998 bytes whatever the input, and inline images beside their HTML (issue 14,
items 8 and 10): each input below once went out with a line servers refuse."""

from __future__ import annotations

import base64
import email
import email.policy
import re

from email.header import decode_header, make_header
from email.utils import getaddresses

import pytest

from delivery import engine
from delivery.api import build_message, encode_attachment, send_email
from delivery.mime import render
from delivery.models import Status
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db

LONG_SMTP_LINE = "x" * 500 + "{}" + "ü" * 350  # one line for SMTP, 1,201 bytes
UNSUBSCRIBE = "https://example.com/unsubscribe?token=" + "u" * 960
LONG_NAME = "Bob " + "n" * 996
CONTENT_ID = "c" * 970 + "@example.com"  # 982 characters: its line is 996 bytes


def text_attachment(separator: str) -> dict:
    return encode_attachment("notes.txt", LONG_SMTP_LINE.format(separator), "text/plain")


CASES = {
    **{f"a text attachment split by {sep!r} for Python": {"attachments": [text_attachment(sep)]}
       for sep in ["\x0b", "\x0c", "\x1c", "\u2028", "\x85"]},
    "a 998-character subject": {"subject": "s" * 998},
    "a 998-character non-ASCII subject": {"subject": "ß" * 998},
    "a 1,200-character custom header": {"headers": {"X-Long": "h" * 1200}},
    "a 1,000-character unsubscribe_url": {"kind": "marketing", "unsubscribe_url": UNSUBSCRIBE},
    "a 1,100-character filename": {
        "attachments": [encode_attachment("f" * 1100 + ".pdf", b"%PDF-1.4", "application/pdf")]},
    "a long non-ASCII filename": {
        "attachments": [encode_attachment("Prüfbericht " * 60 + ".txt", "ok", "text/plain")]},
    "a 982-character Content-ID": {"html": '<img src="cid:x">', "attachments": [
        encode_attachment("logo.png", b"\x89PNG", "image/png", content_id=CONTENT_ID)]},
    "a 1,000-character display name": {"to": [f"{LONG_NAME} <bob@example.org>"]},
    "a 1,000-character non-ASCII display name": {"to": [f"Jürgen {'ö' * 993} <j@example.org>"]},
}


@pytest.fixture
def integration():
    return make_integration()


def rendered(integration, **fields) -> bytes:
    arguments = {"to": ["bob@example.org"], "subject": "Hi", "text": "Hello", **fields}
    message = build_message(integration=integration, **arguments)
    message.save()
    return render(message)


def strictly_parsed(raw: bytes):
    """The message as a receiver reads it; raises on any defect (policy.strict)."""
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=email.policy.strict)
    for part in parsed.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
        for name, value in part.items():
            assert not value.defects, (name, value.defects)
    return parsed


def mailboxes(raw: bytes, header: str) -> list[tuple[str, str]]:
    """(display name, address) as an RFC 2047 reader decodes them: the whitespace between
    two encoded words is no part of the name (the email package's new parser keeps it)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [(str(make_header(decode_header(name))), address)
            for name, address in getaddresses(parsed.get_all(header))]


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_every_line_fits_and_the_receiver_reads_what_was_given(integration, fields):
    raw = rendered(integration, **fields)
    parsed = strictly_parsed(raw)
    if "subject" in fields:
        assert parsed["Subject"] == fields["subject"]
    for name, value in fields.get("headers", {}).items():
        assert parsed[name] == value
    if "unsubscribe_url" in fields:
        # RFC 2369: whitespace inside the angle brackets is ignored; a fold may put it there.
        assert re.sub(r"\s", "", parsed["List-Unsubscribe"]) == f"<{UNSUBSCRIBE}>"
    if "to" in fields:
        name, _, addr = fields["to"][0].rpartition(" ")
        assert mailboxes(raw, "To") == [(name, addr.strip("<>"))]
    for given, part in zip(fields.get("attachments", []),
                           [p for p in parsed.walk() if p.get_content_disposition()], strict=True):
        assert part.get_filename() == given["filename"]
        assert part.get_content_type() == given["mimetype"]
        if "content_id" in given:
            assert part["Content-ID"] == f"<{given['content_id']}>"
        content = part.get_content()
        if isinstance(content, str):
            assert content == base64.b64decode(given["content_b64"]).decode()


def test_a_server_that_refuses_long_lines_takes_every_one_of_them():
    # aiosmtpd answers "500 Line too long" past 998 bytes (and the client then fails).
    with SmtpTestServer() as server:
        integration = make_integration(server)
        for fields in CASES.values():
            arguments = {"to": ["bob@example.org"], "subject": "Hi", "text": "Hello", **fields}
            send_email(integration=integration, **arguments)
        engine.drain(integration.pk)
        received = server.wait_for_messages(len(CASES))
    assert len(received) == len(CASES)
    assert set(integration.messages.values_list("status", flat=True)) == {Status.SENT}


def test_inline_images_go_in_a_multipart_related_with_the_html(integration):
    logo = encode_attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@example.com",
                             inline=True)
    report = encode_attachment("report.pdf", b"%PDF-1.4", "application/pdf")
    parsed = strictly_parsed(rendered(integration, html='<img src="cid:logo@example.com">',
                                      attachments=[logo, report]))
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related",
        "text/html", "image/png", "application/pdf",
    ]
    related = next(p for p in parsed.walk() if p.get_content_type() == "multipart/related")
    assert related.get_param("type") == "text/html"  # RFC 2387: the root's type
    assert related.get_payload()[1]["Content-ID"] == "<logo@example.com>"


def test_an_html_only_message_with_an_inline_image_is_a_multipart_related(integration):
    logo = encode_attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@example.com")
    html = "<img src='cid:logo@example.com'>"
    parsed = strictly_parsed(rendered(integration, text=None, html=html, attachments=[logo]))
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/related", "text/html", "image/png",
    ]
    assert parsed["Subject"] == "Hi" and parsed["To"] == "bob@example.org"


def test_without_html_a_content_id_part_stays_an_attachment(integration):
    logo = encode_attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@example.com")
    parsed = strictly_parsed(rendered(integration, attachments=[logo]))
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed", "text/plain", "image/png",
    ]
