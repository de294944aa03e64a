"""What MAIL FROM carries, read from the server's EHLO: SIZE (RFC 1870), BODY (RFC 6152).

`prepare` is the one place that decides, for one message and one server, the bytes DATA
sends and the parameters of MAIL FROM; a parameter for another extension joins it here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .failures import catalog
from .seven_bit import downgraded, is_8bit


@dataclass(frozen=True)
class Prepared:
    """A message as it goes to one server: the bytes of DATA and the MAIL FROM parameters."""

    content: bytes
    options: tuple[str, ...]

    @property
    def mail_from_suffix(self) -> str:
        """The parameters as they follow `MAIL FROM:<address>` on the wire."""
        return "".join(f" {option}" for option in self.options)


def prepare(content: bytes, features: dict[str, str]) -> Prepared:
    """The message and its MAIL FROM parameters for a server offering `features` (smtplib's
    `esmtp_features`: lowercased keywords, each with its parameters).

    Raises DeliveryError (`local.message-too-large`) when the server announced a maximum
    size the message exceeds: better than sending it all to hear 552.
    """
    options: list[str] = []
    if is_8bit(content):
        if "8bitmime" in features:
            options.append("BODY=8BITMIME")
        else:
            content = downgraded(content)
    if "size" in features:
        _check_size(len(content), features["size"])
        options.append(f"SIZE={len(content)}")
    return Prepared(content, tuple(options))


def _check_size(size: int, announced: str) -> None:
    limit = size_limit(announced)
    if limit is not None and size > limit:
        raise catalog.local_failure("message-too-large", size=size, limit=limit)


def size_limit(announced: str) -> int | None:
    """The maximum the EHLO's `SIZE n` sets: None for a bare SIZE or SIZE 0 (no fixed limit,
    RFC 1870 §4) and for a number that does not parse."""
    try:
        limit = int(announced.split()[0]) if announced.strip() else 0
    except ValueError:
        return None
    return limit or None
