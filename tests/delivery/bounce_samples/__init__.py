"""Real-world report formats, written from their specifications and public examples.

Each .eml holds `$MESSAGE_ID`, `$RECIPIENT` and `$SENDER` where the report returns the
message it is about: a test fills them in with a message it sent.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent

# What each sample is, and what it must produce.
BOUNCES = {  # name: (hard, status)
    "postfix_dsn": (True, "5.1.1"),
    "exim_dsn": (True, "5.0.0"),
    "exchange_online_ndr": (True, "5.1.10"),
    "gmail_over_quota": (False, "4.2.2"),
    "yahoo_style": (True, ""),
}
COMPLAINTS = ("arf_complaint",)
AUTO_REPLIES = ("out_of_office_exchange", "out_of_office_vacation")
UNRELATED = ("unrelated", "unmatched_dsn")


def sample(name: str, *, message_id: str, recipient: str, sender: str) -> bytes:
    """The sample with the message's Message-ID, recipient and sender filled in (CRLF)."""
    text = Template((HERE / f"{name}.eml").read_text()).safe_substitute(
        MESSAGE_ID=message_id, RECIPIENT=recipient, SENDER=sender)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
