"""Turn a Message row into the bytes sent in DATA.

Simple messages (no attachments, short ASCII headers, bodies with no line over 998 bytes) are
written directly; everything else goes through Django's message classes, with the headers
whose text Django would fold wrongly encoded by mime_headers, and any header line still over
998 bytes (a long filename: RFC 2231 continuations) folded by the SMTP policy. Both produce
the same message: the fast path copies the header order, encodings and line endings Django
emits.
"""

from __future__ import annotations

import base64
import functools
import io
import random
import re
import sys
from email import encoders
from email.generator import BytesGenerator
from email.mime.base import MIMEBase
from email.utils import formatdate, getaddresses, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import (
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    SafeMIMEMultipart,
    utf8_charset_qp,
)
from django.core.mail.utils import DNS_NAME

from notifuse_smtp.addresses import ascii_domain, header_address

from .mime_headers import WIRE, FoldedValue, address_header, list_header, text_header
from .models import Message
from .tracking.links import tracked_html
from .tracking.list_unsubscribe import list_unsubscribe_headers
from .utf8_headers import with_utf8_addresses


def message_id(message: Message) -> str:
    """A Message-ID stable across retries, so receivers can spot a repeat."""
    domain = _sender_domain(message.from_email)
    return f"<notifuse-smtp.{message.pk}.{int(message.created_at.timestamp())}@{domain}>"


@functools.lru_cache(maxsize=1024)
def _sender_domain(from_email: str) -> str:
    # Parsing the address is a large part of a fast render, and senders repeat.
    domain = getaddresses([from_email])[0][1].rpartition("@")[2] or "localhost"
    return ascii_domain(domain)


def _header_addresses(addresses: list[str]) -> list[str]:
    # Django's sanitize_address would encode an IDN with IDNA 2003 (straße.de as strasse.de,
    # another domain): the A-labels are written here, which it keeps as they are.
    return [header_address(address) for address in addresses]


def _extra_headers(message: Message) -> dict[str, str]:
    own = {"Message-ID": message_id(message)}
    if message.headers and any(name.lower() == "message-id" for name in message.headers):
        own = {}  # the caller's replaces it, however spelt (rows queued before the check)
    return {**own, **message.headers, **list_unsubscribe_headers(message)}


