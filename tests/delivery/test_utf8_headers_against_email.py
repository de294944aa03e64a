"""delivery/utf8_headers writes address fields in UTF-8 (RFC 6532) by hand: held to the
`email` package's reading of them (policy SMTPUTF8) on generated names and local parts."""

from __future__ import annotations

import email
import email.policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.api import build_message
from delivery.mime import render
from notifuse_smtp.addresses import ascii_domain, format_address
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

LOCAL = st.text(st.sampled_from("jörgüßéñ用户例子abcxyz0123._-"), min_size=1, max_size=20).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s and not s.isascii())
NAMES = st.text(st.characters(min_codepoint=32, max_codepoint=0x30FF,
                              blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=120)
DOMAINS = st.sampled_from(["example.org", "straße.de", "例子.广告"])


# One integration for every example: the messages only need a route.
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(NAMES, LOCAL, DOMAINS), min_size=1, max_size=4))
def test_the_address_fields_read_back_as_the_addresses_given(make_integration_once, people):
    to = [format_address(name, f"{local}@{domain}") for name, local, domain in people]
    message = build_message(to=to, subject="Hi", text="x", integration=make_integration_once)
    message.save()
    raw = render(message)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    # message_from_bytes reads 8-bit headers as surrogates: read the UTF-8 text instead.
    parsed = email.message_from_string(raw.decode(), policy=email.policy.SMTPUTF8)
    # The email package flags every UTF-8 local part, which RFC 6532 allows; nothing else.
    assert {type(d).__name__ for d in parsed["To"].defects} <= {"NonASCIILocalPartDefect"}
    # Names compared without their spaces: Python's parser keeps the space between adjacent
    # encoded words, which RFC 2047 (§6.2) says a reader drops.
    got = [("".join(a.display_name.split()), a.username, a.domain)
           for a in parsed["To"].addresses]
    expected = [("".join(name.split()), local, ascii_domain(domain))
                for name, local, domain in people]
    assert [(n, u, d) for n, u, d in got] == [(n or "", u, d) for n, u, d in expected]


@pytest.fixture
def make_integration_once():
    return make_integration()
