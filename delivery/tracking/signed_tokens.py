"""The tracking tokens of mail rendered before messages had tracking keys.

They are signed with SECRET_KEY (or a key in SECRET_KEY_FALLBACKS) over the message id and
the link's index. Whoever knows the key can make one for any id, so they are read only for
the messages marked `signed_tracking_tokens` when the keys were added (nothing rendered
since gets such tokens), and they stop working when the key that signed them is retired.
"""

from __future__ import annotations

from django.core import signing

CLICK_SALT = "notifuse-smtp.tracking.click"
OPEN_SALT = "notifuse-smtp.tracking.open"
# Primary keys are PostgreSQL bigints: a larger number in a token is no message at all.
LARGEST_ID = 2**63 - 1


def is_signed(token: str) -> bool:
    """Signed tokens hold ":" between value and signature; random keys never do."""
    return ":" in token


def read_click_token(token: str) -> tuple[int, int] | None:
    try:
        message_id, index = signing.loads(token, salt=CLICK_SALT)
        message_id, index = int(message_id), int(index)
    except (signing.BadSignature, ValueError, TypeError, OverflowError):
        return None
    if not (0 < message_id <= LARGEST_ID and 0 <= index):
        return None
    return message_id, index


def read_open_token(token: str) -> int | None:
    try:
        message_id = int(signing.loads(token, salt=OPEN_SALT))
    except (signing.BadSignature, ValueError, TypeError, OverflowError):
        return None
    return message_id if 0 < message_id <= LARGEST_ID else None
