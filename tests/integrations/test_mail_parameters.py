"""MAIL FROM's parameters for one message and one server's EHLO (RFC 1870, RFC 6152)."""

from __future__ import annotations

import pytest

from integrations.failures.errors import DeliveryError, FailureClass
from integrations.mail_parameters import prepare, size_limit

ASCII = b"Subject: x\r\n\r\nhello\r\n"
EIGHT_BIT = "Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n".encode()


@pytest.mark.parametrize(
    ("announced", "limit"),
    [
        ("", None),
        ("0", None),
        ("35882577", 35882577),
        ("  1000 ", 1000),
        ("lots", None),
    ],
)
def test_the_size_limit_is_read_from_the_ehlo_keyword(announced, limit):
    assert size_limit(announced) == limit


@pytest.mark.parametrize(
    ("features", "content", "options"),
    [
        ({}, ASCII, ()),
        ({"size": "1000"}, ASCII, (f"SIZE={len(ASCII)}",)),
        ({"8bitmime": ""}, ASCII, ()),
        ({"8bitmime": "", "size": ""}, EIGHT_BIT, ("BODY=8BITMIME", f"SIZE={len(EIGHT_BIT)}")),
    ],
)
def test_the_parameters_follow_the_message_and_the_offered_extensions(features, content, options):
    prepared = prepare(content, features)
    assert prepared.options == options and prepared.content == content
    assert prepared.mail_from_suffix == "".join(f" {o}" for o in options)


def test_without_8bitmime_the_content_is_downgraded_and_its_new_size_declared():
    prepared = prepare(EIGHT_BIT, {"size": "0"})
    assert prepared.content.isascii() and b"Gr=C3=BC=C3=9Fe" in prepared.content
    assert prepared.options == (f"SIZE={len(prepared.content)}",)


def test_a_message_over_the_announced_size_is_refused_with_a_catalog_error():
    with pytest.raises(DeliveryError) as raised:
        prepare(ASCII, {"size": str(len(ASCII) - 1)})
    error = raised.value
    assert (error.rule, error.stage, error.failure_class) == (
        "local.message-too-large",
        "mail",
        FailureClass.PERMANENT,
    )
    assert f"{len(ASCII)} bytes" in error.text
    assert prepare(ASCII, {"size": str(len(ASCII))}).options == (f"SIZE={len(ASCII)}",)
