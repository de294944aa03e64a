"""Which integration carries a message, and which From address it uses."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import getaddresses

from django.conf import settings
from django.db.models import F

from integrations.models import SmtpIntegration

from .validation import InvalidMessage, envelope_address

HEALTHY_FIRST = F("needs_attention_since").asc(nulls_first=True)
# Each integration's sender addresses as workers last read them, reused for
# ROUTE_CACHE_SECONDS: a drain of a few messages then skips a query.
_sender_addresses: dict[int, tuple[float, frozenset[str]]] = {}
KIND_FLAG = {"transactional": "use_for_transactional", "marketing": "use_for_marketing"}


@dataclass(frozen=True)
class Route:
    integration: SmtpIntegration
    from_email: str
    pinned: bool


def resolve_integration(value) -> SmtpIntegration:
    """Accept an SmtpIntegration, its primary key or its name.

    A string is a name first, so an integration named "2024" is found by its name; digits
    that name none are a primary key (`--integration 3` on the command line).
    """
    if isinstance(value, SmtpIntegration):
        return value
    found = None
    if isinstance(value, str):
        found = SmtpIntegration.objects.filter(name=value).first()
    primary_key = _primary_key(value)
    if found is None and primary_key is not None:
        found = SmtpIntegration.objects.filter(pk=primary_key).first()
    if found is None:
        raise InvalidMessage("integration", f"no integration {value!r}")
    return found


def _primary_key(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else None


def route(*, kind: str, from_email: str | None, integration=None) -> Route:
    """Explicit integration, else the owner of the From sender, else the one flagged for kind."""
    if kind not in KIND_FLAG:
        raise InvalidMessage("kind", f"must be one of {', '.join(KIND_FLAG)}")
    if integration is not None:
        chosen = resolve_integration(integration)
        if not chosen.is_active:
            raise InvalidMessage("integration", f"{chosen.name!r} is not active")
        return Route(chosen, _from_for(chosen, from_email), pinned=True)
    if from_email:
        owner = _owner_of(from_email, kind)
        if owner is not None:
            return Route(owner, from_email, pinned=False)
    chosen = _flagged_for(kind)
    return Route(chosen, _from_for(chosen, from_email), pinned=False)


def candidates_for(kind: str):
    """Active integrations flagged for `kind`, healthy ones first."""
    return (
        SmtpIntegration.objects.filter(is_active=True, **{KIND_FLAG[kind]: True})
        .order_by(HEALTHY_FIRST, "pk")
    )


def _flagged_for(kind: str) -> SmtpIntegration:
    chosen = candidates_for(kind).first()
    if chosen is None:
        raise InvalidMessage(
            "kind", f"no active integration is flagged for {kind} mail; flag one in the admin"
        )
    return chosen


def _owner_of(from_email: str, kind: str) -> SmtpIntegration | None:
    address = _bare(from_email)
    owners = SmtpIntegration.objects.filter(is_active=True, senders__email__iexact=address)
    flag = KIND_FLAG[kind]
    return owners.order_by(f"-{flag}", HEALTHY_FIRST, "pk").first()


def _from_for(integration: SmtpIntegration, from_email: str | None) -> str:
    if from_email:
        if not integration.senders.filter(email__iexact=_bare(from_email)).exists():
            raise InvalidMessage(
                "from_email",
                f"{_bare(from_email)} is not a sender of integration {integration.name!r}; "
                "add it as a sender in the admin",
            )
        return from_email
    default = integration.senders.filter(is_default=True).first() or integration.senders.first()
    if default is None:
        raise InvalidMessage(
            "from_email",
            f"integration {integration.name!r} has no senders; pass from_email or add a sender",
        )
    return default.formatted


def _bare(address: str) -> str:
    return getaddresses([address])[0][1].lower()


def sender_addresses(integration: SmtpIntegration, *, fresh: bool = False) -> frozenset[str]:
    """The envelope addresses (lower case) of the integration's senders.

    Answers may be up to ROUTE_CACHE_SECONDS old: ask again with `fresh` before acting on an
    address that is missing (a sender added a moment ago in another process).
    """
    now = time.monotonic()
    cached = _sender_addresses.get(integration.pk)
    if cached and cached[0] > now and not fresh:
        return cached[1]
    emails = integration.senders.values_list("email", flat=True)
    addresses = frozenset(envelope_address(e).lower() for e in emails)
    if len(_sender_addresses) > 1000:
        _sender_addresses.clear()
    _sender_addresses[integration.pk] = (now + settings.ROUTE_CACHE_SECONDS, addresses)
    return addresses


def forget_senders() -> None:
    _sender_addresses.clear()
