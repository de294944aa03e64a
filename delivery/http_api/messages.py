"""`/messages`: queue one or a batch, read them with their attempts and events, cancel one."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Header, Path, Query, Router, Schema, Status

from delivery import api
from delivery.api_keys import ApiKey, Scope
from delivery.models import Message

from . import support
from .auth import require
from .problems import Problem
from .schemas import (
    MAX_ID, BatchIn, BatchOut, KindName, MessageDetailOut, MessageIn, MessageOut,
    MessagePageOut, StatusName, UtcDateTime,
)

router = Router(tags=["messages"])
MessageId = Path(..., ge=1, le=MAX_ID, description="The message's id.")


@router.post("/messages", response={201: MessageOut, 200: MessageOut, **support.PROBLEMS},
             summary="Queue one message", openapi_extra=support.CREATED_LINKS)
def create_message(
    request: HttpRequest, payload: MessageIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
):
    """Queue one message, as `send_email` does: 201 with the message, or 422 naming the field.

    With an `Idempotency-Key` already used, answers 200 with the message that holds it.
    """
    api_key = require(request, Scope.SEND)
    arguments = payload.model_dump()
    arguments["idempotency_key"] = idempotency_key or arguments["idempotency_key"]
    with transaction.atomic():
        existed = support.key_in_use(arguments["idempotency_key"])
        message = api.send_email(**arguments)
        support.check_allowed(api_key, [message])
    return Status(200 if existed else 201, support.message_out(message))


@router.post("/messages/batch", response={201: BatchOut, **support.PROBLEMS},
             summary="Queue a batch of messages, all or none")
def create_batch(request: HttpRequest, payload: BatchIn):
    """Queue up to 500 messages as `send_bulk` does: all of them, or none and a 422."""
    api_key = require(request, Scope.SEND)
    items = [item.model_dump() for item in payload.messages]
    for position, item in enumerate(items):
        item["kind"] = item["kind"] if "kind" in payload.messages[position].model_fields_set \
            else payload.kind
    with transaction.atomic():
        messages = support.send_batch(items)
        support.check_allowed(api_key, messages)
    return Status(201, {"items": [support.message_out(m) for m in messages]})


class MessageFilters(Schema):
    status: StatusName | None = None
    kind: KindName | None = None
    recipient: str | None = Field(None, max_length=500, description="Part of an address.")
    integration: int | None = Field(None, ge=1, le=MAX_ID, description="An integration's id.")
    created_after: UtcDateTime | None = None
    created_before: UtcDateTime | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=100)


@router.get("/messages", response={200: MessagePageOut, **support.PROBLEMS},
            summary="List messages, newest first")
def list_messages(request: HttpRequest, filters: Query[MessageFilters]):
    """Messages matching every filter given, newest first; follow `next_cursor` for more."""
    api_key = require(request, Scope.READ)
    found = support.filtered(visible_to(api_key), filters)
    page = list(found[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {"items": [support.message_out(m) for m in page],
            "next_cursor": support.cursor_after(page[-1]) if more else None}


@router.get("/messages/{id}", response={200: MessageDetailOut, **support.PROBLEMS_404},
            summary="One message with its attempts and tracking events")
def get_message(request: HttpRequest, id: int = MessageId):  # noqa: A002 - the path's name
    api_key = require(request, Scope.READ)
    message = _visible_message(api_key, id)
    return support.message_detail_out(message)


@router.post("/messages/{id}/cancel", response={200: MessageOut, **support.PROBLEMS_409},
             summary="Cancel a queued or scheduled message")
def cancel_message(request: HttpRequest, id: int = MessageId):  # noqa: A002
    """Cancel a message no worker has claimed; 409 when it is in flight or finished."""
    api_key = require(request, Scope.SEND)
    message = _visible_message(api_key, id)
    try:
        message = api.cancel(message, by=f"API key {api_key.name}"[:150])
    except api.CannotCancel as exc:
        raise Problem(409, "cannot-cancel", str(exc)) from None
    return support.message_out(message)


def visible_to(api_key: ApiKey):
    """The messages a key may read: those of its integrations, or all when it has none."""
    messages = Message.objects.select_related("integration").defer(
        "text", "html", "attachments", "headers")
    allowed = api_key.allowed_integration_ids()
    return messages.filter(integration_id__in=allowed) if allowed else messages


def _visible_message(api_key: ApiKey, pk: int) -> Message:
    message = visible_to(api_key).filter(pk=pk).first()
    if message is None:
        raise Problem(404, "not-found", f"No message {pk}.")
    return message
