"""`/suppressions`: list, add and remove the addresses this service does not mail."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest
from django.urls import register_converter
from django.urls.converters import StringConverter
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import field_validator

from delivery.api_keys import ApiKey, Scope
from delivery.choices import SuppressionReason, SuppressionScope
from delivery.models import Suppression
from delivery.suppressions import default_scope, remove, suppress
from delivery.validation import InvalidMessage, check_text

from . import support
from .auth import require
from .problems import Problem, ProblemOut
from .schemas import (
    SuppressionIn,
    SuppressionOut,
    SuppressionPageOut,
    SuppressionReasonName,
    SuppressionScopeName,
    suppressible,
)

router = Router(tags=["suppressions"])
PATH = "/api/v1/suppressions/"


class AnyTextConverter(StringConverter):
    """Any text, "/" and line breaks too: an address may hold a "/" (a%2Fb@example.org
    arrives decoded), and a line break must reach the address check (a 422), not miss the
    route (Django's `path` converter stops at one)."""

    regex = r"[\s\S]+"


register_converter(AnyTextConverter, "anytext")
ADDRESS_IN_PATH = "/suppressions/{anytext:address}"
Address = Path(
    ...,
    min_length=1,
    max_length=1000,
    description="The address, URL-encoded; compared as the list stores it.",
)
CREATED_LINKS = {
    "responses": {
        201: {
            "links": {
                "GetSuppression": {
                    "operationId": "get_suppression",
                    "parameters": {"address": "$response.body#/address"},
                },
                "DeleteSuppression": {
                    "operationId": "delete_suppression",
                    "parameters": {"address": "$response.body#/address"},
                },
            }
        }
    }
}


class SuppressionFilters(Schema):
    address: str | None = Field(
        None, max_length=500, description="Part of an address, case-insensitive."
    )
    reason: SuppressionReasonName | None = None
    scope: SuppressionScopeName | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=100)

    @field_validator("address")
    @classmethod
    def _address_is_searchable(cls, value: str | None) -> str | None:
        try:
            return None if value is None else check_text("address", value)
        except InvalidMessage as exc:
            raise ValueError(exc.problem) from None


@router.get(
    "/suppressions",
    response={200: SuppressionPageOut, **support.PROBLEMS},
    summary="List suppressed addresses, newest first",
)
def list_suppressions(request: HttpRequest, filters: Query[SuppressionFilters]):
    """Entries matching every filter given, newest first; follow `next_cursor` for more."""
    require(request, Scope.SUPPRESSIONS)
    entries = Suppression.objects.order_by("-pk")
    if filters.address:
        entries = entries.filter(address__contains=search_form(filters.address))
    for name in ("reason", "scope"):
        if getattr(filters, name):
            entries = entries.filter(**{name: getattr(filters, name)})
    if filters.cursor:
        entries = entries.filter(pk__lt=support.decode_cursor(filters.cursor))
    page = list(entries[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {
        "items": [suppression_out(entry) for entry in page],
        "next_cursor": support.cursor_after(page[-1]) if more else None,
    }


@router.post(
    "/suppressions",
    response={201: SuppressionOut, 200: SuppressionOut, **support.PROBLEMS, 409: ProblemOut},
    summary="Suppress an address",
    openapi_extra=CREATED_LINKS,
)
def create_suppression(request: HttpRequest, payload: SuppressionIn):
    """Put an address on the list: 201 with the new entry.

    Idempotent: an address already suppressed answers 200 with its entry as it stands (its
    reason and note kept), except that a marketing-only entry asked for `all` is widened and
    takes this request's reason and note.
    """
    api_key = require(request, Scope.SUPPRESSIONS)
    entry, created = _add(api_key, payload)
    return Status(201 if created else 200, suppression_out(entry))


@router.get(
    ADDRESS_IN_PATH,
    response={200: SuppressionOut, **support.PROBLEMS_404},
    summary="One suppressed address",
)
def get_suppression(request: HttpRequest, address: str = Address):
    require(request, Scope.SUPPRESSIONS)
    return suppression_out(_entry(address))


@router.delete(
    ADDRESS_IN_PATH,
    response={204: None, **support.PROBLEMS_404},
    summary="Stop suppressing an address",
)
def delete_suppression(request: HttpRequest, address: str = Address):
    """Take the address off the list (and forget its soft-bounce score): mail goes to it
    again. 404 when it is not on the list."""
    require(request, Scope.SUPPRESSIONS)
    address = _parsed(address)
    if not remove(address):
        raise Problem(404, "not-found", f"{address} is not suppressed.")
    return Status(204, None)


def _add(api_key: ApiKey, payload: SuppressionIn) -> tuple[Suppression, bool]:
    scope = payload.scope or (
        SuppressionScope.ALL
        if payload.reason == SuppressionReason.MANUAL
        else default_scope(payload.reason)
    )
    by = f"API key {api_key.name}"[:150]
    # Twice at most: an entry added by another request can be removed again before we read it.
    for _ in range(2):
        existed = Suppression.objects.filter(address=payload.address).exists()
        added = suppress(payload.address, payload.reason, scope=scope, by=by, note=payload.note)
        entry = added or Suppression.objects.filter(address=payload.address).first()
        if entry is not None:
            return entry, added is not None and not existed
    raise Problem(409, "conflict", "The address was removed while being added; try again.")


def _entry(address: str) -> Suppression:
    address = _parsed(address)
    entry = Suppression.objects.filter(address=address).first()
    if entry is None:
        raise Problem(404, "not-found", f"{address} is not suppressed.")
    return entry


def _parsed(address: str) -> str:
    try:
        return suppressible(address)
    except ValueError as exc:
        raise Problem(422, "invalid-request", f"address: {exc}", field="address") from None


def search_form(text: str) -> str:
    """A search term in the stored form: lower case, an internationalised domain's A-label."""
    local, at, domain = text.strip().lower().rpartition("@")
    if at and domain and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # not a whole domain: searched as typed
    return f"{local}{at}{domain}" if at else domain


def suppression_out(entry: Suppression) -> dict:
    return {
        **{
            name: getattr(entry, name)
            for name in (
                "address",
                "reason",
                "scope",
                "note",
                "created_by",
                "created_at",
                "message_id",
            )
        },
        "links": {"self": PATH + quote(entry.address, safe="@")},
    }
