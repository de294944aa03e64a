"""The 8BITMIME downgrade, held to the `email` package: what a reader decodes is unchanged."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from django.core.mail import EmailMultiAlternatives
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.seven_bit import downgraded, is_8bit, quoted_printable

# Text as bodies carry it: any character but a lone CR (RFC 5322 allows CR only before LF),
# with the ones quoted-printable treats specially well represented.
BODY = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
        st.sampled_from("\n\t =.äß—€\u2028"),
    ),
    max_size=400,
)


def _decoded_parts(content: bytes) -> list[tuple]:
    """Each part as a reader sees it: its headers but the transfer encoding, and its content."""
    message = BytesParser(policy=policy.strict).parsebytes(content)  # raises on any defect
    parts = []
    for part in message.walk():
        headers = [
            (name, str(value))
            for name, value in part.items()
            if name.lower() != "content-transfer-encoding"
        ]
        body = None if part.is_multipart() else part.get_content()
        if isinstance(body, str):
            body = body.replace("\r\n", "\n")
        parts.append((part.get_content_type(), headers, body))
    return parts


def _django_message(text: str, html: str, attachment: str) -> bytes:
    email = EmailMultiAlternatives(
        subject="Grüße", body=text, from_email="a@example.com", to=["b@example.org"]
    )
    email.attach_alternative(html, "text/html")
    email.attach("notes.txt", attachment, "text/plain")
    email.attach("data.bin", b"\x00\xff\x10" * 40, "application/octet-stream")
    return email.message().as_bytes(linesep="\r\n")


@settings(max_examples=150, deadline=None)
@given(text=BODY, html=BODY, attachment=BODY)
def test_a_downgraded_message_is_7bit_and_decodes_to_the_same_parts(text, html, attachment):
    original = _django_message(text, html, attachment)
    seven_bit = downgraded(original)
    assert seven_bit.isascii()
    assert max(len(line) for line in seven_bit.split(b"\r\n")) <= 998
    assert _decoded_parts(seven_bit) == _decoded_parts(original)
    assert downgraded(seven_bit) == seven_bit


def test_a_7bit_message_is_returned_untouched():
    content = b"Subject: x\r\nContent-Transfer-Encoding: 7bit\r\n\r\nplain\r\n"
    assert not is_8bit(content)
    assert downgraded(content) is content


def test_only_the_8bit_parts_change_and_the_rest_keeps_its_bytes():
    original = _django_message("Grüße\n", "<p>plain html</p>", "ascii notes\n")
    seven_bit = downgraded(original)
    head, _, _ = original.partition(b"\r\n\r\n")
    assert seven_bit.startswith(head + b"\r\n\r\n")  # the top headers, byte for byte
    assert seven_bit.count(b"quoted-printable") == 1  # only the text part was 8-bit
    assert b"Content-Transfer-Encoding: 7bit\r\n\r\n<p>plain html</p>" in seven_bit
    assert b"Gr=C3=BC=C3=9Fe\r\n" in seven_bit


def test_binary_becomes_base64_and_a_nested_8bit_message_is_relabelled():
    inner = EmailMessage()
    inner["Subject"] = "inner"
    inner.set_content("Grüße von innen\n", cte="8bit")
    outer = EmailMessage()
    outer["Subject"] = "outer"
    outer.set_content("see attached\n")
    outer.add_attachment(inner)
    raw = outer.as_bytes(policy=policy.SMTP)
    raw = raw.replace(
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n",
    )
    seven_bit = downgraded(raw)
    assert seven_bit.isascii()
    parsed = BytesParser(policy=policy.strict).parsebytes(seven_bit)
    [attached] = [p for p in parsed.walk() if p.get_content_type() == "message/rfc822"]
    assert attached["Content-Transfer-Encoding"] == "7bit"
    assert attached.get_content().get_content() == "Grüße von innen\r\n"

    binary = (
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary"
        b"\r\n\r\n\x00\xff\x80 raw\r\n"
    )
    parsed = BytesParser(policy=policy.strict).parsebytes(downgraded(binary))
    assert parsed["Content-Transfer-Encoding"] == "base64"
    assert parsed.get_content() == b"\x00\xff\x80 raw\r\n"


def test_a_part_labelled_7bit_with_8bit_bytes_is_encoded_too():
    content = "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n".encode()
    parsed = BytesParser(policy=policy.strict).parsebytes(downgraded(content))
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed.get_content() == "Grüße\r\n"


def test_quoted_printable_keeps_line_breaks_and_protects_trailing_space():
    assert quoted_printable("ä \nb\n".encode()) == "=C3=A4=20\nb\n"
    assert quoted_printable(b"no break at the end") == "no break at the end"
    long_line = quoted_printable(("é" * 100).encode())
    assert all(len(line) <= 76 for line in long_line.split("\n"))
