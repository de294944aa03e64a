"""Issue 14, acceptance 3: for generated input, every rendered message parses strictly, has no
line over 998 bytes, is taken by an SMTP server, and reads as Django's rendering does."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import smtplib
from email.header import decode_header, make_header
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from delivery.api import build_message, encode_attachment
from delivery.mime import build_email, render
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db

# What SMTP reads as one line and Python's str.splitlines() does not.
ODD_BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
LETTERS = st.sampled_from(["a", "Z", "7", " ", ".", '"', "(", ",", ";", "=", "?", "_", "é", "ß",
                           "€", "ü", "日", "😀", "\t"])
BODY_CHARS = st.one_of(LETTERS, st.sampled_from(["\n", "\r", "\r\n", *ODD_BREAKS]))


def long_text(characters, max_size: int):
    """Short mixed text, or one character repeated to a length that crosses 998 bytes. Not a
    space or tab repeated: the email package's folder puts such a run between two encoded
    words, where RFC 2047 readers drop it (a known limit, left as it is)."""
    repeated = st.tuples(characters.filter(lambda c: not c.isspace()),
                         st.integers(300, max_size)).map(lambda t: t[0] * t[1])
    mixed = st.lists(characters, max_size=60).map("".join)
    return st.one_of(mixed, repeated, st.lists(st.one_of(mixed, repeated), max_size=3).map("".join))


header_text = long_text(LETTERS, 1200).map(str.strip)
names = long_text(LETTERS.filter(lambda c: c not in '\t"(,;'), 1000).map(str.strip)
filenames = long_text(LETTERS.filter(lambda c: c != "\t"), 400).map(lambda s: s.strip() + ".txt")


@st.composite
def attachments(draw):
    mimetype = draw(st.sampled_from(["text/plain", "text/csv", "application/pdf", "image/png"]))
    content = draw(long_text(BODY_CHARS, 1500)) if mimetype.startswith("text/") else bytes(50)
    content_id = draw(st.sampled_from(["", "logo@example.com", "c" * 900 + "@example.com"]))
    return encode_attachment(draw(filenames), content, mimetype, content_id=content_id or None,
                             inline=draw(st.booleans()))


@st.composite
def messages(draw):
    name = draw(names)
    fields = {
        "subject": draw(header_text)[:998].strip(),  # the column's limit
        "to": [f'"{name}" <bob@example.org>' if name else "bob@example.org"],
        "text": draw(long_text(BODY_CHARS, 1500)),
        "html": draw(st.sampled_from(["", "<p>Hi</p>", "<img src='cid:logo@example.com'>"])),
        "headers": draw(st.dictionaries(st.sampled_from(["X-Long", "X-Tag", "Keywords"]),
                                        header_text, max_size=2)),
        "attachments": draw(st.lists(attachments(), max_size=2)),
    }
    if draw(st.booleans()):
        fields |= {"kind": "marketing", "unsubscribe_url": "https://example.com/u?t=" + "u" * draw(
            st.integers(0, 960))}
    if not (fields["text"] or fields["html"]):
        fields["text"] = "Hello"
    return fields


@pytest.fixture(scope="module")
def smtp_server():
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def integration(settings):
    # Tracking tokens carry a timestamp: off, both renderings see the same HTML.
    settings.TRACKING_ENABLED = False
    return make_integration()


@hypothesis_settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(fields=messages())
@example(fields={"subject": "s" * 998, "to": ["bob@example.org"], "text": "Hi",
                 "headers": {"X-Long": "h" * 1200}, "kind": "marketing",
                 "unsubscribe_url": "https://example.com/u?t=" + "u" * 960,
                 "attachments": [encode_attachment(
                     "ä" * 300 + ".txt", "x" * 600 + "\u2028" + "y" * 600, "text/plain")]})
def test_every_rendered_message_is_valid_and_reads_as_djangos(fields, integration, smtp_server):
    message = build_message(integration=integration, **fields)
    message.save()
    raw = render(message)
    ours = strictly_parsed(raw)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        assert not client.sendmail("app@example.com", ["bob@example.org"], raw)
    assert ours["Subject"] == fields["subject"]
    for name, value in fields["headers"].items():
        assert ours[name] == value
    assert mailboxes(raw, "To") == [(" ".join(name.split()), "bob@example.org")
                                    for name, _ in getaddresses(fields["to"])]
    djangos = build_email(message).message().as_bytes(linesep="\r\n")
    if is_valid(djangos):
        (our_headers, our_leaves), (their_headers, their_leaves) = map(receiver_view,
                                                                       (raw, djangos))
        assert our_headers == their_headers
        assert len(our_leaves) == len(their_leaves)
        for leaf, theirs in zip(our_leaves, their_leaves, strict=True):
            assert leaf == theirs, [(ours[:80], djangos[:80]) for ours, djangos
                                    in zip(leaf, theirs, strict=True) if ours != djangos]


def strictly_parsed(raw: bytes):
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=email.policy.strict)
    for part in parsed.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
        assert not [value.defects for _, value in part.items() if value.defects]
    return parsed


def is_valid(raw: bytes) -> bool:
    try:
        strictly_parsed(raw)
    except Exception:
        return False
    return True


def mailboxes(raw: bytes, header: str) -> list[tuple[str, str]]:
    """As an RFC 2047 reader decodes them: whitespace between two encoded words is no part of
    the name (the email package's new parser keeps it), and a run of spaces reads as one."""
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [(" ".join(str(make_header(decode_header(name))).split()), address)
            for name, address in getaddresses(parsed.get_all(header, []))]


def receiver_view(raw: bytes):
    """What a reader sees: the headers (decoded, unfolded; the date and boundaries apart) and
    every leaf part's type, disposition, name, Content-ID and decoded content."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    headers = []
    for name, value in parsed.items():
        if name in ("Date", "Content-Type", "MIME-Version"):
            continue
        if name in ("From", "To", "Cc", "Reply-To"):
            value = mailboxes(raw, name)
        elif name == "List-Unsubscribe":
            value = re.sub(r"\s", "", value)  # RFC 2369: whitespace inside is ignored
        headers.append((name, value if isinstance(value, list) else str(value).strip()))
    leaves = sorted(
        (part.get_content_type(), part.get_content_disposition() or "", part.get_filename() or "",
         part.get("Content-ID", "").strip(), _content(part))
        for part in parsed.walk() if not part.is_multipart()
    )
    return headers, leaves


def _content(part) -> str:
    content = part.get_content()
    return content if isinstance(content, str) else base64.b64encode(content).decode()
