"""Domains are encoded as the `idna` package encodes them (IDNA 2008, UTS 46 mapping).

A differential test on generated domains: every place an address's domain is encoded (the
envelope, the headers, queue-time validation) gives the A-labels `idna.encode(d, uts46=True)`
gives, and refuses exactly the domains it refuses.
"""

from __future__ import annotations

import idna
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from notifuse_smtp.addresses import (
    AddressError,
    ascii_domain,
    envelope_address,
    header_address,
    normalize_address,
)

# Letters, marks and digits of every script, plus the characters IDNA treats specially: the
# deviations (ß, ς), joiners (ZWNJ, ZWJ), the Arabic tatweel, hyphens, uppercase ASCII (which
# UTS 46 maps), and the dots UTS 46 reads as label separators.
SPECIAL = ["ß", "ς", "\u200c", "\u200d", "\u0640", "-", "A", "x", "1", "ü", "ا", "א", "・"]
CHARACTERS = st.one_of(
    st.characters(categories=("Ll", "Lu", "Lo", "Lm", "Mn", "Mc", "Nd", "So")),
    st.sampled_from(SPECIAL),
)
LABELS = st.text(CHARACTERS, min_size=1, max_size=12)
DOMAINS = st.tuples(
    st.lists(LABELS, min_size=1, max_size=3), st.sampled_from([".", "。", "．"])
).map(lambda parts: parts[1].join(parts[0]) + ".example")


def reference(domain: str) -> str | None:
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(DOMAINS)
@example("straße.de.example")
@example("ευχαριστώ.gr.example")
@example("ドメイン。jp.example")
@example("ab--cd.straße.example")
@example("☃.example")
def test_every_encoding_of_a_domain_is_the_idna_packages(domain):
    expected = reference(domain)
    if domain.isascii():
        # Left as written: IDNA's label rules refuse real host names such as r3--sn-a.
        assert ascii_domain(domain) == domain
        return
    if expected is None:
        for encode in (ascii_domain, lambda d: envelope_address(f"user@{d}")):
            with pytest.raises(UnicodeError):
                encode(domain)
        with pytest.raises(AddressError, match="IDNA 2008"):
            normalize_address(f"User <user@{domain}>")
        return
    assert ascii_domain(domain) == expected
    assert envelope_address(f"User <user@{domain}>") == f"user@{expected}"
    assert header_address(f"User <user@{domain}>") == f"User <user@{expected}>"


@pytest.mark.parametrize(
    ("domain", "a_label"),
    [
        ("straße.de", "xn--strae-oqa.de"),  # IDNA 2003: strasse.de, another domain
        ("ευχαριστώ.gr", "xn--mxahn5algcq2e.gr"),
        ("ドメイン.jp", "xn--eckwd4c7c.jp"),
        ("ΕΥΧΑΡΙΣΤΏ.GR", "xn--mxahn5algcq2e.gr"),  # UTS 46 maps case
        ("例子。广告", "xn--fsqu00a.xn--4rr70v"),  # and the ideographic full stop
    ],
)
def test_the_three_reference_domains_and_mapped_forms(domain, a_label):
    assert ascii_domain(domain) == a_label
    assert envelope_address(f"Anna <anna@{domain}>") == f"anna@{a_label}"
    assert normalize_address(f"anna@{domain}") == f"anna@{domain}"  # stored as written


def test_idna_2003_would_have_sent_mail_for_strasse_de_to_another_domain():
    assert "straße.de".encode("idna") == b"strasse.de"  # Python's codec, used before
    assert ascii_domain("straße.de") == "xn--strae-oqa.de"
