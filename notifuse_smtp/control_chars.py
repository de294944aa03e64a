"""Control characters in text that goes into a header or an SMTP command line.

A vertical tab, form feed, NUL or any other C0/C1 control character (and the Unicode line
and paragraph separators) has no place in a display name or a host name: the email package
folds at several of them (a header injection), and servers refuse or mangle the rest.
"""

from __future__ import annotations

import re

CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_characters_in(text: str) -> str:
    """The control characters `text` holds, written as escapes ("\\x0b, \\x00"); '' if none."""
    found = dict.fromkeys(CONTROL_CHARACTER.findall(text or ""))
    return ", ".join(repr(char)[1:-1] for char in found)
