"""What the endpoints share: key restrictions, filters, cursors and the messages' shape."""

from __future__ import annotations

import base64
import binascii
from email.utils import parseaddr

from django.db.models import Model, Q, QuerySet

from delivery import api
from delivery.api_keys import ApiKey
from delivery.models import Message
from delivery.validation import check_text

from .problems import Problem, ProblemOut

PROBLEMS = {400: ProblemOut, 401: ProblemOut, 403: ProblemOut, 422: ProblemOut, 429: ProblemOut}
PROBLEMS_404 = {**PROBLEMS, 404: ProblemOut}
PROBLEMS_409 = {**PROBLEMS_404, 409: ProblemOut}
# OpenAPI links: what a client (and schemathesis's stateful tests) can do with a new message.
# The status is an int, as ninja keys its responses: a "201" would replace the whole response
# (its description and body schema) in the document instead of adding the links to it.
CREATED_LINKS = {"responses": {201: {"links": {
    "GetMessage": {"operationId": "get_message", "parameters": {"id": "$response.body#/id"}},
    "CancelMessage": {"operationId": "cancel_message",
                      "parameters": {"id": "$response.body#/id"}},
}}}}


def key_in_use(idempotency_key: str | None) -> bool:
    if idempotency_key is not None:
        check_text("idempotency_key", idempotency_key)  # PostgreSQL cannot compare a NUL
    return bool(idempotency_key) and Message.objects.filter(
        idempotency_key=idempotency_key).exists()


def send_batch(items: list[dict]) -> list[Message]:
    return api.send_bulk(items)


def check_allowed(api_key: ApiKey, messages: list[Message]) -> None:
    """A 403 (the caller's transaction then rolls back) for mail outside the key's limits."""
    integrations = api_key.allowed_integration_ids()
    senders = api_key.allowed_sender_addresses()
    for message in messages:
        if integrations and message.integration_id not in integrations:
            raise Problem(403, "integration-not-allowed",
                          "This key may not send through that integration.", field="integration")
        if senders and parseaddr(message.from_email)[1].lower() not in senders:
            raise Problem(403, "sender-not-allowed",
                          f"This key may not send as {message.from_email}.", field="from_email")


def filtered(messages: QuerySet, filters) -> QuerySet:
    conditions = Q()
    for name in ("status", "kind"):
        if getattr(filters, name):
            conditions &= Q(**{name: getattr(filters, name)})
    if filters.integration:
        conditions &= Q(integration_id=filters.integration)
    if filters.recipient:
        text = filters.recipient
        conditions &= Q(to__icontains=text) | Q(cc__icontains=text) | Q(bcc__icontains=text)
    if filters.created_after:
        conditions &= Q(created_at__gte=filters.created_after)
    if filters.created_before:
        conditions &= Q(created_at__lt=filters.created_before)
    if filters.cursor:
        conditions &= Q(pk__lt=decode_cursor(filters.cursor))
    return messages.filter(conditions).order_by("-pk")


def cursor_after(row: Model) -> str:
    """The cursor of the page after `row` in a list ordered by descending id."""
    return base64.urlsafe_b64encode(f"before:{row.pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, pk = text.partition(":")
        if kind == "before" and pk.isascii() and pk.isdigit() and len(pk) < 19:
            return int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Problem(422, "invalid-request", "Not a cursor this API gave out.", field="cursor")


def message_out(message: Message) -> dict:
    path = f"/api/v1/messages/{message.pk}"
    return {
        **{name: getattr(message, name) for name in OUT_FIELDS},
        "id": message.pk,
        "integration": message.integration.name,
        "links": {"self": path, "cancel": f"{path}/cancel"},
    }


OUT_FIELDS = ("status", "kind", "priority", "send_at", "integration_id", "from_email", "to",
              "cc", "bcc", "subject", "idempotency_key", "attempt_count", "last_error",
              "open_count", "click_count", "created_at", "sent_at", "cancelled_at")


def message_detail_out(message: Message) -> dict:
    return {
        **message_out(message),
        "attempts": list(message.attempts.order_by("number", "pk")),
        "events": list(message.events.order_by("created_at", "pk")),
    }
