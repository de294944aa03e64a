"""Which integration carries a message, and which From address it uses."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import getaddresses

from django.db.models import F

from integrations.lookup import find_integration
from integrations.models import SmtpIntegration
from notifuse_smtp.caching import RecentAnswers

from .validation import InvalidMessage, envelope_address

HEALTHY_FIRST = F("needs_attention_since").asc(nulls_first=True)
# Each integration's sender addresses as workers last read them, reused for
# ROUTE_CACHE_SECONDS: a drain of a few messages then skips a query.
_sender_addresses = RecentAnswers("ROUTE_CACHE_SECONDS")
KIND_FLAG = {"transactional": "use_for_transactional", "marketing": "use_for_marketing"}


@dataclass(frozen=True)
class Route:
    integration: SmtpIntegration
    from_email: str
    pinned: bool


def resolve_integration(value) -> SmtpIntegration:
    """An SmtpIntegration, its primary key or its name; InvalidMessage when there is none."""
    try:
        return find_integration(value)
    except SmtpIntegration.DoesNotExist as exc:
        raise InvalidMessage("integration", str(exc)) from None


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
        other = _other(kind)
        raise InvalidMessage("kind", (
            f"no active integration is flagged for {kind} mail: tick \"Use for {kind}\" on "
            f"one in the admin, or send it as {other} mail (kind=\"{other}\"; with "
            f"manage.py send_bulk, --kind {other})"))
    return chosen


def _other(kind: str) -> str:
    return "transactional" if kind == "marketing" else "marketing"


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
    def read() -> frozenset[str]:
        emails = integration.senders.values_list("email", flat=True)
        return frozenset(envelope_address(e).lower() for e in emails)

    return _sender_addresses.get(integration.pk, read, fresh=fresh)
