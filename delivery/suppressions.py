"""The suppression list: add, remove and look up the addresses this service does not mail."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from notifuse_smtp.addresses import AddressError, envelope_address, normalize_address

from .choices import Kind, SuppressionScope
from .models import BounceScore, FeedbackEvent, Message, Suppression
from .signals import recipient_suppressed, send_after_commit

# Mailman's scores: a hard bounce counts 1, a soft one 0.5, at most one a day per address.
SOFT_BOUNCE_SCORE = 0.5
# Addresses looked up per query.
LOOKUP_CHUNK = 50_000


def normalize(address: str) -> str:
    """The form addresses are compared in: the bare address, its domain as an IDNA A-label,
    all in lower case. Raises AddressError for text that is no address."""
    bare = envelope_address(address) if "@" in address else ""
    if not bare or "@" not in bare:
        raise AddressError(f"{address!r} is not an email address")
    return bare.lower()


def parse(raw: str) -> str:
    """A staff-typed or imported address, validated, then normalised."""
    return normalize(normalize_address(raw.strip()))


def default_scope(reason: str) -> str:
    """Transactional mail too for the reasons SUPPRESS_TRANSACTIONAL_FOR lists."""
    widened = reason in settings.SUPPRESS_TRANSACTIONAL_FOR
    return SuppressionScope.ALL if widened else SuppressionScope.MARKETING


def suppress(
    address: str, reason: str, *, scope: str | None = None, by: str = "",
    event: FeedbackEvent | None = None, message: Message | None = None, note: str = "",
) -> Suppression | None:
    """Put `address` on the list; widen an entry that covers marketing only.

    Returns the new or widened entry (and sends `recipient_suppressed` after commit), or None
    when the address was already suppressed as widely.
    """
    address = normalize(address)
    scope = scope or default_scope(reason)
    fields = {"reason": reason, "scope": scope, "created_by": by[:150], "event": event,
              "message": message, "note": note[:500]}
    existing = Suppression.objects.filter(address=address).first()
    if existing is not None:
        if existing.scope == SuppressionScope.ALL or scope != SuppressionScope.ALL:
            return None
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        suppression = existing
    else:
        try:
            with transaction.atomic():
                suppression = Suppression.objects.create(address=address, **fields)
        except IntegrityError:
            return None  # suppressed a moment ago by another worker
    send_after_commit(recipient_suppressed, Suppression, address=address, reason=reason,
                      scope=scope, suppression=suppression)
    return suppression


def remove(address: str) -> bool:
    """Take `address` off the list (and forget its bounce score): mail goes to it again."""
    address = normalize(address)
    BounceScore.objects.filter(address=address).delete()
    return Suppression.objects.filter(address=address).delete()[0] > 0


def score_soft_bounce(address: str, *, today: date | None = None) -> float:
    """Add a soft bounce to the address's score (once a day); return the score."""
    address = normalize(address)
    today = today or date.today()
    stale_before = today - timedelta(days=settings.BOUNCE_SCORE_STALE_DAYS)
    with transaction.atomic():
        score, created = BounceScore.objects.select_for_update().get_or_create(
            address=address, defaults={"score": SOFT_BOUNCE_SCORE, "last_bounce_on": today})
        if created:
            return score.score
        if score.last_bounce_on == today:
            return score.score
        if score.last_bounce_on < stale_before:
            score.score = 0.0
        score.score += SOFT_BOUNCE_SCORE
        score.last_bounce_on = today
        score.save()
        return score.score


def over_threshold(score: float) -> bool:
    return score >= settings.BOUNCE_SCORE_THRESHOLD


def suppressed_among(addresses: Iterable[str]) -> dict[str, tuple[str, str]]:
    """{normalised address: (reason, scope)} for the given addresses that are on the list."""
    wanted = sorted({_normalized_or_none(a) for a in addresses} - {None})
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        found.update((a, (r, s)) for a, r, s in _listed(wanted[start:start + LOOKUP_CHUNK]))
    return found


def _listed(addresses: list[str]) -> list[tuple[str, str, str]]:
    """One lookup. On PostgreSQL the addresses go as one array parameter, for one address
    too: Django's `IN` with tens of thousands of placeholders costs more to build than the
    query to run, and for one send_email the ORM's compiling cost as much as the query."""
    if connection.vendor != "postgresql":
        rows = Suppression.objects.filter(address__in=addresses)
        return list(rows.values_list("address", "reason", "scope"))
    table = connection.ops.quote_name(Suppression._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT address, reason, scope FROM {table} WHERE address = ANY(%s)",
                       [addresses])
        return cursor.fetchall()


def blocking_entry_query(addresses: Iterable[str], kind: str) -> tuple[str, list]:
    """A query (SQL, params) that finds a row when an entry stops mail of `kind` to one of
    the addresses: send_email puts it in its INSERT, so the common case (nobody on the list)
    costs no round trip of its own. PostgreSQL only.

    The scopes are written into the SQL (one text per kind), so only the addresses are
    parameters: one each for a few (the driver adapts a list in Python, about 5 µs a call),
    one array for more.
    """
    wanted = sorted({_normalized_or_none(a) for a in addresses} - {None})
    marketing = kind == Kind.MARKETING
    if 0 < len(wanted) <= ADDRESSES_AS_TEXT:
        return (_blocking_entry_sql(marketing, len(wanted)), wanted)
    return (_blocking_entry_sql(marketing, None), [wanted])


# Up to this many addresses go as one parameter each; each count is its own statement text,
# prepared once per connection.
ADDRESSES_AS_TEXT = 8


@functools.cache
def _blocking_entry_sql(marketing: bool, addresses: int | None) -> str:
    """The query for `addresses` text parameters, or for one array when None."""
    scopes = list(SuppressionScope) if marketing else [SuppressionScope.ALL]
    table = connection.ops.quote_name(Suppression._meta.db_table)
    listed = ", ".join(f"'{scope}'" for scope in scopes)  # the enum's own values
    among = "= ANY(%s)" if addresses is None else f"IN ({', '.join(['%s'] * addresses)})"
    return f"SELECT 1 FROM {table} WHERE address {among} AND scope IN ({listed})"


def blocks(kind: str, scope: str) -> bool:
    """Whether an entry of `scope` stops mail of `kind`: marketing stops at any entry."""
    return kind == Kind.MARKETING or scope == SuppressionScope.ALL


def _normalized_or_none(address: str) -> str | None:
    try:
        return normalize(address)
    except (AddressError, UnicodeError):
        return None