class RelatedEmail(EmailMultiAlternatives):
    """Django's message, with the parts the HTML shows by Content-ID in a multipart/related
    beside it (RFC 2387), where clients look for them to show them inline."""

    def __init__(self, *args, related=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.related = list(related)

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if not self.related:
            return msg
        parts = msg.get_payload() if msg.is_multipart() else [msg]
        index = next(i for i, part in enumerate(parts) if part.get_content_type() == "text/html")
        encoding = self.encoding or settings.DEFAULT_CHARSET
        related = SafeMIMEMultipart("related", encoding=encoding, type="text/html")
        for part in [parts[index], *self.related]:
            related.attach(part)
        if not msg.is_multipart():
            return related
        parts[index] = related
        return msg


def build_email(message: Message, html: str | None = None) -> EmailMultiAlternatives:
    """Django's message for `message`; `html` is its tracked HTML when already computed."""
    if html is None:
        html = tracked_html(message)
    related = [item for item in message.attachments if html and item.get("content_id")]
    email = RelatedEmail(
        subject=message.subject,
        body=message.text or html,
        from_email=header_address(message.from_email or settings.DEFAULT_FROM_EMAIL),
        to=_header_addresses(message.to),
        cc=_header_addresses(message.cc),
        reply_to=_header_addresses(message.reply_to),
        headers=_extra_headers(message),
        related=[_inline_part(item, base64.b64decode(item["content_b64"])) for item in related],
    )
    if any(map(_has_long_line, [message.text, html, *_text_attachments(message)])):
        # Django picks quoted-printable for long lines by str.splitlines(), which also breaks
        # at \x0b, \x0c, \x1c-\x1e, \x85 and \u2028/9: a line SMTP reads as one (up to a line
        # break) could still go out longer than 998 bytes, which servers refuse. A Charset
        # object (not the "utf-8" string) is taken as it is, by the bodies and by the text
        # attachments alike.
        email.encoding = utf8_charset_qp
    if html and message.text:
        email.attach_alternative(html, "text/html")
    elif html:
        email.content_subtype = "html"
    for item in message.attachments:
        if any(item is shown for shown in related):
            continue
        content = base64.b64decode(item["content_b64"])
        if item.get("content_id") or item.get("inline"):
            email.attach(_inline_part(item, content))
        else:
            email.attach(item["filename"], content, item["mimetype"])
    return email


def _text_attachments(message: Message) -> list[str]:
    """The text attachments Django writes as text (8bit unless told otherwise)."""
    texts = []
    for item in message.attachments:
        if item["mimetype"].lower().startswith("text/") and not (
            item.get("content_id") or item.get("inline")
        ):
            try:
                texts.append(base64.b64decode(item["content_b64"]).decode())
            except UnicodeDecodeError:
                pass  # Django sends it as application/octet-stream, in base64
    return texts


def _inline_part(item: dict, content: bytes) -> MIMEBase:
    """An attachment with a Content-ID or shown inline, which Django's attach() cannot make."""
    maintype, _, subtype = item["mimetype"].partition("/")
    part = MIMEBase(maintype, subtype)
    part.set_payload(content)
    encoders.encode_base64(part)
    filename = item["filename"]
    parameters = {}
    if filename:
        # As Django does for its attachments: RFC 2231 for a name that is not ASCII.
        parameters["filename"] = filename if filename.isascii() else ("utf-8", "", filename)
    part.add_header("Content-Disposition", "inline" if item.get("inline") else "attachment",
                    **parameters)
    if item.get("content_id"):
        # Whole on its line (a msg-id has no place to fold; validation keeps it within 998
        # bytes): Django's folding would move it to a line of its own, led by a space.
        part["Content-ID"] = FoldedValue(f"<{item['content_id']}>")
    return part


def render(message: Message) -> bytes:
    html = tracked_html(message)  # once: signing the tracking links is not free
    fast = _fast_render(message, html)
    if fast is not None:
        return fast
    mime = build_email(message, html).message()
    _encode_headers(mime, message)
    return with_utf8_addresses(message, as_wire_bytes(mime))


def _encode_headers(mime, message: Message) -> None:
    """Headers as mime_headers writes them, not as Django's Header folds them (which splits
    a word between an encoded word and plain text: a reader sees a space that was never
    there)."""
    mime.replace_header("Subject", text_header("Subject", message.subject))
    for name, value in _extra_headers(message).items():
        if name.lower() in ("message-id", *SET_BY_DJANGO):
            continue
        fold = list_header if name.lower().startswith("list-") else text_header
        mime.replace_header(name, fold(name, str(value)))
    for name, addresses in (
        ("From", [message.from_email or settings.DEFAULT_FROM_EMAIL]),
        ("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to),
    ):
        # A header of that exact name in `headers=` replaced Django's (rows queued before
        # validation refused them): it stays as it was given.
        if addresses and name not in message.headers and name in mime:
            mime.replace_header(name, address_header(name, addresses))


def as_wire_bytes(mime) -> bytes:
    """`mime` as sent: CRLF line ends, and every header line within 78 characters where it
    can be folded (Django's own serialisation leaves long words whole, past 998 bytes)."""
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=WIRE).flatten(mime)
    return out.getvalue()


# --- Fast path -------------------------------------------------------------------------------

CRLF = "\r\n"
# Longer header lines would be folded (and a non-ASCII value encoded) by the email package;
# only values that go out verbatim are written here.
MAX_HEADER_LINE = 78
PRINTABLE_ASCII = re.compile(r"[ -~]*\Z")
HEADER_NAME = re.compile(r"[!-9;-~]+\Z")
# The email package ends body lines at CRLF, CR or LF alike and writes each as linesep.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Headers EmailMessage.message() takes from `headers=` itself rather than copying them.
SET_BY_DJANGO = {"from", "to", "cc", "reply-to"}


def _has_long_line(body: str | None) -> bool:
    return any(
        len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT
        for line in LINE_BREAK.split(body or "")
    )


class NotSimple(Exception):
    """The message needs Django's path."""


def fast_render(message: Message) -> bytes | None:
    """The message as Django would render it, or None when only Django's path can."""
    return _fast_render(message, tracked_html(message))


def _fast_render(message: Message, html: str) -> bytes | None:
    if message.attachments:
        return None
    try:
        parts = _body_parts(message.text, html)
        headers = _message_headers(message)
    except NotSimple:
        return None
    if len(parts) == 1:
        return _single_part(parts[0], headers)
    return _alternative(parts, headers)


def _body_parts(text: str, html: str) -> list[tuple[str, bytes]]:
    """(MIME headers, body bytes) for each part, in Django's order."""
    if not (text or html):
        raise NotSimple  # Django's empty text/plain: not worth mirroring
    if text and html:
        bodies = [("plain", text), ("html", html)]
    else:
        bodies = [("plain", text) if text else ("html", html)]
    return [_text_part(subtype, body) for subtype, body in bodies]


def _text_part(subtype: str, body: str) -> tuple[str, bytes]:
    lines = LINE_BREAK.split(body)
    try:
        encoded = [line.encode() for line in lines]
    except UnicodeEncodeError:  # lone surrogates: let Django raise its own error
        raise NotSimple from None
    if any(len(line) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in encoded):
        raise NotSimple  # Django switches to quoted-printable to shorten the long lines
    mime = (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"MIME-Version: 1.0{CRLF}"
        f"Content-Transfer-Encoding: {'7bit' if body.isascii() else '8bit'}{CRLF}"
    )
    return mime, CRLF.encode().join(encoded)


def _message_headers(message: Message) -> str:
    """Every header after the MIME ones, in the order and with the quirks of Django 5.2's
    EmailMessage.message(): `headers=` replaces From/To/Cc/Reply-To only under those exact
    names, and suppresses Date/Message-ID under any case."""
    extra = _extra_headers(message)
    headers = [
        ("Subject", message.subject),
        ("From", extra.get("From", header_address(message.from_email or
                                                  settings.DEFAULT_FROM_EMAIL))),
    ]
    for name, addresses in (("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to)):
        if name in extra:
            headers.append((name, extra[name]))
        elif addresses:
            headers.append((name, ", ".join(_header_addresses(addresses))))
    given = {name.lower() for name in extra}
    if "date" not in given:
        headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in given:
        headers.append(("Message-ID", make_msgid(domain=DNS_NAME)))
    headers += [(name, value) for name, value in extra.items() if name.lower() not in SET_BY_DJANGO]
    return "".join(_header_line(name, str(value)) for name, value in headers)


def _header_line(name: str, value: str) -> str:
    lowered = name.lower()
    # Custom MIME headers would be merged with (or rewritten alongside) the generated ones.
    if lowered.startswith("content-") or lowered == "mime-version":
        raise NotSimple
    if not (HEADER_NAME.match(name) and PRINTABLE_ASCII.match(value)):
        raise NotSimple
    if lowered.startswith("list-"):
        # Folded inside its angle brackets, as the full path writes it: the hosted
        # unsubscribe URL of every marketing message is longer than a line.
        value = list_header(name, value)
        if isinstance(value, FoldedValue):
            return f"{name}: {value}".replace("\n", CRLF) + CRLF
    line = f"{name}: {value}"
    if len(line) > MAX_HEADER_LINE:
        raise NotSimple
    return line + CRLF


def _single_part(part: tuple[str, bytes], headers: str) -> bytes:
    mime, body = part
    return (mime + headers + CRLF).encode("ascii") + body


def _alternative(parts: list[tuple[str, bytes]], headers: str) -> bytes:
    boundary = _boundary(b"".join(body for _, body in parts))
    top = (
        f"Content-Type: multipart/alternative;{CRLF} boundary=\"{boundary}\"{CRLF}"
        f"MIME-Version: 1.0{CRLF}" + headers + CRLF
    )
    delimiter = f"--{boundary}{CRLF}".encode("ascii")
    out = [top.encode("ascii")]
    for index, (mime, body) in enumerate(parts):
        # Each delimiter after the first also ends the previous part's last line.
        out += [CRLF.encode() if index else b"", delimiter, (mime + CRLF).encode("ascii"), body]
    out.append(f"{CRLF}--{boundary}--{CRLF}".encode("ascii"))
    return b"".join(out)


def _boundary(bodies: bytes) -> str:
    """A boundary shaped like the email package's, never one that occurs in a body."""
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}=="
        if boundary.encode("ascii") not in bodies:
            return boundary
