"""The one error type of delivery: where it failed, what the server said, and what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class FailureClass(StrEnum):
    # Retry the same message later (4xx, network trouble, timeouts, token endpoint 5xx).
    TRANSIENT = "transient"
    # This message (or recipient) can never be delivered as it is: fail it now.
    PERMANENT = "permanent"
    # The integration is misconfigured: hold its mail until staff fix it.
    CONFIGURATION = "configuration"


# Leading blanks of its own line only: "\s*" would also cross line breaks, so each of n
# blank lines would start a scan over all the others (quadratic in a reply of blank lines).
ENHANCED_CODE = re.compile(r"^[^\S\n]*([245]\.\d{1,3}\.\d{1,3})\b", re.MULTILINE)


def parse_enhanced_code(text: str) -> str:
    """Return the first RFC 3463 enhanced status code at the start of a reply line, or ''."""
    match = ENHANCED_CODE.search(text or "")
    return match.group(1) if match else ""


@dataclass(eq=False)
class DeliveryError(Exception):
    """A failed step of an SMTP session or token request, classified for the retry policy."""

    stage: str
    failure_class: FailureClass
    text: str = ""
    smtp_code: int | None = None
    enhanced_code: str = ""
    hint: str = ""
    # The recipients the server refused in this try, each one's (code, text): every one when
    # all were refused, or those refused before DATA failed. The permanent refusals are
    # recorded as such whatever class the error is.
    refused_recipients: dict = field(default_factory=dict)
    # The id of the catalog rule that made this error (integrations.failures.catalog).
    rule: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        text = self.text
        enhanced = self.enhanced_code
        if enhanced and text.startswith(enhanced):
            text = text[len(enhanced):].lstrip()  # the server already put it first
        code = " ".join(str(part) for part in (self.smtp_code, enhanced) if part)
        return f"{self.stage}: {code + ' ' if code else ''}{text}".strip()

    def __str__(self) -> str:
        return self.summary

    @property
    def is_permanent(self) -> bool:
        return self.failure_class is FailureClass.PERMANENT
