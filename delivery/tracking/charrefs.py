"""Attribute values decoded as the HTML standard's tokenizer decodes them, not as text is.

In an attribute, a legacy entity name written without ";" and followed by "=" or a letter or
digit stays as written: `?a=1&timestamp=2` keeps `&times`, where html.unescape gives `×`.
"""

from __future__ import annotations

import re
from html.entities import html5 as NAMED_REFERENCES

LONGEST_NAME = max(map(len, NAMED_REFERENCES))  # with its ";"
REFERENCE = re.compile(r"&(?:#[xX]([0-9A-Fa-f]+);?|#([0-9]+);?|([A-Za-z0-9]+;?))")
# Numeric references to C1 controls mean the windows-1252 character (the standard's table).
C1_REPLACEMENTS = {
    0x80: "\u20ac", 0x82: "\u201a", 0x83: "\u0192", 0x84: "\u201e", 0x85: "\u2026",
    0x86: "\u2020", 0x87: "\u2021", 0x88: "\u02c6", 0x89: "\u2030", 0x8A: "\u0160",
    0x8B: "\u2039", 0x8C: "\u0152", 0x8E: "\u017d", 0x91: "\u2018", 0x92: "\u2019",
    0x93: "\u201c", 0x94: "\u201d", 0x95: "\u2022", 0x96: "\u2013", 0x97: "\u2014",
    0x98: "\u02dc", 0x99: "\u2122", 0x9A: "\u0161", 0x9B: "\u203a", 0x9C: "\u0153",
    0x9E: "\u017e", 0x9F: "\u0178",
}
REPLACEMENT_CHARACTER = "\ufffd"


def decode_attribute_value(raw: str) -> str:
    """The value of an attribute whose source text (between its quotes) is `raw`."""
    if "\r" in raw or "\0" in raw:
        # The input stream turns CR LF and CR into LF; the tokenizer turns NUL into U+FFFD.
        raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\0", REPLACEMENT_CHARACTER)
    if "&" not in raw:
        return raw
    return REFERENCE.sub(_replacement, raw)


def _replacement(match: re.Match) -> str:
    hexadecimal, decimal, name = match.groups()
    if name is None:
        return _numeric(hexadecimal, 16) if decimal is None else _numeric(decimal, 10)
    return _named(name, match.string, match.end())


def _numeric(digits: str, base: int) -> str:
    digits = digits.lstrip("0") or "0"
    # Past 0x10FFFF the value only matters as "too large"; int() of a huge digit string
    # would also be slow (and past 4300 digits refused).
    if len(digits) > (6 if base == 16 else 7):
        return REPLACEMENT_CHARACTER
    number = int(digits, base)
    if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return REPLACEMENT_CHARACTER
    return C1_REPLACEMENTS.get(number) or chr(number)


def _named(candidate: str, text: str, end: int) -> str:
    """The longest entity name that `candidate` starts with, decoded, then the rest as is."""
    for length in range(min(len(candidate), LONGEST_NAME), 0, -1):
        name = candidate[:length]
        if name in NAMED_REFERENCES:
            break
    else:
        return "&" + candidate
    if not name.endswith(";"):
        following = candidate[length:length + 1] or text[end:end + 1]
        if following == "=" or (following.isascii() and following.isalnum()):
            return "&" + candidate
    return NAMED_REFERENCES[name] + candidate[length:]
